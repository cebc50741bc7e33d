import { ConflictError } from '@omnimall/service-kit/errors';
import {
  adjust,
  commitPoints,
  earn,
  emptyLedger,
  expireLots,
  holdPoints,
  pointsFor,
  qualifyingPoints,
  releaseExpiredHolds,
  reverseEarn,
  revertPoints,
  review,
  type TierPolicy,
} from '../src/domain/loyalty';
import {
  checkBudget,
  committed,
  emptyCounter,
  holdBudget,
  holdCode,
  normaliseCode,
  released,
  reverted,
  settledCampaign,
  type CampaignRecord,
  type CodeRecord,
} from '../src/domain/usage';

const DAY = 86_400_000;
const code = (limits: Partial<CodeRecord['limits']> = {}): CodeRecord => ({
  ...emptyCounter(),
  code: 'SAVE10',
  promotionId: 'p1',
  limits: { total: null, perCustomer: null, singleUse: false, ...limits },
  active: true,
  createdBy: 'staff:a',
  createdAt: 0,
  updatedAt: 0,
  version: 1,
});
const campaign = (kind: 'count' | 'amount', total: number, perCustomer: number | null = null): CampaignRecord => ({
  ...emptyCounter(),
  id: 'c1',
  name: 'c',
  budget: { kind, total, perCustomer },
  held: 0,
  exhausted: false,
  createdBy: 'staff:a',
  createdAt: 0,
  updatedAt: 0,
  version: 1,
});
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof ConflictError) return err.code;
    throw err;
  }
  throw new Error('not refused');
};

describe('codes', () => {
  it('normalises codes and refuses malformed ones', () => {
    expect(normaliseCode('  save-10 ')).toBe('SAVE-10');
    expect(() => normaliseCode('a b')).toThrow(/not a valid code/);
  });

  it('counts open holds against the total, and gives them back on release', () => {
    let c = holdCode(code({ total: 2 }), 'h1', 'u1', 100);
    c = holdCode(c, 'h2', 'u2', 100);
    expect(refusal(() => holdCode(c, 'h3', 'u3', 100))).toBe('code_exhausted');
    expect(holdCode(c, 'h1', 'u1', 100)).toBe(c); // idempotent
    c = released(c, 'h2')!;
    expect(holdCode(c, 'h3', 'u3', 100).holds.h3).toEqual({ customerId: 'u3', amount: 1, expiresAt: 100 });
  });

  it('limits uses per customer, single use meaning one, and gives a revert back once', () => {
    let c = committed(holdCode(code({ singleUse: true }), 'h1', 'u1', 100), 'h1')!;
    expect(c).toMatchObject({ used: 1, perCustomerUsed: { u1: 1 }, holds: {} });
    expect(refusal(() => holdCode(c, 'h2', 'u1', 100))).toBe('code_used_by_customer');
    c = reverted(c, 'h1')!;
    expect(c).toMatchObject({ used: 0, perCustomerUsed: {}, committed: {} });
    expect(reverted(c, 'h1')).toBeNull();
    expect(refusal(() => holdCode({ ...c, active: false }, 'h2', 'u1', 100))).toBe('code_inactive');
    const twice = holdCode(holdCode(code({ perCustomer: 2 }), 'a', 'u1', 1), 'b', 'u1', 1);
    expect(refusal(() => holdCode(twice, 'c', 'u1', 1))).toBe('code_used_by_customer');
  });
});

describe('campaigns', () => {
  it('holds amounts up to the total and per customer, and is exhausted when settled at the total', () => {
    let c = holdBudget(campaign('amount', 1000, 600), 'h1', 'u1', 500, 100);
    expect(refusal(() => holdBudget(c, 'h2', 'u1', 200, 100))).toBe('budget_exhausted'); // per customer
    c = holdBudget(c, 'h2', 'u2', 500, 100);
    expect(c).toMatchObject({ held: 1000, exhausted: false });
    expect(refusal(() => holdBudget(c, 'h3', 'u3', 1, 100))).toBe('budget_exhausted');
    c = settledCampaign(committed(c, 'h1')!);
    expect(c).toMatchObject({ used: 500, held: 500, exhausted: true });
    c = settledCampaign(released(c, 'h2')!);
    expect(c.exhausted).toBe(false);
  });

  it('counts one use per hold on a count budget and refuses a bad budget', () => {
    const c = holdBudget(campaign('count', 1), 'h1', 'u1', 999, 100);
    expect(c.held).toBe(1);
    expect(() => checkBudget({ kind: 'count', total: 0, perCustomer: null })).toThrow(/total/);
  });
});

describe('loyalty ledger', () => {
  const policy: TierPolicy = {
    tiers: [
      { name: 'standard', threshold: 0 },
      { name: 'silver', threshold: 100 },
      { name: 'gold', threshold: 500 },
    ],
    periodDays: 30,
    downgrade: 'one_step',
  };
  const ttl = 365 * DAY;

  it('computes points from the rules', () => {
    const rules = { pointsPerUnit: 1, minorPerUnit: 100, channelMultipliers: { app: 2 }, promotionBonus: { p1: 50 } };
    expect(pointsFor(rules, 12_345, 'web', [])).toBe(123);
    expect(pointsFor(rules, 12_345, 'app', ['p1', 'p1'])).toBe(296);
  });

  it('earns once per order and upgrades at once', () => {
    const made = earn(emptyLedger('u1', policy), { orderId: 'o1', points: 150, channel: 'web', at: 0 }, ttl, policy)!;
    expect(made.ledger).toMatchObject({ balance: 150, tier: 'silver', tierReviewAt: 30 * DAY });
    expect(made.tierChange).toMatchObject({ tier: 'silver', previousTier: 'standard', reason: 'upgrade', qualifyingPoints: 150 });
    expect(earn(made.ledger, { orderId: 'o1', points: 150, channel: 'web', at: 1 }, ttl, policy)).toBeNull();
  });

  it('holds, burns (oldest lots first) and reverts points', () => {
    let l = earn(emptyLedger('u1', null), { orderId: 'o1', points: 50, channel: null, at: 0 }, ttl, null)!.ledger;
    l = earn(l, { orderId: 'o2', points: 50, channel: null, at: 10 }, ttl, null)!.ledger;
    expect(refusal(() => holdPoints(l, 'h1', 101, 5))).toBe('insufficient_points');
    l = holdPoints(l, 'h1', 70, 5);
    expect(refusal(() => holdPoints(l, 'h2', 31, 5))).toBe('insufficient_points');
    const burnt = commitPoints(l, 'h1', 'web', 20)!;
    expect(burnt.entries[0]).toMatchObject({ kind: 'burn', points: -70, balance: 30, held: 0, lots: { 'earn:o1': 50, 'earn:o2': 20 } });
    const back = revertPoints(burnt.ledger, 'h1', 'web', 30, ttl)!;
    expect(back.ledger).toMatchObject({ balance: 100 });
    expect(back.ledger.lots.map((x) => [x.id, x.points])).toEqual([
      ['earn:o1', 50],
      ['earn:o2', 50],
    ]);
    expect(revertPoints(back.ledger, 'h1', 'web', 40, ttl)).toBeNull();
  });

  it('reverses a cancelled order’s earn, and a cancelled order never earns', () => {
    const l = earn(emptyLedger('u1', policy), { orderId: 'o1', points: 150, channel: null, at: 0 }, ttl, policy)!.ledger;
    const rev = reverseEarn(l, 'o1', null, 5)!;
    expect(rev.ledger.balance).toBe(0);
    expect(qualifyingPoints(rev.ledger, policy, 5)).toBe(0);
    const early = reverseEarn(emptyLedger('u2', null), 'o9', null, 0)!.ledger;
    expect(earn(early, { orderId: 'o9', points: 10, channel: null, at: 1 }, ttl, null)).toBeNull();
  });

  it('expires lots past their date, never below what holds need, and releases expired holds', () => {
    let l = earn(emptyLedger('u1', null), { orderId: 'o1', points: 40, channel: null, at: 0 }, 10, null)!.ledger;
    l = holdPoints(l, 'h1', 30, 5);
    const first = expireLots(l, 10)!;
    expect(first.entries[0]).toMatchObject({ kind: 'expire', points: -10, balance: 30 });
    l = releaseExpiredHolds(first.ledger, 5);
    expect(l.held).toBe(0);
    expect(expireLots(l, 11)!.ledger.balance).toBe(0);
  });

  it('adjusts by hand once per entry id, refusing to take more than is available', () => {
    const l = adjust(
      emptyLedger('u1', null),
      { entryId: 'adjust:1', points: 20, source: 'staff:a', reason: 'goodwill', at: 0 },
      ttl,
    )!.ledger;
    expect(adjust(l, { entryId: 'adjust:1', points: 20, source: 'staff:a', reason: 'goodwill', at: 0 }, ttl)).toBeNull();
    expect(refusal(() => adjust(l, { entryId: 'adjust:2', points: -21, source: 'staff:a', reason: 'x', at: 0 }, ttl))).toBe(
      'insufficient_points',
    );
  });

  it('downgrades at the end of the period one step or to the qualified tier', () => {
    const gold = earn(emptyLedger('u1', policy), { orderId: 'o1', points: 600, channel: null, at: 0 }, ttl, policy)!.ledger;
    expect(gold.tier).toBe('gold');
    expect(review(gold, policy, 10)).toBeNull();
    const oneStep = review(gold, policy, 31 * DAY)!;
    expect(oneStep.tierChange).toMatchObject({ tier: 'silver', previousTier: 'gold', reason: 'downgrade', qualifyingPoints: 0 });
    expect(review(gold, { ...policy, downgrade: 'to_qualified' }, 31 * DAY)!.ledger.tier).toBe('standard');
  });
});
