import { ConflictError, type Logger } from '@omnimall/service-kit';
import type { SkuClaim } from '../domain/records';
import type { Catalog } from './catalog';

/**
 * SKU ownership across sellers. A local item is `<channel>:<sku>`, so whoever may write a SKU's
 * items decides what a channel shows under that SKU: without an owner, seller B could declare
 * seller A's SKU and take over A's listings. Every SKU has at most one owner product, a claim
 * document whose `_id` is the SKU (an insert: of two products racing for one SKU exactly one wins).
 *
 * - A product claims its SKUs when it declares them (creation, and any change that adds SKUs),
 *   before it is written; a SKU another product holds answers 409 `sku_owned_by_other_product`
 *   naming that product (never its seller). Claims this request inserted are removed when it fails.
 * - A claim is released only when its owning product drops the SKU (after that change is written).
 * - Assignments, shelf prices and every propagation check the claims: a SKU the product does not own
 *   is neither assigned, priced nor written into a local item.
 * - Products stored before claims existed own their SKUs: the backfill at start claims them, oldest
 *   product first (two old products sharing a SKU: the older keeps it). Products written without
 *   claims since (seeding) claim their SKUs on first use, unless another product holds them by then.
 * - A claim whose owner product is gone or no longer declares the SKU (a change interrupted between
 *   its claim and its write, or its write and the release) is stale after STALE_CLAIM_MS and is taken
 *   over with a compare-and-set on its owner.
 */
export const STALE_CLAIM_MS = 60_000;

/** A product wanting a SKU. */
export interface SkuWant {
  productId: string;
  sku: string;
}

export interface ClaimOutcome {
  /** Wants another product holds (`owner`). */
  refused: (SkuWant & { owner: string })[];
  /** Claims this call wrote (to release when the change they were for fails). */
  inserted: SkuWant[];
}

/** Rounds of read-then-insert before a SKU whose claim keeps appearing and vanishing is given up on. */
const MAX_ROUNDS = 4;

/** Claims the SKUs for the products wanting them; answers which are another product's. */
export async function claimSkus(
  c: Pick<Catalog, 'claims' | 'products'>,
  wants: readonly SkuWant[],
  now = new Date(),
): Promise<ClaimOutcome> {
  // One want per SKU: the first product asking for it claims it; another product of the same call
  // asking for the same SKU is refused against whoever holds it afterwards.
  const bySku = new Map<string, string>();
  const others: SkuWant[] = [];
  for (const w of wants) {
    const first = bySku.get(w.sku);
    if (first === undefined) bySku.set(w.sku, w.productId);
    else if (first !== w.productId) others.push(w);
  }
  const held = new Map<string, SkuClaim>();
  const inserted: SkuWant[] = [];
  let todo = [...bySku.keys()];
  for (let round = 0; todo.length; round++) {
    if (round === MAX_ROUNDS)
      throw new ConflictError('sku_claim_contended', `SKU ${todo[0]} is being claimed and released concurrently`, 'send the request again');
    for (const [sku, claim] of await c.claims.of(todo)) held.set(sku, claim);
    const missing = todo.filter((s) => !held.has(s));
    if (!missing.length) break;
    const clashed = await c.claims.insertNew(missing.map((sku) => ({ _id: sku, productId: bySku.get(sku)!, claimedAt: now })));
    for (const sku of missing) {
      if (clashed.has(sku)) continue;
      held.set(sku, { _id: sku, productId: bySku.get(sku)!, claimedAt: now });
      inserted.push({ sku, productId: bySku.get(sku)! });
    }
    todo = [...clashed]; // another product claimed them between our read and our insert: read whose they are
  }
  const foreign = [...bySku]
    .filter(([sku, productId]) => held.get(sku)!.productId !== productId)
    .map(([sku, productId]) => ({ sku, productId, owner: held.get(sku)!.productId }));
  const refused = await takeOverStale(c, foreign, held, inserted, now);
  for (const w of others) {
    const owner = held.get(w.sku)!.productId;
    if (owner !== w.productId) refused.push({ ...w, owner });
  }
  return { refused, inserted };
}

/** Takes over the stale claims among `foreign` (see STALE_CLAIM_MS); answers the rest. */
async function takeOverStale(
  c: Pick<Catalog, 'claims' | 'products'>,
  foreign: (SkuWant & { owner: string })[],
  held: Map<string, SkuClaim>,
  inserted: SkuWant[],
  now: Date,
): Promise<(SkuWant & { owner: string })[]> {
  const old = foreign.filter((f) => now.getTime() - new Date(held.get(f.sku)!.claimedAt).getTime() >= STALE_CLAIM_MS);
  if (!old.length) return foreign;
  const owners = new Map((await c.products.byIds([...new Set(old.map((f) => f.owner))])).map((p) => [p._id, p]));
  const kept: (SkuWant & { owner: string })[] = [];
  for (const f of foreign) {
    const owner = owners.get(f.owner);
    const stale = old.includes(f) && !owner?.variants.some((v) => v.sku === f.sku);
    if (stale && (await c.claims.transfer(f.sku, f.owner, f.productId, now))) {
      held.set(f.sku, { _id: f.sku, productId: f.productId, claimedAt: now });
      inserted.push({ sku: f.sku, productId: f.productId });
    } else kept.push(f);
  }
  return kept;
}

/** The 409 of a SKU another product owns: names that product (not its seller) and says what to do. */
export function skuOwnedError(r: SkuWant & { owner: string }): ConflictError {
  return new ConflictError(
    'sku_owned_by_other_product',
    `SKU ${r.sku} belongs to product ${r.owner}`,
    'a SKU belongs to the product that declared it first until that product drops it; give this variant a SKU of your own',
    { sku: r.sku, ownerProductId: r.owner },
  );
}

/** Claims the product's SKUs (lazily, for products stored without claims) and refuses with 409 when another product owns one. */
export async function assertOwnsSkus(c: Pick<Catalog, 'claims' | 'products'>, productId: string, skus: readonly string[]): Promise<void> {
  const { refused } = await claimSkus(
    c,
    skus.map((sku) => ({ productId, sku })),
  );
  if (refused.length) throw skuOwnedError(refused[0]);
}

/** Releases claims written for a change that then failed (best effort: a leftover claim turns stale). */
export async function releaseInserted(c: Pick<Catalog, 'claims'>, inserted: readonly SkuWant[]): Promise<void> {
  const byProduct = new Map<string, string[]>();
  for (const w of inserted) byProduct.set(w.productId, [...(byProduct.get(w.productId) ?? []), w.sku]);
  await Promise.all([...byProduct].map(([productId, skus]) => c.claims.release(productId, skus))).catch(() => undefined);
}

/**
 * The one-time claim of the products stored before claims existed (at start, before the API
 * serves): oldest product first, so of two old products sharing a SKU the older keeps it. Runs
 * until it completed once on the database (a marker); concurrent instances write the same claims.
 */
export async function backfillClaims(c: Pick<Catalog, 'claims' | 'products'>, logger: Logger): Promise<number> {
  if (await c.claims.backfilled()) return 0;
  const started = new Date();
  let claimed = 0;
  let clashes = 0;
  let batch = new Map<string, string>();
  const flush = async (): Promise<void> => {
    const docs = [...batch].map(([sku, productId]) => ({ _id: sku, productId, claimedAt: started }));
    batch = new Map();
    const clashed = await c.claims.insertNew(docs);
    claimed += docs.length - clashed.size;
    clashes += clashed.size;
  };
  for await (const { productId, skus } of c.products.declaredSkus()) {
    for (const sku of skus) if (!batch.has(sku)) batch.set(sku, productId);
    if (batch.size >= 1000) await flush();
  }
  await flush();
  await c.claims.markBackfilled(new Date());
  logger.info('sku claims backfilled', { claimed, alreadyClaimed: clashes });
  return claimed;
}
