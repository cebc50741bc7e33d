import { randomUUID } from 'node:crypto';
import { ForbiddenError, NotFoundError, ValidationError, type OutgoingEvent, type Principal } from '@omnimall/service-kit';
import type { MasterProduct } from '../domain/catalog';
import type { Assignment, Evidence, KnownChannel, LocalItem, Refusal } from '../domain/records';
import { barringRestriction } from '../domain/restrictions';
import { project, ProjectionError } from '../domain/rules';
import { refusalEvent } from '../events/out';
import { applyProjection } from './items';
import { channelView, propagateProduct } from './propagation';
import type { Catalog } from './catalog';
import { claimSkus } from './claims';
import { unknownChannel } from './lookups';

/**
 * Bulk sync: many products into several channels at once (a seller onboarding a catalogue).
 *
 * Products that have no assignment yet take the fast path: their assignments, local items, evidence
 * and refusals are written with insertMany (unordered), where each document is atomic on its own and
 * no read-modify-write is at stake (the items are new; a concurrent writer that got there first
 * makes our insert fail on its _id, and that product falls back to the locked path). Products
 * already assigned somewhere are found the same way, by their assignment's insert failing, and go
 * through the normal locked assign-and-propagate path. Chunks are pipelined: the next one is
 * projected while the database writes the previous one.
 */
export const BULK_CHUNK = 500;

export interface BulkResult {
  products: number;
  channels: string[];
  listed: number;
  refused: { productId: string; channel: string; restriction: string }[];
  failed: { productId: string; channel: string; sku: string; reason: string }[];
  lockedPath: number;
}

export async function bulkAssign(c: Catalog, p: Principal, codes: string[], productIds: string[]): Promise<BulkResult> {
  const unique = [...new Set(productIds)];
  if (unique.length !== productIds.length)
    throw new ValidationError('duplicate_product', 'a product id appears twice', 'send each product once');
  const channels = await c.channels.all();
  const targets: KnownChannel[] = codes.map((code) => {
    const ch = channels.get(code);
    if (!ch) throw unknownChannel(code);
    return ch;
  });
  const products: MasterProduct[] = await c.products.byIds(unique);
  if (products.length !== unique.length) {
    const found = new Set(products.map((x) => x._id));
    throw new NotFoundError(
      'product_not_found',
      `unknown products: ${unique
        .filter((id) => !found.has(id))
        .slice(0, 10)
        .join(', ')}`,
      'create them with POST /products first',
    );
  }
  const foreign = products.find((x) => x.sellerId !== p.sub && !p.roles.includes('admin'));
  if (foreign)
    throw new ForbiddenError(
      'not_product_owner',
      `product ${foreign._id} belongs to another seller`,
      'sellers assign only their own products',
    );

  // Products assigned somewhere already are found by their assignment's insert failing on its _id
  // (a scan of the assignments to find them first would read the whole collection).
  const result: BulkResult = { products: products.length, channels: codes, listed: 0, refused: [], failed: [], lockedPath: 0 };
  const fallback = new Set<string>();

  // Variants whose SKU another product owns are listed nowhere (claimed here if their product predates claims).
  const { refused: foreignSkus } = await claimSkus(
    c,
    products.flatMap((x) => x.variants.map((v) => ({ productId: x._id, sku: v.sku }))),
  );
  const notOwned = new Map(foreignSkus.map((f) => [`${f.productId}\u0000${f.sku}`, f.owner]));
  for (const f of foreignSkus)
    for (const code of codes)
      result.failed.push({
        productId: f.productId,
        channel: code,
        sku: f.sku,
        reason: `sku_owned_by_other_product: owned by product ${f.owner}`,
      });

  await c.changes.run({ kind: 'products', productId: null, itemIds: [], productIds: products.map((x) => x._id) }, async () => {
    const [rulesByChannel, rates] = await Promise.all([c.rules.ofChannels(codes), c.rates.table()]);
    const now = new Date();
    const publishes: Promise<void>[] = [];
    const views = new Map(targets.map((ch) => [ch._id, channelView(ch)]));

    /** The documents and events of one chunk (pure). */
    const prepare = (chunk: MasterProduct[]): ChunkDocs => {
      const docs: ChunkDocs = { assignments: [], items: [], events: [], refusals: [], evidence: [], failed: [] };
      for (const product of chunk) {
        const a: Assignment = { _id: product._id, sellerId: product.sellerId, channels: {}, items: [] };
        for (const ch of targets) {
          const r = barringRestriction(product.restrictions, { code: ch._id, region: ch.region, country: ch.country });
          if (r) {
            docs.refusals.push({
              _id: randomUUID(),
              productId: product._id,
              channel: ch._id,
              action: 'assignment',
              restriction: r,
              actor: p.sub,
              at: now,
            });
            continue;
          }
          a.channels[ch._id] = { skus: null, prices: [], since: now };
          const rules = rulesByChannel.get(ch._id) ?? [];
          for (const variant of product.variants) {
            if (notOwned.has(`${product._id}\u0000${variant.sku}`)) continue;
            try {
              const proj = project({ product, variant, channel: views.get(ch._id)!, rules, rates, prices: { own: {} }, at: now.getTime() });
              const change = applyProjection(
                null,
                { channel: ch._id, sku: variant.sku, product, primaryCurrency: ch.currencies[0] ?? null, inheritedFrom: null },
                proj,
                rules,
                now,
              );
              docs.items.push(change.item);
              if (change.evidence) docs.evidence.push(change.evidence);
              docs.events.push(...change.events);
              a.items.push(change.item._id);
            } catch (err) {
              if (!(err instanceof ProjectionError)) throw err;
              docs.failed.push({ productId: product._id, channel: ch._id, sku: variant.sku, reason: `${err.code}: ${err.message}` });
            }
          }
        }
        docs.assignments.push(a);
      }
      return docs;
    };

    /** Writes one chunk (each insertMany unordered, each document atomic) and starts publishing its events. */
    const write = async (docs: ChunkDocs): Promise<void> => {
      const clashed = await c.assignments.insertNew(docs.assignments);
      clashed.forEach((id) => fallback.add(id));
      const kept = docs.items.filter((it) => !clashed.has(it.productId));
      const keptIds = new Set(kept.map((it) => it._id));
      await c.evidence.insertNew(docs.evidence.filter((e) => keptIds.has(e.itemId)));
      const itemClash = await c.items.insertNew(kept);
      // An item someone else created meanwhile: its whole product takes the locked path.
      for (const it of kept) if (itemClash.has(it._id)) fallback.add(it.productId);
      result.listed += kept.filter((it) => !itemClash.has(it._id)).length;
      // A product assigned already is left to the locked path whole.
      result.failed.push(...docs.failed.filter((f) => !clashed.has(f.productId)));
      const refusals = docs.refusals.filter((r) => !clashed.has(r.productId));
      result.refused.push(...refusals.map((r) => ({ productId: r.productId, channel: r.channel, restriction: r.restriction.id })));
      if (refusals.length) {
        await c.refusals.record(refusals);
        docs.events.push(...refusals.map((r) => refusalEvent(r)));
      }
      const keptEvents = docs.events.filter((e) => !fallback.has(productOfEvent(e)));
      // Published directly, not through journal documents: the request's intent (written before any
      // change, removed only after every publish below is acknowledged) already covers a crash, as
      // recovery re-propagates its products and re-emits their items. A journal would write every
      // event into the database once more, for nothing. Bulk work has a lane of its own: consumers
      // acknowledge these on sync.applied.bulk, so everyday events' acks never queue behind them.
      publishes.push(c.publisher.publish(keptEvents, { lane: 'bulk' }));
    };

    // Pipelined: the next chunk is prepared (CPU) while the database writes the previous one.
    let writing: Promise<void> = Promise.resolve();
    for (let i = 0; i < products.length; i += BULK_CHUNK) {
      const docs = prepare(products.slice(i, i + BULK_CHUNK));
      await writing;
      writing = write(docs);
    }
    await writing;
    await Promise.all(publishes);
  });

  for (const productId of fallback) {
    result.lockedPath++;
    await c.locks.product(productId, () =>
      c.changes.run({ kind: 'product', productId, itemIds: [] }, async () => {
        await c.assignments.addChannels(productId, p.sub, codes, new Date());
        const report = await propagateProduct(c, productId, { actor: p.sub, force: true });
        result.listed += report.items.filter((r) => r.outcome === 'listed').length;
      }),
    );
  }
  return result;
}

interface ChunkDocs {
  assignments: Assignment[];
  items: LocalItem[];
  events: OutgoingEvent[];
  refusals: Refusal[];
  evidence: Evidence[];
  failed: BulkResult['failed'];
}

function productOfEvent(e: OutgoingEvent): string {
  return (e.value as { productId?: string }).productId ?? '';
}
