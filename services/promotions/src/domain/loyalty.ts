/**
 * A customer's loyalty ledger: one record per customer holding its append-only entries (earn, burn,
 * expire, reverse, adjust), the points available (balance) and held by open redemptions, the lots
 * the balance is made of (each earn is a lot that expires on its own date; burns take the oldest
 * first), the orders it earned on, and the tier. Pure: every function returns a new ledger and the
 * entries it appended, or throws the refusal.
 */
import { createHash } from 'node:crypto';
import { ConflictError, ValidationError } from '@omnimall/service-kit/errors';

export type EntryKind = 'earn' | 'burn' | 'expire' | 'reverse' | 'adjust';

export interface LedgerEntry {
  /** Unique in the ledger; derived from its cause (earn:<orderId>, burn:<holdId>, ...), so a replay appends nothing. */
  id: string;
  kind: EntryKind;
  /** Signed: positive adds, negative takes. */
  points: number;
  /** Balance and held after the entry. */
  balance: number;
  held: number;
  /** order:<id>, hold:<id>, staff:<id>, system:expiry. */
  source: string;
  channel: string | null;
  at: number;
  /** What a burn, expiry or adjustment took from which lot, so a reverse gives it back to the same lots. */
  lots?: Record<string, number>;
  /** The entry a reverse undoes. */
  reverses?: string;
  /** A staff adjustment's stated reason. */
  reason?: string;
}

/** Points earned together, expiring together. */
export interface Lot {
  id: string;
  points: number;
  expiresAt: number;
}

export interface PointsHold {
  points: number;
  expiresAt: number;
}

export interface Ledger {
  customerId: string;
  balance: number;
  held: number;
  holds: Record<string, PointsHold>;
  /** Oldest expiry first. */
  lots: Lot[];
  entries: LedgerEntry[];
  /** Orders this ledger earned on, or that were cancelled before they earned (so they never earn); keyed by orderKey. */
  orders: Record<string, 'earned' | 'reversed'>;
  tier: string;
  /** When the tier is next reviewed for a downgrade (null: never, e.g. the base tier). */
  tierReviewAt: number | null;
  version: number;
  updatedAt: number;
}

export interface Tier {
  name: string;
  threshold: number;
}

export interface TierPolicy {
  /** Ascending thresholds; the first (threshold 0) is every customer's base tier. */
  tiers: Tier[];
  periodDays: number;
  downgrade: 'one_step' | 'to_qualified';
}

export interface EarnRules {
  /** Points per currency unit of the order total (fractions allowed; the total is rounded down). */
  pointsPerUnit: number;
  /** Minor units per currency unit (100 for most currencies). */
  minorPerUnit: number;
  /** Multiplier per channel code (absent: 1). */
  channelMultipliers: Record<string, number>;
  /** Bonus points per promotion id the order applied. */
  promotionBonus: Record<string, number>;
}

export interface TierChange {
  customerId: string;
  tier: string;
  previousTier: string;
  reason: 'upgrade' | 'downgrade';
  qualifyingPoints: number;
}

/** A ledger change: the new ledger, the entries appended and the tier change if any. */
export interface LedgerResult {
  ledger: Ledger;
  entries: LedgerEntry[];
  tierChange: TierChange | null;
}

/** The tier every customer has before any policy names one (identity's default). */
export const DEFAULT_TIER = 'standard';
const DAY_MS = 86_400_000;

export const baseTier = (p: TierPolicy | null): string => p?.tiers[0]?.name ?? DEFAULT_TIER;

export const emptyLedger = (customerId: string, policy: TierPolicy | null): Ledger => ({
  customerId,
  balance: 0,
  held: 0,
  holds: {},
  lots: [],
  entries: [],
  orders: {},
  tier: baseTier(policy),
  tierReviewAt: null,
  version: 0,
  updatedAt: 0,
});

export const available = (l: Pick<Ledger, 'balance' | 'held'>): number => l.balance - l.held;

/** The points an order earns under the rules (0 for no total). */
export function pointsFor(rules: EarnRules, totalMinor: number, channel: string, promotionIds: readonly string[]): number {
  const base = Math.floor((totalMinor / rules.minorPerUnit) * rules.pointsPerUnit * (rules.channelMultipliers[channel] ?? 1));
  const bonus = [...new Set(promotionIds)].reduce((n, id) => n + (rules.promotionBonus[id] ?? 0), 0);
  return Math.max(0, base) + bonus;
}

function append(l: Ledger, e: Omit<LedgerEntry, 'balance' | 'held'>, next: Partial<Ledger>): LedgerResult {
  const ledger: Ledger = { ...l, ...next };
  const entry: LedgerEntry = { ...e, balance: ledger.balance, held: ledger.held };
  return { ledger: { ...ledger, entries: [...l.entries, entry] }, entries: [entry], tierChange: null };
}

/** An order id as a key of `orders` (a field name): as is when it is plain, else a digest of it. */
export const orderKey = (orderId: string): string =>
  /^[A-Za-z0-9_:@-]{1,120}$/.test(orderId) ? orderId : `#${createHash('sha256').update(orderId).digest('hex').slice(0, 40)}`;

const has = (l: Ledger, entryId: string): boolean => l.entries.some((e) => e.id === entryId);

/** Takes `points` from the lots, oldest expiry first; what it took from each. */
function takeLots(lots: readonly Lot[], points: number): { lots: Lot[]; took: Record<string, number> } {
  const took: Record<string, number> = {};
  let rest = points;
  const out: Lot[] = [];
  for (const lot of lots) {
    const n = Math.min(rest, lot.points);
    rest -= n;
    if (n) took[lot.id] = n;
    if (lot.points - n > 0) out.push({ ...lot, points: lot.points - n });
  }
  return { lots: out, took };
}

/** Gives points back to the lots they were taken from (a lot gone is recreated with its expiry). */
function restoreLots(l: Ledger, took: Record<string, number>, expiries: Map<string, number>): Lot[] {
  const lots = l.lots.map((lot) => ({ ...lot }));
  for (const [id, n] of Object.entries(took)) {
    const lot = lots.find((x) => x.id === id);
    if (lot) lot.points += n;
    else lots.push({ id, points: n, expiresAt: expiries.get(id) ?? 0 });
  }
  return lots.sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1));
}

/** Every lot's expiry, from the entries that created it (earns and positive adjustments). */
const lotExpiries = (l: Ledger, ttlMs: number): Map<string, number> =>
  new Map(l.entries.filter((e) => e.points > 0 && (e.kind === 'earn' || e.kind === 'adjust')).map((e) => [e.id, e.at + ttlMs]));

const addLot = (lots: readonly Lot[], lot: Lot): Lot[] =>
  [...lots, lot].sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1));

/**
 * Earns on an order, once per order (an order earned on or cancelled already earns nothing: null).
 * The points are a lot expiring `ttlMs` after `at`; an upgrade follows at once (see upgrade).
 */
export function earn(
  l: Ledger,
  o: { orderId: string; points: number; channel: string | null; at: number },
  ttlMs: number,
  policy: TierPolicy | null,
): LedgerResult | null {
  if (l.orders[orderKey(o.orderId)]) return null;
  const orders = { ...l.orders, [orderKey(o.orderId)]: 'earned' as const };
  if (o.points <= 0) return { ledger: { ...l, orders }, entries: [], tierChange: null };
  const id = `earn:${o.orderId}`;
  const made = append(
    l,
    { id, kind: 'earn', points: o.points, source: `order:${o.orderId}`, channel: o.channel, at: o.at },
    { balance: l.balance + o.points, lots: addLot(l.lots, { id, points: o.points, expiresAt: o.at + ttlMs }), orders },
  );
  return upgrade(made, policy, o.at);
}

/**
 * Takes back what an order earned (a cancelled or returned order): at most what is available now (points
 * already spent are not clawed back). An order never earned on is marked so a late `paid` earns nothing.
 */
export function reverseEarn(l: Ledger, orderId: string, channel: string | null, at: number): LedgerResult | null {
  if (l.orders[orderKey(orderId)] === 'reversed') return null;
  const orders = { ...l.orders, [orderKey(orderId)]: 'reversed' as const };
  const earned = l.entries.find((e) => e.id === `earn:${orderId}`);
  const points = Math.min(earned?.points ?? 0, Math.max(0, available(l)));
  if (!points) return { ledger: { ...l, orders }, entries: [], tierChange: null };
  // the order's own lot first, then the oldest
  const own = l.lots.filter((x) => x.id === earned!.id);
  const { lots, took } = takeLots([...own, ...l.lots.filter((x) => x.id !== earned!.id)], points);
  return append(
    l,
    {
      id: `reverse:earn:${orderId}`,
      kind: 'reverse',
      points: -points,
      source: `order:${orderId}`,
      channel,
      at,
      lots: took,
      reverses: earned!.id,
    },
    { balance: l.balance - points, lots: lots.sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1)), orders },
  );
}

/** Holds points for a redemption. Idempotent. Throws ConflictError insufficient_points. */
export function holdPoints(l: Ledger, holdId: string, points: number, expiresAt: number): Ledger {
  if (l.holds[holdId]) return l;
  if (points > available(l))
    throw new ConflictError(
      'insufficient_points',
      `${available(l)} points are available, not ${points}`,
      `redeem at most ${Math.max(0, available(l))} points`,
      {
        available: available(l),
        asked: points,
      },
    );
  return { ...l, held: l.held + points, holds: { ...l.holds, [holdId]: { points, expiresAt } } };
}

/** Gives held points back; null when the hold holds nothing here. */
export function releasePoints(l: Ledger, holdId: string): Ledger | null {
  const h = l.holds[holdId];
  if (!h) return null;
  const holds = { ...l.holds };
  delete holds[holdId];
  return { ...l, held: l.held - h.points, holds };
}

/** Gives back every point hold that expired by `before` (the ledger itself when none did). */
export function releaseExpiredHolds(l: Ledger, before: number): Ledger {
  return Object.entries(l.holds)
    .filter(([, h]) => h.expiresAt <= before)
    .reduce((cur, [id]) => releasePoints(cur, id) ?? cur, l);
}

/** Burns held points (a `burn` entry, oldest lots first); null when the hold holds nothing here. */
export function commitPoints(l: Ledger, holdId: string, channel: string | null, at: number): LedgerResult | null {
  const h = l.holds[holdId];
  if (!h) return null;
  const freed = releasePoints(l, holdId)!;
  const { lots, took } = takeLots(l.lots, h.points);
  return append(
    freed,
    { id: `burn:${holdId}`, kind: 'burn', points: -h.points, source: `hold:${holdId}`, channel, at, lots: took },
    { balance: l.balance - h.points, lots },
  );
}

/** Gives burnt points back to their lots (a `reverse` entry); null when nothing was burnt or it was reverted already. */
export function revertPoints(l: Ledger, holdId: string, channel: string | null, at: number, ttlMs: number): LedgerResult | null {
  const burn = l.entries.find((e) => e.id === `burn:${holdId}`);
  const id = `reverse:burn:${holdId}`;
  if (!burn || has(l, id)) return null;
  return append(
    l,
    { id, kind: 'reverse', points: -burn.points, source: `hold:${holdId}`, channel, at, reverses: burn.id },
    { balance: l.balance - burn.points, lots: restoreLots(l, burn.lots ?? {}, lotExpiries(l, ttlMs)) },
  );
}

/**
 * A staff adjustment, once per entry id: positive points are a new lot expiring `ttlMs` after `at`;
 * negative ones are taken from the oldest lots, never more than is available (ConflictError insufficient_points).
 */
export function adjust(
  l: Ledger,
  a: { entryId: string; points: number; source: string; reason: string; at: number },
  ttlMs: number,
): LedgerResult | null {
  if (has(l, a.entryId)) return null;
  if (!Number.isSafeInteger(a.points) || a.points === 0)
    throw new ValidationError(
      'invalid_points',
      'an adjustment is a whole, non-zero number of points',
      'send points: positive to add, negative to take',
    );
  if (a.points > 0)
    return append(
      l,
      { id: a.entryId, kind: 'adjust', points: a.points, source: a.source, reason: a.reason, channel: null, at: a.at },
      { balance: l.balance + a.points, lots: addLot(l.lots, { id: a.entryId, points: a.points, expiresAt: a.at + ttlMs }) },
    );
  if (-a.points > available(l))
    throw new ConflictError(
      'insufficient_points',
      `${available(l)} points are available, not ${-a.points}`,
      `take at most ${Math.max(0, available(l))} points`,
      {
        available: available(l),
      },
    );
  const { lots, took } = takeLots(l.lots, -a.points);
  return append(
    l,
    { id: a.entryId, kind: 'adjust', points: a.points, source: a.source, reason: a.reason, channel: null, at: a.at, lots: took },
    { balance: l.balance + a.points, lots },
  );
}

/**
 * Expires the lots past their date by `now` (one `expire` entry per lot), never below what open holds
 * need: a lot that must stay for them expires when they are released or committed. Null: nothing due.
 */
export function expireLots(l: Ledger, now: number): LedgerResult | null {
  let cur = l;
  const entries: LedgerEntry[] = [];
  for (const lot of l.lots) {
    if (lot.expiresAt > now) break;
    const n = Math.min(lot.points, Math.max(0, available(cur)));
    if (!n) continue;
    const made = append(
      cur,
      { id: `expire:${lot.id}:${now}`, kind: 'expire', points: -n, source: 'system:expiry', channel: null, at: now, lots: { [lot.id]: n } },
      {
        balance: cur.balance - n,
        lots: cur.lots.flatMap((x) => (x.id !== lot.id ? [x] : x.points - n > 0 ? [{ ...x, points: x.points - n }] : [])),
      },
    );
    cur = made.ledger;
    entries.push(...made.entries);
  }
  return entries.length ? { ledger: cur, entries, tierChange: null } : null;
}

/** The earliest expiry among the lots (null: none), kept on the document for the expiry worker's scan. */
export const nextLotExpiry = (l: Pick<Ledger, 'lots'>): number | null =>
  l.lots.length ? Math.min(...l.lots.map((x) => x.expiresAt)) : null;

// ---- tiers ------------------------------------------------------------------------------------

/** Points earned in the rolling period ending at `now` (earns less the reverses of those earns). */
export function qualifyingPoints(l: Pick<Ledger, 'entries'>, policy: TierPolicy, now: number): number {
  const since = now - policy.periodDays * DAY_MS;
  let n = 0;
  for (const e of l.entries)
    if (e.at > since && (e.kind === 'earn' || (e.kind === 'reverse' && e.reverses?.startsWith('earn:')))) n += e.points;
  return Math.max(0, n);
}

/** The index of the highest tier whose threshold the points reach (0: the base tier). */
export const qualifiedTier = (policy: TierPolicy, points: number): number =>
  policy.tiers.reduce((best, t, i) => (points >= t.threshold ? i : best), 0);

/** A tier's rank in the policy (-1: a tier the policy no longer names). */
const rankOf = (policy: TierPolicy, name: string): number => policy.tiers.findIndex((t) => t.name === name);

/** After an earn: moves the ledger up to the tier its qualifying points reach, at once. */
export function upgrade(made: LedgerResult, policy: TierPolicy | null, now: number): LedgerResult {
  if (!policy) return made;
  const l = made.ledger;
  const points = qualifyingPoints(l, policy, now);
  const q = qualifiedTier(policy, points);
  if (q <= rankOf(policy, l.tier)) return made;
  const tier = policy.tiers[q].name;
  const reviewAt = q === 0 ? null : now + policy.periodDays * DAY_MS;
  return {
    ...made,
    ledger: { ...l, tier, tierReviewAt: reviewAt },
    tierChange: { customerId: l.customerId, tier, previousTier: l.tier, reason: 'upgrade', qualifyingPoints: points },
  };
}

/**
 * At the end of a customer's period (tierReviewAt ≤ now): a customer whose qualifying points no longer
 * reach their tier moves down (one step, or to the tier the points reach, by the policy); the next
 * review is a period later. Null: not due.
 */
export function review(l: Ledger, policy: TierPolicy, now: number): LedgerResult | null {
  if (l.tierReviewAt === null || l.tierReviewAt > now) return null;
  const points = qualifyingPoints(l, policy, now);
  const q = qualifiedTier(policy, points);
  const rank = rankOf(policy, l.tier);
  const to = q >= rank ? rank : policy.downgrade === 'one_step' ? Math.max(q, rank - 1) : q;
  const nextReview = to <= 0 ? null : now + policy.periodDays * DAY_MS;
  if (to === rank) return { ledger: { ...l, tierReviewAt: nextReview }, entries: [], tierChange: null };
  const tier = policy.tiers[Math.max(0, to)].name;
  return {
    ledger: { ...l, tier, tierReviewAt: nextReview },
    entries: [],
    tierChange: { customerId: l.customerId, tier, previousTier: l.tier, reason: 'downgrade', qualifyingPoints: points },
  };
}

export function checkTierPolicy(p: TierPolicy): TierPolicy {
  const bad = (message: string, hint: string): never => {
    throw new ValidationError('invalid_tiers', message, hint);
  };
  if (!p.tiers.length) bad('a tier policy names at least one tier', 'send tiers: [{ name, threshold: 0 }, ...]');
  if (p.tiers[0].threshold !== 0) bad('the first tier is the base tier: its threshold is 0', 'start the tiers with { name, threshold: 0 }');
  for (let i = 1; i < p.tiers.length; i++)
    if (p.tiers[i].threshold <= p.tiers[i - 1].threshold) bad('tiers are listed by rising threshold', 'order the tiers lowest first');
  if (new Set(p.tiers.map((t) => t.name)).size !== p.tiers.length) bad('tier names are unique', 'rename the duplicate tier');
  if (!Number.isSafeInteger(p.periodDays) || p.periodDays < 1) bad('periodDays is a whole number of 1 or more', 'send periodDays ≥ 1');
  return p;
}
