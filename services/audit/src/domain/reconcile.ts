/**
 * Reconciliation of a reporting period, pure: what Kafka says was written to each topic partition in
 * the period (its offsets by time: [start, end)) against what the evidence log recorded of it, every
 * difference classified and explained record by record, and the control totals of the business
 * events recorded in the period.
 *
 * Classes of difference:
 *  - in_flight: an offset not recorded yet, beyond the audit's position in that partition (it is read next);
 *  - dead_lettered / retried: a recorded record with a `.dlq` / `.retry` copy naming its topic, partition and offset;
 *  - duplicate: the same event id recorded at a second offset (a producer's retry wrote it twice);
 *  - late: an event that occurred before the period (beyond the tolerance) but was written to Kafka inside it;
 *  - unexplained: an offset absent although the audit read past it (a gap). Zero of these is the success state.
 */

export const DIFFERENCE_CLASSES = ['in_flight', 'dead_lettered', 'retried', 'duplicate', 'late', 'unexplained'] as const;
export type DifferenceClass = (typeof DIFFERENCE_CLASSES)[number];

export interface Period {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

/** A record of the log in a partition's range (what reconciliation and the control totals read). */
export interface RangeRecord {
  index: number;
  offset: string;
  eventId: string;
  occurredAt: number;
  ts: number;
  channel: string | null;
  type: string;
  /** Decoded payload as JSON data (absent once pruned). */
  payload?: unknown;
}

/** One topic partition: Kafka's offsets for the period and the audit's position in it. */
export interface PartitionRange {
  topic: string;
  partition: number;
  /** First offset of the period (Kafka: first record with timestamp >= from). */
  start: string;
  /** First offset after the period (exclusive). */
  end: string;
  /** The last offset the audit recorded in this partition (undefined: none yet). */
  lastOffset?: string;
  records: readonly RangeRecord[];
}

/** A `.dlq` or `.retry` record naming the record it copies (from the kit's x-source-* headers). */
export interface CopyOf {
  kind: 'dead_letter' | 'retry';
  topic: string;
  index: number;
  offset: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  reason: string | null;
}

export interface ReconcileInput {
  period: Period;
  /** Empty: every channel. */
  channels: readonly string[];
  ranges: readonly PartitionRange[];
  copies: readonly CopyOf[];
  /** How long before the period an event may have occurred and still not count as late (ms). */
  lateToleranceMs: number;
  /** The most differences listed (counts are always complete). */
  maxListed: number;
}

export interface Difference {
  class: DifferenceClass;
  topic: string;
  partition: number;
  offset: string;
  explained: boolean;
  explanation: string;
  eventId?: string;
  index?: number;
  channel?: string | null;
  /** unexplained: the log indices of the partition's recorded neighbours (to tell a store hole from a skip by Kafka). */
  between?: { before: number | null; after: number | null };
}

export interface TopicRow {
  topic: string;
  partitions: Array<{ partition: number; start: string; end: string; lastOffset: string | null }>;
  expected: number;
  recorded: number;
  inFlight: number;
  deadLettered: number;
  retried: number;
  duplicates: number;
  late: number;
  unexplained: number;
}

export interface Reconciliation {
  topics: TopicRow[];
  differences: Difference[];
  /** Differences found but not listed (beyond maxListed). */
  unlisted: number;
  unexplained: number;
  /** The records of the report's channels in the period (what the control totals add up). */
  inScope: Array<RangeRecord & { topic: string }>;
  method: string;
}

const inScopeOf =
  (channels: readonly string[]) =>
  (r: Pick<RangeRecord, 'channel'>): boolean =>
    channels.length === 0 || (r.channel !== null && channels.includes(r.channel));

/** How the expected counts were arrived at (the report says it). */
export function methodOf(channels: readonly string[], lateToleranceMs: number): string {
  const base =
    'expected records per topic partition are Kafka’s own offsets for the period: [first offset with timestamp >= from, first offset with timestamp >= to); ' +
    'each expected offset is looked up in the evidence log: present = recorded; absent beyond the audit’s position = in_flight; absent below it = unexplained (a gap); ' +
    `recorded records are further explained by their .dlq / .retry copies (x-source-topic/partition/offset), by a repeated event id (duplicate) and by an occurredAt more than ${Math.round(lateToleranceMs / 1000)} s before the period (late).`;
  if (!channels.length) return base;
  return (
    base +
    ` Channel filter (${channels.join(', ')}): offsets carry no channel, so expected = the records of these channels recorded in the range plus every unexplained offset ` +
    '(an absent record’s channel is unknown: it is listed whatever its channel); in-flight offsets are listed but not counted as expected.'
  );
}

function offsetsBetween(start: bigint, end: bigint): bigint[] {
  const out: bigint[] = [];
  for (let o = start; o < end; o++) out.push(o);
  return out;
}

/** Reconciles every partition range of the period; see the module header for the classes. */
export function reconcile(input: ReconcileInput): Reconciliation {
  const { period, channels, lateToleranceMs, maxListed } = input;
  const inScope = inScopeOf(channels);
  const differences: Difference[] = [];
  let unlisted = 0;
  const list = (d: Difference): void => {
    if (differences.length < maxListed) differences.push(d);
    else unlisted++;
  };
  const copies = new Map<string, CopyOf[]>();
  for (const c of input.copies) {
    const key = `${c.sourceTopic}|${c.sourcePartition}|${BigInt(c.sourceOffset)}`;
    copies.set(key, [...(copies.get(key) ?? []), c]);
  }
  const rows = new Map<string, TopicRow>();
  const seenEvents = new Map<string, Map<string, { partition: number; record: RangeRecord }>>();
  const scoped: Array<RangeRecord & { topic: string }> = [];
  const sorted = [...input.ranges].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  for (const range of sorted) {
    const row =
      rows.get(range.topic) ??
      rows
        .set(range.topic, {
          topic: range.topic,
          partitions: [],
          expected: 0,
          recorded: 0,
          inFlight: 0,
          deadLettered: 0,
          retried: 0,
          duplicates: 0,
          late: 0,
          unexplained: 0,
        })
        .get(range.topic)!;
    row.partitions.push({ partition: range.partition, start: range.start, end: range.end, lastOffset: range.lastOffset ?? null });
    const start = BigInt(range.start);
    const end = BigInt(range.end);
    const byOffset = new Map<bigint, RangeRecord>();
    for (const r of range.records) {
      const o = BigInt(r.offset);
      if (o >= start && o < end && !byOffset.has(o)) byOffset.set(o, r);
    }
    const last = range.lastOffset === undefined ? null : BigInt(range.lastOffset);
    const events = seenEvents.get(range.topic) ?? seenEvents.set(range.topic, new Map()).get(range.topic)!;
    let before: RangeRecord | null = null;
    const at = (offset: bigint): Pick<Difference, 'topic' | 'partition' | 'offset'> => ({
      topic: range.topic,
      partition: range.partition,
      offset: offset.toString(),
    });
    const absent: bigint[] = [];
    const settleAbsent = (after: RangeRecord | null): void => {
      for (const o of absent) {
        row.unexplained++;
        row.expected++;
        list({
          ...at(o),
          class: 'unexplained',
          explained: false,
          explanation: `offset ${o} was written to Kafka in the period and the audit read past it (position ${last}), but the log holds no record of it`,
          between: { before: before?.index ?? null, after: after?.index ?? null },
        });
      }
      absent.length = 0;
    };
    for (const o of offsetsBetween(start, end)) {
      const r = byOffset.get(o);
      if (!r) {
        if (last === null || o > last) {
          row.inFlight++;
          if (!channels.length) row.expected++;
          list({
            ...at(o),
            class: 'in_flight',
            explained: true,
            explanation:
              last === null
                ? 'the audit has not read this partition yet'
                : `beyond the audit’s position in this partition (${last}): read next`,
          });
        } else absent.push(o);
        continue;
      }
      settleAbsent(r);
      before = r;
      if (!inScope(r)) continue;
      scoped.push({ ...r, topic: range.topic });
      row.expected++;
      row.recorded++;
      const ref = { ...at(o), eventId: r.eventId, index: r.index, channel: r.channel };
      for (const c of copies.get(`${range.topic}|${range.partition}|${o}`) ?? []) {
        const dead = c.kind === 'dead_letter';
        if (dead) row.deadLettered++;
        else row.retried++;
        list({
          ...ref,
          class: dead ? 'dead_lettered' : 'retried',
          explained: true,
          explanation: `${dead ? 'dead-lettered' : 'sent for retry'} as ${c.topic} offset ${c.offset} (log index ${c.index})${c.reason ? `: ${c.reason}` : ''}`,
        });
      }
      const first = events.get(r.eventId);
      if (first) {
        row.duplicates++;
        list({
          ...ref,
          class: 'duplicate',
          explained: true,
          explanation: `event ${r.eventId} was recorded already at partition ${first.partition} offset ${first.record.offset} (log index ${first.record.index}): a producer retry wrote it twice`,
        });
      } else events.set(r.eventId, { partition: range.partition, record: r });
      if (r.occurredAt < period.from - lateToleranceMs && r.ts >= period.from) {
        row.late++;
        list({
          ...ref,
          class: 'late',
          explained: true,
          explanation: `occurred at ${new Date(r.occurredAt).toISOString()}, before the period, and was written to Kafka at ${new Date(r.ts).toISOString()}, inside it`,
        });
      }
    }
    settleAbsent(null);
  }
  const topics = [...rows.values()];
  return {
    topics,
    differences,
    unlisted,
    unexplained: topics.reduce((n, t) => n + t.unexplained, 0),
    inScope: scoped,
    method: methodOf(channels, lateToleranceMs),
  };
}

// ---- control totals ----

export interface OrderTotal {
  channel: string;
  currency: string;
  /** Distinct orders placed in the period. */
  orders: number;
  /** Sum of their totals (minor units), each order's last `placed` event. */
  totalMinor: number;
  /** Sum over their lines of unit price × quantity − line total (the promotion adjustments of the price snapshot). */
  lineDiscountMinor: number;
}

export interface UsageTotal {
  channel: string;
  /** Usage holds committed in the period, minus those reverted. */
  committed: number;
  reverted: number;
  /** Campaign budget drawn by committed holds, net of reverted ones (minor units of the channel's currency: the Avro names none). */
  campaignAmountMinor: number;
  codesUsed: number;
  pointsBurned: number;
}

export interface LoyaltyTotal {
  channel: string;
  earned: number;
  redeemed: number;
  expired: number;
  reversed: number;
  adjusted: number;
  entries: number;
}

export interface ControlTotals {
  orders: OrderTotal[];
  promotionDiscounts: { source: string; byOrderLines: Array<Omit<OrderTotal, 'orders' | 'totalMinor'>>; byUsage: UsageTotal[] };
  loyalty: LoyaltyTotal[];
  /** Records whose payload was pruned or erased (counted nowhere above). */
  withoutPayload: number;
}

const num = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : 0;
const str = (v: unknown, none: string): string => (typeof v === 'string' && v.length ? v : none);
const NO_CHANNEL = '(none)';
const NO_CURRENCY = '(none)';

export const DISCOUNT_SOURCE =
  'two views, both from the Avro: byOrderLines from orders.order-status (placed orders: per line unitPriceMinor × quantity − totalMinor, the line’s promotion adjustments, per channel and currency); ' +
  'byUsage from promotions.usage (committed holds: the campaign budget drawn, CampaignUse.amountMinor, codes and points; reverted holds subtracted; per channel, no currency in the Avro)';

/** Control totals of the in-scope records: orders placed, promotion discounts, loyalty points. */
export function controlTotals(records: ReadonlyArray<RangeRecord & { topic: string }>): ControlTotals {
  const placed = new Map<string, { channel: string; currency: string; total: number; discount: number }>();
  const usage = new Map<string, UsageTotal>();
  const loyalty = new Map<string, LoyaltyTotal>();
  let withoutPayload = 0;
  const ordered = [...records].sort((a, b) => a.index - b.index);
  for (const r of ordered) {
    if (!['orders.order-status', 'promotions.usage', 'promotions.loyalty-entry'].includes(r.topic)) continue;
    const p = r.payload as Record<string, unknown> | undefined;
    if (!p || typeof p !== 'object') {
      withoutPayload++;
      continue;
    }
    if (r.topic === 'orders.order-status') {
      if (p.status !== 'placed') continue;
      const lines = Array.isArray(p.lines) ? (p.lines as Array<Record<string, unknown>>) : [];
      placed.set(str(p.orderId, r.eventId), {
        channel: str(p.channel, r.channel ?? NO_CHANNEL),
        currency: str(p.currency, NO_CURRENCY),
        total: num(p.totalMinor),
        discount: lines.reduce((s, l) => s + Math.max(0, num(l.unitPriceMinor) * num(l.quantity) - num(l.totalMinor)), 0),
      });
    } else if (r.topic === 'promotions.usage') {
      if (p.state !== 'committed' && p.state !== 'reverted') continue;
      const channel = str(p.channel, r.channel ?? NO_CHANNEL);
      const u =
        usage.get(channel) ??
        usage.set(channel, { channel, committed: 0, reverted: 0, campaignAmountMinor: 0, codesUsed: 0, pointsBurned: 0 }).get(channel)!;
      const sign = p.state === 'committed' ? 1 : -1;
      if (sign > 0) u.committed++;
      else u.reverted++;
      const campaigns = Array.isArray(p.campaigns) ? (p.campaigns as Array<Record<string, unknown>>) : [];
      u.campaignAmountMinor += sign * campaigns.reduce((s, c) => s + num(c.amountMinor), 0);
      u.codesUsed += sign * (Array.isArray(p.codes) ? p.codes.length : 0);
      u.pointsBurned += sign * num(p.points);
    } else {
      const channel = str(p.channel, r.channel ?? NO_CHANNEL);
      const l =
        loyalty.get(channel) ??
        loyalty.set(channel, { channel, earned: 0, redeemed: 0, expired: 0, reversed: 0, adjusted: 0, entries: 0 }).get(channel)!;
      const points = num(p.points);
      l.entries++;
      if (p.kind === 'earn') l.earned += points;
      else if (p.kind === 'burn') l.redeemed += -points;
      else if (p.kind === 'expire') l.expired += -points;
      else if (p.kind === 'reverse') l.reversed += points;
      else l.adjusted += points;
    }
  }
  const orders = new Map<string, OrderTotal>();
  for (const o of placed.values()) {
    const key = `${o.channel}|${o.currency}`;
    const t =
      orders.get(key) ??
      orders.set(key, { channel: o.channel, currency: o.currency, orders: 0, totalMinor: 0, lineDiscountMinor: 0 }).get(key)!;
    t.orders++;
    t.totalMinor += o.total;
    t.lineDiscountMinor += o.discount;
  }
  const byKey = <T extends { channel: string; currency?: string }>(a: T, b: T): number =>
    a.channel.localeCompare(b.channel) || (a.currency ?? '').localeCompare(b.currency ?? '');
  const orderRows = [...orders.values()].sort(byKey);
  return {
    orders: orderRows,
    promotionDiscounts: {
      source: DISCOUNT_SOURCE,
      byOrderLines: orderRows.map(({ channel, currency, lineDiscountMinor }) => ({ channel, currency, lineDiscountMinor })),
      byUsage: [...usage.values()].sort(byKey),
    },
    loyalty: [...loyalty.values()].sort(byKey),
    withoutPayload,
  };
}

// ---- period input ----

/** The longest period one report covers. */
export const MAX_PERIOD_MS = 31 * 24 * 3600 * 1000;

/** An instant given as ISO 8601 text or epoch ms (number or digits); null when it is neither. */
export function instantOf(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string' || !v.trim()) return null;
  if (/^\d+$/.test(v.trim())) return instantOf(Number(v.trim()));
  const t = Date.parse(v);
  return Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(v.trim()) ? null : t;
}

/** Why a period cannot be reported on (null: it can). */
export function periodProblem(p: Period, now: number, maxMs = MAX_PERIOD_MS): { code: string; message: string; hint: string } | null {
  if (p.to <= p.from)
    return {
      code: 'bad_period',
      message: 'the period must end after it starts',
      hint: 'send `to` later than `from` (ISO 8601 or epoch ms)',
    };
  if (p.from > now) return { code: 'period_in_future', message: 'the period starts in the future', hint: 'send a `from` at or before now' };
  if (p.to - p.from > maxMs)
    return {
      code: 'period_too_long',
      message: `the period spans ${Math.ceil((p.to - p.from) / 86_400_000)} days, more than one report covers (${Math.round(maxMs / 86_400_000)})`,
      hint: `split it into reports of at most ${Math.round(maxMs / 86_400_000)} days`,
    };
  return null;
}
