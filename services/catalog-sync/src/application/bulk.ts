import { randomUUID } from 'node:crypto';
import { ForbiddenError, NotFoundError, ValidationError, type OutgoingEvent, type Principal } from '@omnimall/service-kit';
import type { MasterProduct } from '../domain/catalog';
import { barringRestriction } from '../domain/restrictions';
import { project, ProjectionError } from '../domain/rules';
import type { AssignmentDoc, ChannelDoc, EvidenceDoc, LocalItemDoc, RefusalDoc } from '../store/models';
import { refusalEvent } from '../events/outgoing';
import { applyProjection } from './items';
import { channelView, propagateProduct } from './propagation';
import type { CatalogContext } from './context';

/**
 * Bulk sync: many products into several channels at once (a seller onboarding a catalogue).
 *
 * Products that have no assignment yet take the fast path: their assignments, local items and
 * journal documents are written with insertMany, where each document is atomic on its own and no
 * read-modify-write is at stake (the items are new; a concurrent writer that got there first makes
 * our insert fail on its _id, and that product falls back to the locked path). Products already
 * assigned somewhere go through the normal locked assign-and-propagate path.
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

export async function bulkAssign(ctx: CatalogContext, p: Principal, codes: string[], productIds: string[]): Promise<BulkResult> {
  const { m } = ctx;
  const unique = [...new Set(productIds)];
  if (unique.length !== productIds.length)
    throw new ValidationError('duplicate_product', 'a product id appears twice', 'send each product once');
  const channels = await ctx.channels();
  const targets: ChannelDoc[] = codes.map((c) => {
    const ch = channels.get(c);
    if (!ch)
      throw new NotFoundError(
        'channel_unknown',
        `channel ${c} is not known to the catalogue`,
        'the channel registry announces channels on channels.channel-changed',
      );
    return ch;
  });
  const products = (await m.Product.find({ _id: { $in: unique } }).lean()) as MasterProduct[];
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

  const existing = new Set(((await m.Assignment.find({ _id: { $in: unique } }, { _id: 1 }).lean()) as { _id: string }[]).map((a) => a._id));
  const result: BulkResult = { products: products.length, channels: codes, listed: 0, refused: [], failed: [], lockedPath: 0 };
  const fallback = new Set(products.filter((x) => existing.has(x._id)).map((x) => x._id));
  const fresh = products.filter((x) => !existing.has(x._id));

  await ctx.withIntent({ kind: 'products', productId: null, itemIds: [], productIds: fresh.map((x) => x._id) }, async () => {
    const [rulesByChannel, rates] = await Promise.all([ctx.rulesOf(codes), ctx.rates()]);
    const now = new Date();
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < fresh.length; i += BULK_CHUNK) {
      const chunk = fresh.slice(i, i + BULK_CHUNK);
      const assignments: AssignmentDoc[] = [];
      const items: LocalItemDoc[] = [];
      const events: OutgoingEvent[] = [];
      const refusals: RefusalDoc[] = [];
      const evidence: EvidenceDoc[] = [];
      for (const product of chunk) {
        const a: AssignmentDoc = { _id: product._id, sellerId: product.sellerId, channels: {}, items: [] };
        for (const ch of targets) {
          const r = barringRestriction(product.restrictions, { code: ch._id, region: ch.region, country: ch.country });
          if (r) {
            refusals.push({
              _id: randomUUID(),
              productId: product._id,
              channel: ch._id,
              action: 'assignment',
              restriction: r,
              actor: p.sub,
              at: now,
            });
            result.refused.push({ productId: product._id, channel: ch._id, restriction: r.id });
            continue;
          }
          a.channels[ch._id] = { skus: null, prices: [], since: now };
          for (const variant of product.variants) {
            const rules = rulesByChannel.get(ch._id) ?? [];
            try {
              const proj = project({ product, variant, channel: channelView(ch), rules, rates, prices: { own: {} }, at: now.getTime() });
              const change = applyProjection(
                null,
                { channel: ch._id, sku: variant.sku, product, primaryCurrency: ch.currencies[0] ?? null, inheritedFrom: null },
                proj,
                rules,
                now,
              );
              items.push(change.item);
              if (change.evidence) evidence.push(change.evidence);
              events.push(...change.events);
              a.items.push(change.item._id);
            } catch (err) {
              if (!(err instanceof ProjectionError)) throw err;
              result.failed.push({ productId: product._id, channel: ch._id, sku: variant.sku, reason: `${err.code}: ${err.message}` });
            }
          }
        }
        assignments.push(a);
      }
      const clashed = await insertAll(m.Assignment.collection, assignments);
      clashed.forEach((id) => fallback.add(id));
      const kept = items.filter((it) => !clashed.has(it.productId));
      const keptIds = new Set(kept.map((it) => it._id));
      await insertAll(
        m.Evidence.collection,
        evidence.filter((e) => keptIds.has(e.itemId)),
      );
      const itemClash = await insertAll(m.LocalItem.collection, kept);
      // An item someone else created meanwhile: its whole product takes the locked path.
      for (const it of kept) if (itemClash.has(it._id)) fallback.add(it.productId);
      result.listed += kept.filter((it) => !itemClash.has(it._id)).length;
      if (refusals.length) {
        await m.Refusal.collection.insertMany(refusals as never[]);
        events.push(...refusals.map((r) => refusalEvent(r)));
      }
      const keptEvents = events.filter((e) => !fallback.has(productOfEvent(e)));
      publishes.push(ctx.emit('bulk-sync', keptEvents, true));
    }
    await Promise.all(publishes);
  });

  for (const productId of fallback) {
    result.lockedPath++;
    await ctx.productLock(productId, () =>
      ctx.withIntent({ kind: 'product', productId, itemIds: [] }, async () => {
        const a = (await m.Assignment.findById(productId).lean()) as AssignmentDoc | null;
        const set: Record<string, unknown> = {};
        for (const c of codes) if (!a?.channels[c]) set[`channels.${c}`] = { skus: null, prices: [], since: new Date() };
        if (!a) set.items = [];
        await m.Assignment.findOneAndUpdate({ _id: productId }, { $set: { ...set, sellerId: p.sub } }, { upsert: true });
        const report = await propagateProduct(ctx, productId, { actor: p.sub, force: true });
        result.listed += report.items.filter((r) => r.outcome === 'listed').length;
      }),
    );
  }
  return result;
}

function productOfEvent(e: OutgoingEvent): string {
  return (e.value as { productId?: string }).productId ?? '';
}

/** insertMany, unordered; returns the _ids that already existed. */
async function insertAll(
  collection: { insertMany: (docs: never[], opts: { ordered: boolean }) => Promise<unknown> },
  docs: { _id: string }[],
): Promise<Set<string>> {
  const clashed = new Set<string>();
  if (!docs.length) return clashed;
  try {
    await collection.insertMany(docs as never[], { ordered: false });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: { code?: number; index?: number; err?: { index?: number; code?: number } }[] }).writeErrors;
    if (!writeErrors) throw err;
    for (const w of writeErrors) {
      const code = w.code ?? w.err?.code;
      const index = w.index ?? w.err?.index;
      if (code !== 11000 || index === undefined) throw err;
      clashed.add(docs[index]._id);
    }
  }
  return clashed;
}
