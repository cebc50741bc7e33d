import { controlTotals, instantOf, periodProblem, reconcile, type PartitionRange, type RangeRecord } from '../src/domain/reconcile';

const FROM = Date.UTC(2026, 11, 1);
const TO = Date.UTC(2026, 11, 2);
const period = { from: FROM, to: TO };

let nextIndex = 100;
const rec = (offset: number, over: Partial<RangeRecord> = {}): RangeRecord => ({
  index: nextIndex++,
  offset: String(offset),
  eventId: `ev-${offset}`,
  occurredAt: FROM + 1000,
  ts: FROM + 1000,
  channel: 'web',
  type: 'x.changed',
  ...over,
});

const range = (records: RangeRecord[], over: Partial<PartitionRange> = {}): PartitionRange => ({
  topic: 't.a',
  partition: 0,
  start: '10',
  end: '15',
  lastOffset: '20',
  records,
  ...over,
});

const run = (ranges: PartitionRange[], extra: Partial<Parameters<typeof reconcile>[0]> = {}) =>
  reconcile({ period, channels: [], ranges, copies: [], lateToleranceMs: 60_000, maxListed: 100, ...extra });

describe('reconciliation of a period', () => {
  it('every expected offset recorded once: ok, expected == recorded, nothing listed', () => {
    const r = run([range([10, 11, 12, 13, 14].map((o) => rec(o)))]);
    expect(r.topics).toEqual([expect.objectContaining({ topic: 't.a', expected: 5, recorded: 5, inFlight: 0, unexplained: 0 })]);
    expect(r.differences).toEqual([]);
    expect(r.unexplained).toBe(0);
    expect(r.inScope.map((x) => x.topic)).toEqual(['t.a', 't.a', 't.a', 't.a', 't.a']);
  });

  it('an absent offset below the audit’s position is unexplained (with its neighbours); beyond it, in flight', () => {
    const a = rec(10);
    const c = rec(12);
    const r = run([range([a, c, rec(13)], { lastOffset: '13' })]);
    expect(r.topics[0]).toMatchObject({ expected: 5, recorded: 3, inFlight: 1, unexplained: 1 });
    expect(r.unexplained).toBe(1);
    const gap = r.differences.find((d) => d.class === 'unexplained')!;
    expect(gap).toMatchObject({ offset: '11', explained: false, between: { before: a.index, after: c.index } });
    expect(r.differences.find((d) => d.class === 'in_flight')).toMatchObject({ offset: '14', explained: true });
  });

  it('a partition the audit never read is all in flight', () => {
    const r = run([range([], { lastOffset: undefined })]);
    expect(r.topics[0]).toMatchObject({ expected: 5, recorded: 0, inFlight: 5, unexplained: 0 });
    expect(r.differences.every((d) => d.class === 'in_flight' && d.explanation.includes('not read'))).toBe(true);
  });

  it('explains dead letters and retries by their source headers, duplicates by event id, and late events', () => {
    const records = [rec(10), rec(11, { eventId: 'ev-10' }), rec(12, { occurredAt: FROM - 3_600_000 }), rec(13), rec(14)];
    const r = run([range(records)], {
      copies: [
        {
          kind: 'dead_letter',
          topic: 't.a.dlq',
          index: 500,
          offset: '3',
          sourceTopic: 't.a',
          sourcePartition: 0,
          sourceOffset: '13',
          reason: 'poison',
        },
        {
          kind: 'retry',
          topic: 't.a.retry',
          index: 501,
          offset: '9',
          sourceTopic: 't.a',
          sourcePartition: 0,
          sourceOffset: '14',
          reason: null,
        },
        {
          kind: 'retry',
          topic: 't.a.retry',
          index: 502,
          offset: '10',
          sourceTopic: 't.a',
          sourcePartition: 1,
          sourceOffset: '14',
          reason: null,
        },
      ],
    });
    expect(r.topics[0]).toMatchObject({ expected: 5, recorded: 5, deadLettered: 1, retried: 1, duplicates: 1, late: 1, unexplained: 0 });
    const by = (c: string) => r.differences.filter((d) => d.class === c);
    expect(by('dead_lettered')).toEqual([
      expect.objectContaining({ offset: '13', explained: true, explanation: expect.stringContaining('poison') }),
    ]);
    expect(by('retried')).toEqual([expect.objectContaining({ offset: '14' })]);
    expect(by('duplicate')).toEqual([
      expect.objectContaining({ offset: '11', eventId: 'ev-10', explanation: expect.stringContaining('offset 10') }),
    ]);
    expect(by('late')).toEqual([expect.objectContaining({ offset: '12' })]);
    expect(r.unexplained).toBe(0);
  });

  it('a duplicate on another partition of the same topic is found too', () => {
    const r = run([
      range([rec(10, { eventId: 'same' })], { end: '11' }),
      range([rec(10, { eventId: 'same' })], { partition: 1, end: '11' }),
    ]);
    expect(r.topics[0]).toMatchObject({ duplicates: 1, recorded: 2, expected: 2 });
  });

  it('a late event within the tolerance is not late', () => {
    const r = run([range([rec(10, { occurredAt: FROM - 30_000 })], { end: '11' })]);
    expect(r.topics[0].late).toBe(0);
  });

  it('a channel filter counts the channels’ records plus every gap, and says so', () => {
    const r = run([range([rec(10), rec(11, { channel: 'app' }), rec(13, { channel: null }), rec(14)], { lastOffset: '14' })], {
      channels: ['web'],
    });
    expect(r.topics[0]).toMatchObject({ expected: 3, recorded: 2, unexplained: 1, inFlight: 0 });
    expect(r.inScope.map((x) => x.offset)).toEqual(['10', '14']);
    expect(r.method).toContain('Channel filter (web)');
  });

  it('lists at most maxListed differences and counts the rest', () => {
    const r = run([range([], { start: '0', end: '50', lastOffset: undefined })], { maxListed: 10 });
    expect(r.differences).toHaveLength(10);
    expect(r.unlisted).toBe(40);
    expect(r.topics[0].inFlight).toBe(50);
  });
});

describe('control totals', () => {
  const at = (topic: string, payload: unknown, over: Partial<RangeRecord> = {}) => ({ ...rec(1, over), topic, payload });
  const placed = (orderId: string, channel: string, currency: string, totalMinor: number, lines: unknown[] = []) =>
    at('orders.order-status', { orderId, channel, currency, status: 'placed', totalMinor, lines });

  it('counts distinct orders placed per channel and currency, their totals and line discounts', () => {
    const t = controlTotals([
      placed('o1', 'web', 'EUR', 1000, [{ sku: 's', quantity: 2, unitPriceMinor: 600, totalMinor: 1000 }]),
      placed('o1', 'web', 'EUR', 1000, [{ sku: 's', quantity: 2, unitPriceMinor: 600, totalMinor: 1000 }]),
      placed('o2', 'web', 'EUR', 250),
      placed('o3', 'web', 'GBP', 700),
      at('orders.order-status', { orderId: 'o4', channel: 'web', currency: 'EUR', status: 'paid', totalMinor: 9999 }),
      at('orders.order-status', undefined),
    ]);
    expect(t.orders).toEqual([
      { channel: 'web', currency: 'EUR', orders: 2, totalMinor: 1250, lineDiscountMinor: 200 },
      { channel: 'web', currency: 'GBP', orders: 1, totalMinor: 700, lineDiscountMinor: 0 },
    ]);
    expect(t.promotionDiscounts.byOrderLines).toEqual([
      { channel: 'web', currency: 'EUR', lineDiscountMinor: 200 },
      { channel: 'web', currency: 'GBP', lineDiscountMinor: 0 },
    ]);
    expect(t.withoutPayload).toBe(1);
  });

  it('adds committed usage net of reverted, and loyalty points earned and redeemed', () => {
    const t = controlTotals([
      at('promotions.usage', {
        channel: 'web',
        state: 'committed',
        campaigns: [{ campaignId: 'c', amountMinor: 300 }],
        codes: ['X'],
        points: 50,
      }),
      at('promotions.usage', {
        channel: 'web',
        state: 'reverted',
        campaigns: [{ campaignId: 'c', amountMinor: 100 }],
        codes: [],
        points: 0,
      }),
      at('promotions.usage', { channel: 'web', state: 'held', campaigns: [{ campaignId: 'c', amountMinor: 999 }] }),
      at('promotions.loyalty-entry', { channel: 'web', kind: 'earn', points: 120 }),
      at('promotions.loyalty-entry', { channel: 'web', kind: 'burn', points: -50 }),
      at('promotions.loyalty-entry', { channel: null, kind: 'expire', points: -5 }, { channel: null }),
    ]);
    expect(t.promotionDiscounts.byUsage).toEqual([
      { channel: 'web', committed: 1, reverted: 1, campaignAmountMinor: 200, codesUsed: 1, pointsBurned: 50 },
    ]);
    expect(t.loyalty).toEqual([
      expect.objectContaining({ channel: '(none)', expired: 5, entries: 1 }),
      expect.objectContaining({ channel: 'web', earned: 120, redeemed: 50, entries: 2 }),
    ]);
  });
});

describe('periods', () => {
  it('reads ISO and epoch instants and refuses nonsense', () => {
    expect(instantOf('2026-12-01T00:00:00Z')).toBe(FROM);
    expect(instantOf(FROM)).toBe(FROM);
    expect(instantOf(String(FROM))).toBe(FROM);
    expect(instantOf('yesterday')).toBeNull();
    expect(instantOf(-1)).toBeNull();
  });

  it('refuses an inverted, future or too long period with a code and a hint', () => {
    const now = TO + 1;
    expect(periodProblem(period, now)).toBeNull();
    expect(periodProblem({ from: TO, to: FROM }, now)).toMatchObject({ code: 'bad_period', hint: expect.any(String) });
    expect(periodProblem({ from: now + 10, to: now + 20 }, now)).toMatchObject({ code: 'period_in_future' });
    expect(periodProblem({ from: FROM, to: FROM + 32 * 86_400_000 }, FROM + 40 * 86_400_000)).toMatchObject({ code: 'period_too_long' });
  });
});
