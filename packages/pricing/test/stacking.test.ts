/** The order of promotions and how they combine: levels, priority, stack, stop and best deal. */
import { adjustments, line, price, promo, reasons } from './fixtures';

const one = [line('A', 1, 1000)];

describe('order', () => {
  it('applies higher priority first, each on what the previous left', () => {
    const a = promo('a', { priority: 1, reward: { kind: 'fixed_amount', amountMinor: 100 } });
    const b = promo('b', { priority: 2, reward: { kind: 'percentage', percent: 50 } });
    const result = price([a, b], one);
    expect(adjustments(result)).toEqual([['b:500', 'a:100']]);
    expect(result).toMatchObject({ subtotalMinor: 1000, discountMinor: 600, totalMinor: 400 });
  });

  it('orders equal priorities by id', () => {
    expect(adjustments(price([promo('y'), promo('x')], one))).toEqual([['x:100', 'y:90']]);
  });

  it('applies catalogue promotions first, then cart promotions on the discounted prices', () => {
    const cat = promo('cat', { level: 'catalogue', priority: 0, reward: { kind: 'percentage', percent: 20 } });
    const cart = promo('cart', { priority: 9 });
    const over = promo('over', { priority: 9, condition: { field: 'cart.subtotalMinor', op: 'gte', value: 1000 } });
    const result = price([cart, over, cat], one);
    expect(adjustments(result)).toEqual([['cat:200', 'cart:80']]);
    expect(reasons(result)).toEqual({ over: 'condition_false' });
    expect(result.totalMinor).toBe(720);
  });
});

describe('stop', () => {
  it('ends its level once it applied', () => {
    const first = promo('first', { priority: 5 });
    const stop = promo('stop', { priority: 3, stacking: 'stop' });
    const later = promo('later', { priority: 1 });
    const result = price([later, stop, first], one);
    expect(adjustments(result)).toEqual([['first:100', 'stop:90']]);
    expect(reasons(result)).toEqual({ later: 'stopped_by:stop' });
  });

  it('stops nothing when it does not apply', () => {
    const stop = promo('stop', { priority: 3, stacking: 'stop', condition: { field: 'line.sku', op: 'eq', value: 'Z' } });
    const result = price([stop, promo('later')], one);
    expect(adjustments(result)).toEqual([['later:100']]);
    expect(reasons(result)).toEqual({ stop: 'condition_false' });
  });

  it('stops only its own level', () => {
    const stop = promo('stop', { level: 'catalogue', priority: 1, stacking: 'stop' });
    const result = price([stop, promo('cat', { level: 'catalogue' }), promo('cart')], one);
    expect(adjustments(result)).toEqual([['stop:100', 'cart:90']]);
    expect(reasons(result)).toEqual({ cat: 'stopped_by:stop' });
  });
});

describe('best_deal', () => {
  it('applies only the largest discount among best-deal promotions; stacking ones still apply', () => {
    const small = promo('small', { priority: 9, stacking: 'best_deal' });
    const large = promo('large', { stacking: 'best_deal', reward: { kind: 'fixed_amount', amountMinor: 150 } });
    const blocked = promo('blocked', { stacking: 'best_deal', reward: { kind: 'percentage', percent: 90 }, channels: ['app'] });
    const stack = promo('stack', { priority: -1, reward: { kind: 'fixed_amount', amountMinor: 50 } });
    const result = price([small, large, blocked, stack], one);
    expect(adjustments(result)).toEqual([['large:150', 'stack:50']]);
    expect(reasons(result)).toEqual({ small: 'lost_best_deal:large', blocked: 'other_channel' });
  });

  it('breaks a tie by priority, then by id', () => {
    const low = promo('a', { stacking: 'best_deal', priority: 1 });
    const high = promo('b', { stacking: 'best_deal', priority: 2 });
    expect(reasons(price([low, high], one))).toEqual({ a: 'lost_best_deal:b' });
    const x = promo('x', { stacking: 'best_deal' });
    const y = promo('y', { stacking: 'best_deal' });
    expect(reasons(price([y, x], one))).toEqual({ y: 'lost_best_deal:x' });
  });

  it('lets no best-deal promotion that gives nothing win', () => {
    const zero = promo('zero', { stacking: 'best_deal', priority: 5, reward: { kind: 'percentage', percent: 0 } });
    const some = promo('some', { stacking: 'best_deal' });
    const result = price([zero, some], one);
    expect(adjustments(result)).toEqual([['some:100']]);
    expect(reasons(result)).toEqual({ zero: 'nothing_to_discount' });
  });
});
