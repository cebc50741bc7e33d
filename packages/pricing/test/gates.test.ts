/** Whether a promotion applies at all: its time window, channels, code and condition. */
import { adjustments, line, price, promo, reasons, T0 } from './fixtures';

const HOUR = 3_600_000;
const lines = [line('A', 1, 1000)];

describe('the time window', () => {
  const p = promo('p', { startsAt: T0, endsAt: T0 + HOUR });

  it('applies exactly at startsAt', () => {
    expect(price([p], lines, { at: T0 }).totalMinor).toBe(900);
  });

  it('does not apply one millisecond before startsAt', () => {
    const result = price([p], lines, { at: T0 - 1 });
    expect(result.totalMinor).toBe(1000);
    expect(reasons(result)).toEqual({ p: 'not_started' });
  });

  it('applies one millisecond before endsAt and not exactly at endsAt', () => {
    expect(price([p], lines, { at: T0 + HOUR - 1 }).totalMinor).toBe(900);
    const ended = price([p], lines, { at: T0 + HOUR });
    expect(ended.totalMinor).toBe(1000);
    expect(reasons(ended)).toEqual({ p: 'ended' });
  });

  it('never ends when endsAt is null', () => {
    expect(price([promo('p', { endsAt: null })], lines, { at: T0 + 10_000 * 24 * HOUR }).totalMinor).toBe(900);
  });

  it('prices an instant just after the start from `at`, however late the promotion was heard of', () => {
    // A channel that learnt of the promotion two hours late (after it even ended) still prices a sale
    // made 1 ms after the start with it: the evaluator reads `at`, never the clock.
    const clock = jest.spyOn(Date, 'now').mockReturnValue(T0 + 2 * HOUR);
    try {
      const result = price([p], lines, { at: T0 + 1 });
      expect(result.totalMinor).toBe(900);
      expect(result.notApplied).toEqual([]);
      expect(clock).not.toHaveBeenCalled();
    } finally {
      clock.mockRestore();
    }
  });
});

describe('channels', () => {
  it('applies on a listed channel and every channel when the list is null', () => {
    expect(price([promo('p', { channels: ['web', 'app'] })], lines).totalMinor).toBe(900);
    expect(price([promo('p', { channels: null })], lines, { channel: { code: 'pos-7', kind: 'store' } }).totalMinor).toBe(900);
  });

  it('does not apply on another channel', () => {
    const result = price([promo('p', { channels: ['app'] })], lines);
    expect(result.totalMinor).toBe(1000);
    expect(reasons(result)).toEqual({ p: 'other_channel' });
  });
});

describe('codes', () => {
  const coded = promo('p', { code: true });

  it('needs its code', () => {
    const result = price([coded], lines, { codes: [{ code: 'OTHER', promotionId: 'q' }] });
    expect(result.totalMinor).toBe(1000);
    expect(reasons(result)).toEqual({ p: 'code_missing' });
  });

  it('applies with its code and names it on the adjustment', () => {
    const result = price([coded], lines, { codes: [{ code: 'WINTER10', promotionId: 'p' }] });
    expect(result.lines[0].adjustments).toEqual([{ promotionId: 'p', code: 'WINTER10', amountMinor: 100 }]);
  });

  it('names no code on a promotion that needs none', () => {
    const result = price([promo('p')], lines, { codes: [{ code: 'WINTER10', promotionId: 'p' }] });
    expect(result.lines[0].adjustments).toEqual([{ promotionId: 'p', code: null, amountMinor: 100 }]);
  });
});

describe('conditions', () => {
  const cart = [line('A', 2, 1000, 'shoes'), line('B', 1, 500, 'socks')];
  const gold = { tier: 'gold', badges: ['vip', 'early'], segments: ['students'] };

  it('targets the lines a line predicate holds for', () => {
    const p = promo('p', { condition: { field: 'line.category', op: 'eq', value: 'shoes' } });
    expect(adjustments(price([p], cart))).toEqual([['p:200'], []]);
  });

  it('reads the cart: subtotal and item count', () => {
    const big = promo('big', { condition: { field: 'cart.subtotalMinor', op: 'gte', value: 2500 } });
    const many = promo('many', { condition: { field: 'cart.itemCount', op: 'gt', value: 3 } });
    const result = price([big, many], cart);
    expect(adjustments(result)).toEqual([['big:200'], ['big:50']]);
    expect(reasons(result)).toEqual({ many: 'condition_false' });
  });

  it('combines all, any and not', () => {
    const p = promo('p', {
      condition: {
        all: [
          {
            any: [
              { field: 'line.sku', op: 'in', value: ['B', 'C'] },
              { field: 'line.quantity', op: 'gte', value: 5 },
            ],
          },
          { not: { field: 'channel.kind', op: 'eq', value: 'store' } },
        ],
      },
    });
    expect(adjustments(price([p], cart))).toEqual([[], ['p:50']]);
    expect(reasons(price([p], cart, { channel: { code: 'pos', kind: 'store' } }))).toEqual({ p: 'condition_false' });
  });

  it('reads the customer: tier, badges and segments; an anonymous customer matches no customer predicate', () => {
    const tier = promo('tier', { condition: { field: 'customer.tier', op: 'in', value: ['gold', 'platinum'] } });
    const badge = promo('badge', { condition: { field: 'customer.badges', op: 'contains', value: 'vip' } });
    const segment = promo('segment', { condition: { field: 'customer.segments', op: 'in', value: ['seniors'] } });
    const known = price([tier, badge, segment], [line('A', 1, 1000)], { customer: gold });
    expect(adjustments(known)).toEqual([['badge:100', 'tier:90']]);
    expect(reasons(known)).toEqual({ segment: 'condition_false' });
    const anonymous = price([tier, badge], [line('A', 1, 1000)]);
    expect(reasons(anonymous)).toEqual({ tier: 'condition_false', badge: 'condition_false' });
  });

  it('reads the channel code', () => {
    const p = promo('p', { condition: { field: 'channel.code', op: 'ne', value: 'web' } });
    expect(reasons(price([p], cart))).toEqual({ p: 'condition_false' });
    expect(price([p], cart, { channel: { code: 'app', kind: 'online' } }).discountMinor).toBe(250);
  });
});
