import { randomUUID } from 'node:crypto';
import type { OutgoingEvent } from '@omnimall/service-kit';
import { CLOSED_STATES, itemIdOf, type MasterProduct, type Variant } from '../domain/catalog';
import { barringRestriction, type Restriction } from '../domain/restrictions';
import { project, ProjectionError, type ChannelView, type PriceSources, type SyncRule } from '../domain/rules';
import type { RateEntry } from '../domain/rates';
import type { Assignment, Evidence, KnownChannel, LocalItem, Refusal } from '../domain/records';
import { localItemEvent, refusalEvent } from '../events/out';
import { applyProjection, withdraw, type ItemChange } from './items';
import type { Catalog } from './catalog';
import { claimSkus } from './claims';

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
  channel: KnownChannel;
  variant: Variant;
  prices: PriceSources;
  inheritedFrom: string | null;
}

export function channelView(c: KnownChannel): ChannelView {
  return {
    code: c._id,
    region: c.region,
    country: c.country,
    currencies: c.currencies,
    languages: c.languages,
    masterChannel: c.masterChannel ?? null,
  };
}

function ownPrices(assignment: Assignment, channel: string, sku: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of assignment.channels[channel]?.prices ?? []) if (p.sku === sku) out[p.currency] = p.amountMinor;
  return out;
}

/**
 * Where a product should be listed: every channel it is assigned to (the assigned SKUs, or all), and
 * every dependent channel (regional, affiliate) of an assigned master channel that has no assignment
 * of its own; a dependent channel without its own prices derives them from its master channel's.
 */
export function targetsOf(product: MasterProduct, assignment: Assignment, channels: Map<string, KnownChannel>): Target[] {
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
  /** The master product as the caller just wrote it (saves reading it again). */
  product?: MasterProduct;
  /** The caller has just claimed every SKU of `product` for it (saves reading the claims again). */
  skusClaimed?: boolean;
}

/** What propagation decided for one item: its report, the write (if any), its events and refusal record. */
interface Decision {
  id: string;
  report: ItemReport;
  change: ItemChange | null;
  events: OutgoingEvent[];
  refusal: Refusal | null;
}

/** Decisions that keep meeting items changed by another process give up after this many rounds. */
const MAX_ROUNDS = 5;

/**
 * Propagates the current master product into every local item it should have, and withdraws the
 * items it should no longer have. Callers hold the product lock, which also covers the curation of
 * the product's items. Items come from the item store (no read when this process wrote them last);
 * the evidence of all items is stored in one insertMany, the items in one conditional bulkWrite,
 * the refusals in one insertMany, and all events leave in one journal write. An item another process
 * changed meanwhile is read and decided again (its write did not apply).
 */
export async function propagateProduct(c: Catalog, productId: string, opts: PropagateOptions = {}): Promise<PropagationReport> {
  const [product, assignment] = await Promise.all([opts.product ?? c.products.byId(productId), c.assignments.byId(productId)]);
  if (!product) return { productId, masterVersion: 0, items: [] };
  if (!assignment) return { productId, masterVersion: product.version, items: [] };
  const channels = await c.channels.all();
  const targets = targetsOf(product, assignment, channels);
  const codes = [...new Set(targets.map((t) => t.channel._id))];
  const [rules, rates] = await Promise.all([c.rules.ofChannels(codes), c.rates.table()]);
  const now = new Date();
  const at = opts.at ?? now.getTime();
  const wanted = new Set(targets.map((t) => itemIdOf(t.channel._id, t.variant.sku)));
  const stale = assignment.items.filter((id) => !wanted.has(id));
  // Only the SKUs the product owns are written (claimed here if the product predates claims).
  const { refused } = opts.skusClaimed
    ? { refused: [] }
    : await claimSkus(
        c,
        product.variants.map((v) => ({ productId, sku: v.sku })),
      );
  const env: DecideEnv = { now, at, opts, foreign: new Map(refused.map((r) => [r.sku, r.owner])) };

  const decided = new Map<string, Decision>();
  let pending: (Target | string)[] = [...targets, ...stale];
  for (let round = 1; pending.length; round++) {
    if (round > MAX_ROUNDS) throw new Error(`items of product ${productId} kept changing under propagation`);
    const ids = pending.map((t) => (typeof t === 'string' ? t : itemIdOf(t.channel._id, t.variant.sku)));
    const current = await c.items.get(ids, round > 1);
    const decisions = pending.map((t, i) =>
      typeof t === 'string'
        ? decideStale(t, productId, current.get(t) ?? null, env)
        : decideTarget(product, t, current.get(ids[i]) ?? null, rules.get(t.channel._id) ?? [], rates, env),
    );
    const failed = await writeItems(
      c,
      decisions.map((d) => d.change),
    );
    for (const d of decisions) if (!failed.has(d.id)) decided.set(d.id, d);
    pending = pending.filter((_, i) => failed.has(ids[i]));
  }

  const order = [...targets.map((t) => itemIdOf(t.channel._id, t.variant.sku)), ...stale];
  const all = order.map((id) => decided.get(id)!);
  const refusals = all.map((d) => d.refusal).filter((r): r is Refusal => !!r);
  const newIds = targets.map((t) => itemIdOf(t.channel._id, t.variant.sku)).filter((id) => !assignment.items.includes(id));
  await Promise.all([
    c.refusals.record(refusals),
    newIds.length ? c.assignments.setItems(productId, [...assignment.items, ...newIds]) : undefined,
  ]);
  await c.journal.append(
    'propagation',
    all.flatMap((d) => d.events),
  );
  return { productId, masterVersion: product.version, items: all.map((d) => d.report) };
}

interface DecideEnv {
  now: Date;
  at: number;
  opts: PropagateOptions;
  /** SKUs of the product another product owns → that product. */
  foreign: Map<string, string>;
}

function splitItemId(id: string): { channel: string; sku: string } {
  const sep = id.indexOf(':');
  return { channel: id.slice(0, sep), sku: id.slice(sep + 1) };
}

/**
 * An item the product should no longer have: withdrawn (or, in recovery, its state re-emitted).
 * An item another product has taken over since (the SKU was dropped and claimed by it) is not this product's to touch.
 */
function decideStale(id: string, productId: string, cur: LocalItem | null, env: DecideEnv): Decision {
  if (cur && cur.productId !== productId)
    return { id, report: { ...splitItemId(id), outcome: 'unchanged' }, change: null, events: [], refusal: null };
  const change = cur ? withdraw(cur, 'unassigned', env.now, env.opts.correlationId) : null;
  const events = change ? change.events : cur && env.opts.force ? reemit(cur, env.opts.correlationId) : [];
  return { id, report: { ...splitItemId(id), outcome: change ? 'withdrawn' : 'unchanged' }, change, events, refusal: null };
}

/** Full-state event of an item as it is (recovery after a crash between the item write and the journal). */
function reemit(cur: LocalItem, correlationId?: string): OutgoingEvent[] {
  return [localItemEvent(cur, correlationId)];
}

/** Decides one target on the item as it is: refused, withdrawn (closed channel) or projected. Pure. */
function decideTarget(
  product: MasterProduct,
  t: Target,
  cur: LocalItem | null,
  rules: SyncRule[],
  rates: RateEntry[],
  env: DecideEnv,
): Decision {
  const channel = t.channel._id;
  const sku = t.variant.sku;
  const id = itemIdOf(channel, sku);
  const owner = env.foreign.get(sku);
  if (owner)
    return {
      id,
      report: { channel, sku, outcome: 'failed', detail: `sku_owned_by_other_product: SKU ${sku} belongs to product ${owner}` },
      change: null,
      events: [],
      refusal: null,
    };
  // An item of a product that gave the SKU up: this product owns the SKU now and lists it afresh.
  if (cur && cur.productId !== product._id) cur = { ...cur, status: 'withdrawn', edits: {}, conflicts: {}, staged: {} };
  const restriction = barringRestriction(product.restrictions, { code: channel, region: t.channel.region, country: t.channel.country });
  if (restriction) {
    // Refused: never listed there. A listed item is withdrawn; the refusal is recorded once per state change.
    const change = cur ? withdraw(cur, `restricted:${restriction.id}`, env.now, env.opts.correlationId) : null;
    const refusal: Refusal | null =
      change || !cur
        ? {
            _id: randomUUID(),
            productId: product._id,
            channel,
            action: 'propagation',
            restriction,
            actor: env.opts.actor ?? null,
            at: env.now,
          }
        : null;
    return {
      id,
      report: {
        channel,
        sku,
        outcome: 'refused',
        restriction,
        detail: `barred by ${restriction.kind} ${restriction.value}: ${restriction.reason}`,
      },
      change,
      events: [...(change?.events ?? []), ...(refusal ? [refusalEvent(refusal)] : [])],
      refusal,
    };
  }
  if (CLOSED_STATES.has(t.channel.state)) {
    const change = cur ? withdraw(cur, `channel_${t.channel.state}`, env.now, env.opts.correlationId) : null;
    return {
      id,
      report: { channel, sku, outcome: change ? 'withdrawn' : 'unchanged', detail: `channel is ${t.channel.state}` },
      change,
      events: change?.events ?? [],
      refusal: null,
    };
  }
  let proj;
  try {
    proj = project({ product, variant: t.variant, channel: channelView(t.channel), rules, rates, prices: t.prices, at: env.at });
  } catch (err) {
    if (err instanceof ProjectionError)
      return {
        id,
        report: { channel, sku, outcome: 'failed', detail: `${err.code}: ${err.message}` },
        change: null,
        events: [],
        refusal: null,
      };
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
  const events = !change.evidence && env.opts.force && cur ? [...reemit(cur, env.opts.correlationId), ...change.events] : change.events;
  return { id, report: { channel, sku, outcome: change.outcome }, change: change.changed ? change : null, events, refusal: null };
}

/**
 * Writes item changes (caller holds the product lock): their evidence first (one insertMany; the
 * items name it), then the items (one conditional bulkWrite), then the conflicts and staged diffs
 * the applied ones open (one bulkWrite each). Returns the ids of the items another process changed
 * since they were read: nothing of theirs but possibly their evidence was written (evidence no item
 * names, never shown), and the caller decides them again.
 */
export async function writeItems(
  c: Pick<Catalog, 'evidence' | 'items' | 'conflicts' | 'diffs'>,
  changes: readonly (ItemChange | null)[],
): Promise<Set<string>> {
  const writes = changes.filter((c): c is ItemChange => !!c);
  if (!writes.length) return new Set();
  const evidence = writes.map((c) => c.evidence).filter((e): e is Evidence => !!e);
  await c.evidence.insertAll(evidence);
  const failed = await c.items.write(writes.map((w) => ({ cur: w.cur, item: w.item })));
  const applied = writes.filter((w) => !failed.has(w.item._id));
  await Promise.all([c.conflicts.upsertAll(applied.flatMap((w) => w.conflicts)), c.diffs.upsertAll(applied.flatMap((w) => w.diffs))]);
  return failed;
}

/** Records a refusal (restriction) and returns its audit event for the caller's journal. */
export async function recordRefusal(
  c: Pick<Catalog, 'refusals'>,
  productId: string,
  channel: string,
  action: Refusal['action'],
  restriction: Restriction,
  actor: string | null,
): Promise<OutgoingEvent[]> {
  const doc: Refusal = { _id: randomUUID(), productId, channel, action, restriction, actor, at: new Date() };
  await c.refusals.record([doc]);
  return [refusalEvent(doc)];
}

/** Re-propagates every product assigned to a channel or to its master channel (after a rule or channel change); answers how many. */
export async function repropagateChannel(c: Catalog, code: string): Promise<number> {
  const channels = await c.channels.all();
  const codes = [code, channels.get(code)?.masterChannel].filter((x): x is string => !!x);
  const assigned = await c.assignments.assignedTo(codes);
  for (const productId of assigned) {
    await c.locks.product(productId, () =>
      c.changes.run({ kind: 'product', productId, itemIds: [] }, () => propagateProduct(c, productId)),
    );
  }
  return assigned.length;
}
