import { randomUUID } from 'node:crypto';
import type { OutgoingEvent } from '@omnimall/service-kit';
import { isDuplicateKeyError } from '@omnimall/service-kit';
import type { MasterProduct, Variant } from '../domain/catalog';
import { itemIdOf } from '../domain/catalog';
import { barringRestriction, type Restriction } from '../domain/restrictions';
import { project, ProjectionError, type ChannelView, type PriceSources, type SyncRule } from '../domain/rules';
import type { RateEntry } from '../domain/rates';
import type { AssignmentDoc, ChannelDoc, EvidenceDoc, LocalItemDoc, RefusalDoc } from '../store/models';
import { localItemEvent, refusalEvent } from '../events/outgoing';
import { applyProjection, withdraw, type ItemChange } from './items';
import { mapLimit, type CatalogContext } from './context';

/** Channels that take no listings: their items are withdrawn. */
const CLOSED_STATES = new Set(['offboarding', 'retired']);

export interface ItemReport {
  channel: string;
  sku: string;
  outcome: ItemChange['outcome'] | 'refused' | 'failed';
  detail?: string;
  restriction?: Restriction;
}

export interface PropagationReport {
  productId: string;
  masterVersion: number;
  items: ItemReport[];
}

/** One (channel, variant) the product should be listed in, and where its prices come from. */
export interface Target {
  channel: ChannelDoc;
  variant: Variant;
  prices: PriceSources;
  inheritedFrom: string | null;
}

export function channelView(c: ChannelDoc): ChannelView {
  return {
    code: c._id,
    region: c.region,
    country: c.country,
    currencies: c.currencies,
    languages: c.languages,
    masterChannel: c.masterChannel ?? null,
  };
}

function ownPrices(assignment: AssignmentDoc, channel: string, sku: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of assignment.channels[channel]?.prices ?? []) if (p.sku === sku) out[p.currency] = p.amountMinor;
  return out;
}

/**
 * Where a product should be listed: every channel it is assigned to (the assigned SKUs, or all), and
 * every dependent channel (regional, affiliate) of an assigned master channel that has no assignment
 * of its own; a dependent channel without its own prices derives them from its master channel's.
 */
export function targetsOf(product: MasterProduct, assignment: AssignmentDoc, channels: Map<string, ChannelDoc>): Target[] {
  const out: Target[] = [];
  const skusOf = (code: string): Variant[] => {
    const skus = assignment.channels[code]?.skus;
    return product.variants.filter((v) => skus === null || skus === undefined || skus.includes(v.sku));
  };
  for (const code of Object.keys(assignment.channels)) {
    const channel = channels.get(code);
    if (!channel) continue;
    for (const variant of skusOf(code))
      out.push({ channel, variant, prices: { own: ownPrices(assignment, code, variant.sku) }, inheritedFrom: null });
    for (const dep of channels.values()) {
      if (dep.masterChannel !== code || assignment.channels[dep._id]) continue;
      for (const variant of skusOf(code)) {
        out.push({
          channel: dep,
          variant,
          prices: { own: {}, master: { channel: channelView(channel), prices: ownPrices(assignment, code, variant.sku) } },
          inheritedFrom: code,
        });
      }
    }
  }
  return out;
}

export interface PropagateOptions {
  actor?: string | null;
  correlationId?: string;
  /** Re-emit the current state of every item even when nothing changed (recovery). */
  force?: boolean;
  /** Time the rates are taken at (default now). */
  at?: number;
}

/**
 * Propagates the current master product into every local item it should have, and withdraws the
 * items it should no longer have. Callers hold the product lock, which also covers the curation of
 * the product's items, so items are read and written without locks of their own (two round trips
 * each, several in flight); the evidence of all items is stored in one insertMany and all events
 * leave in one journal write.
 */
export async function propagateProduct(ctx: CatalogContext, productId: string, opts: PropagateOptions = {}): Promise<PropagationReport> {
  const { m } = ctx;
  const [product, assignment] = await Promise.all([
    m.Product.findById(productId).lean() as Promise<MasterProduct | null>,
    m.Assignment.findById(productId).lean() as Promise<AssignmentDoc | null>,
  ]);
  if (!product) return { productId, masterVersion: 0, items: [] };
  if (!assignment) return { productId, masterVersion: product.version, items: [] };
  const channels = await ctx.channels();
  const targets = targetsOf(product, assignment, channels);
  const codes = [...new Set(targets.map((t) => t.channel._id))];
  const [rules, rates] = await Promise.all([ctx.rulesOf(codes), ctx.rates()]);
  const now = new Date();
  const at = opts.at ?? now.getTime();
  const wanted = new Set(targets.map((t) => itemIdOf(t.channel._id, t.variant.sku)));
  const stale = assignment.items.filter((id) => !wanted.has(id));
  const events: OutgoingEvent[] = [];
  const writes: (() => Promise<void>)[] = [];
  const evidence: EvidenceDoc[] = [];

  // Phase 1: read every item and decide (parallel reads). Phase 2: store the evidence in one
  // insertMany. Phase 3: write the changed items. Phase 4: one journal write with every event.
  const reports = await mapLimit([...targets, ...stale], 6, async (t): Promise<ItemReport> => {
    if (typeof t === 'string') {
      const sep = t.indexOf(':');
      const channel = t.slice(0, sep);
      const sku = t.slice(sep + 1);
      const outcome = await (async () => {
        const cur = (await m.LocalItem.findById(t).lean()) as LocalItemDoc | null;
        const change = cur ? withdraw(cur, 'unassigned', now, opts.correlationId) : null;
        if (change) writes.push(() => writeItem(ctx, cur, change));
        else if (cur && opts.force) events.push(...reemit(cur, opts.correlationId));
        if (change) events.push(...change.events);
        return change ? 'withdrawn' : 'unchanged';
      })();
      return { channel, sku, outcome };
    }
    return applyTarget(ctx, product, t, rules.get(t.channel._id) ?? [], rates, { now, at, events, writes, evidence, opts });
  });
  if (evidence.length) await m.Evidence.collection.insertMany(evidence as never[]);
  await mapLimit(writes, 6, (w) => w());

  const newIds = targets.map((t) => itemIdOf(t.channel._id, t.variant.sku)).filter((id) => !assignment.items.includes(id));
  if (newIds.length) {
    await m.Assignment.findOneAndUpdate({ _id: productId }, { $set: { items: [...assignment.items, ...newIds] } });
  }
  await ctx.emit('propagation', events);
  return { productId, masterVersion: product.version, items: reports };
}

/** Full-state event of an item as it is (recovery after a crash between the item write and the journal). */
function reemit(cur: LocalItemDoc, correlationId?: string): OutgoingEvent[] {
  return [localItemEvent(cur, correlationId)];
}

interface ApplyEnv {
  now: Date;
  at: number;
  events: OutgoingEvent[];
  writes: (() => Promise<void>)[];
  evidence: EvidenceDoc[];
  opts: PropagateOptions;
}

async function applyTarget(
  ctx: CatalogContext,
  product: MasterProduct,
  t: Target,
  rules: SyncRule[],
  rates: RateEntry[],
  env: ApplyEnv,
): Promise<ItemReport> {
  const { m } = ctx;
  const channel = t.channel._id;
  const sku = t.variant.sku;
  const id = itemIdOf(channel, sku);
  const restriction = barringRestriction(product.restrictions, { code: channel, region: t.channel.region, country: t.channel.country });
  return (async () => {
    const cur = (await m.LocalItem.findById(id).lean()) as LocalItemDoc | null;
    if (restriction) {
      // Refused: never listed there. A listed item is withdrawn; the refusal is recorded once per state change.
      const change = cur ? withdraw(cur, `restricted:${restriction.id}`, env.now, env.opts.correlationId) : null;
      if (change) {
        env.writes.push(() => writeItem(ctx, cur, change));
        env.events.push(...change.events);
      }
      if (change || !cur)
        env.events.push(...(await recordRefusal(ctx, product._id, channel, 'propagation', restriction, env.opts.actor ?? null)));
      return {
        channel,
        sku,
        outcome: 'refused',
        restriction,
        detail: `barred by ${restriction.kind} ${restriction.value}: ${restriction.reason}`,
      };
    }
    if (CLOSED_STATES.has(t.channel.state)) {
      const change = cur ? withdraw(cur, `channel_${t.channel.state}`, env.now, env.opts.correlationId) : null;
      if (change) {
        env.writes.push(() => writeItem(ctx, cur, change));
        env.events.push(...change.events);
      }
      return { channel, sku, outcome: change ? 'withdrawn' : 'unchanged', detail: `channel is ${t.channel.state}` };
    }
    let proj;
    try {
      proj = project({ product, variant: t.variant, channel: channelView(t.channel), rules, rates, prices: t.prices, at: env.at });
    } catch (err) {
      if (err instanceof ProjectionError) return { channel, sku, outcome: 'failed', detail: `${err.code}: ${err.message}` };
      throw err;
    }
    const change = applyProjection(
      cur,
      { channel, sku, product, primaryCurrency: t.channel.currencies[0] ?? null, inheritedFrom: t.inheritedFrom },
      proj,
      rules,
      env.now,
      env.opts.correlationId,
    );
    if (change.changed) env.writes.push(() => writeItem(ctx, cur, change));
    if (change.evidence) env.evidence.push(change.evidence);
    else if (env.opts.force && cur) env.events.push(...reemit(cur, env.opts.correlationId));
    env.events.push(...change.events);
    return { channel, sku, outcome: change.outcome };
  })();
}

/** Writes an item change (caller holds the product lock) with the conflicts and diffs it opens. */
export async function writeItem(ctx: CatalogContext, cur: LocalItemDoc | null, change: ItemChange): Promise<void> {
  const { m } = ctx;
  const { _id, ...rest } = change.item;
  if (!cur) {
    try {
      await m.LocalItem.collection.insertOne(change.item as never);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      await m.LocalItem.findOneAndUpdate({ _id }, { $set: rest });
    }
  } else {
    await m.LocalItem.findOneAndUpdate({ _id }, { $set: rest });
  }
  await Promise.all([
    ...change.conflicts.map((c) => m.Conflict.findOneAndUpdate({ _id: c._id }, { $set: c }, { upsert: true })),
    ...change.diffs.map((d) => m.StagedDiff.findOneAndUpdate({ _id: d._id }, { $set: d }, { upsert: true })),
  ]);
}

/** Records a refusal (restriction) and returns its audit event for the caller's journal. */
export async function recordRefusal(
  ctx: CatalogContext,
  productId: string,
  channel: string,
  action: RefusalDoc['action'],
  restriction: Restriction,
  actor: string | null,
): Promise<OutgoingEvent[]> {
  const doc: RefusalDoc = { _id: randomUUID(), productId, channel, action, restriction, actor, at: new Date() };
  await ctx.m.Refusal.collection.insertOne(doc as never);
  return [refusalEvent(doc)];
}
