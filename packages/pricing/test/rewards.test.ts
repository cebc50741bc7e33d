/** Each reward on its own, rounded per unit, never below zero. */
import { adjustments, line, price, promo, reasons } from './fixtures';

describe('percentage', () => {
  it('takes the percentage of each unit, rounded down', () => {
    // 10 % of 105 is 10.5: each unit loses 10, the line 30 (not floor(31.5) = 31).
    const result = price([promo('p', { reward: { kind: 'percentage', percent: 10 } })], [line('A', 3, 105)]);
    expect(adjustments(result)).toEqual([['p:30']]);
    expect(result.totalMinor).toBe(285);
  });

  it('makes a line free at 100 % and gives nothing at 0 %', () => {
    expect(price([promo('p', { reward: { kind: 'percentage', percent: 100 } })], [line('A', 2, 999)]).totalMinor).toBe(0);
    const none = price([promo('p', { reward: { kind: 'percentage', percent: 0 } })], [line('A', 2, 999)]);
    expect(none.totalMinor).toBe(1998);
    expect(reasons(none)).toEqual({ p: 'nothing_to_discount' });
  });
});

describe('fixed_amount', () => {
  it('takes the amount off each unit, never more than the unit costs', () => {
    const p = promo('p', { reward: { kind: 'fixed_amount', amountMinor: 150 } });
    const result = price([p], [line('A', 2, 1000), line('B', 1, 100)]);
    expect(adjustments(result)).toEqual([['p:300'], ['p:100']]);
    expect(result.lines.map((l) => l.totalMinor)).toEqual([1700, 0]);
  });
});

describe('fixed_price', () => {
  it('brings each unit down to the price and leaves cheaper units alone', () => {
    const p = promo('p', { reward: { kind: 'fixed_price', priceMinor: 799 } });
    const result = price([p], [line('A', 2, 1000), line('B', 1, 500)]);
    expect(adjustments(result)).toEqual([['p:402'], []]);
    expect(result.lines.map((l) => l.totalMinor)).toEqual([1598, 500]);
  });
});

describe('buy_x_get_y', () => {
  const b2g1 = promo('p', { reward: { kind: 'buy_x_get_y', buy: 2, get: 1, percent: 100 } });

  it('gives floor(q / (buy + get)) * get units free per line', () => {
    const result = price([b2g1], [line('A', 7, 300), line('B', 3, 50)]);
    expect(adjustments(result)).toEqual([['p:600'], ['p:50']]);
  });

  it('gives nothing below buy + get units', () => {
    expect(reasons(price([b2g1], [line('A', 2, 300)]))).toEqual({ p: 'nothing_to_discount' });
  });

  it('takes a percentage off the given units, rounded down per unit', () => {
    const half = promo('p', { reward: { kind: 'buy_x_get_y', buy: 1, get: 1, percent: 50 } });
    expect(adjustments(price([half], [line('A', 4, 999)]))).toEqual([['p:998']]);
  });

  it('gives the cheapest units of the line', () => {
    const oneUnitHalfOff = promo('cat', {
      level: 'catalogue',
      reward: { kind: 'percentage', percent: 50 },
      allocation: { kind: 'each_line', maxQuantity: 1 },
    });
    const result = price([oneUnitHalfOff, b2g1], [line('A', 3, 1000)]);
    expect(adjustments(result)).toEqual([['cat:500', 'p:500']]);
    expect(result.totalMinor).toBe(2000);
  });

  it('caps the given units with maxQuantity', () => {
    const b1g1 = promo('p', {
      reward: { kind: 'buy_x_get_y', buy: 1, get: 1, percent: 100 },
      allocation: { kind: 'each_line', maxQuantity: 2 },
    });
    expect(adjustments(price([b1g1], [line('A', 10, 100)]))).toEqual([['p:200']]);
  });
});

describe('free_gift', () => {
  it('adds the gift and changes no price', () => {
    const p = promo('p', {
      reward: { kind: 'free_gift', sku: 'TOTE' },
      condition: { field: 'cart.subtotalMinor', op: 'gte', value: 1000 },
    });
    const result = price([p], [line('A', 1, 1200)]);
    expect(result.gifts).toEqual([{ sku: 'TOTE', promotionId: 'p' }]);
    expect(result.discountMinor).toBe(0);
    expect(result.notApplied).toEqual([]);
  });

  it('gives no gift when its condition is false', () => {
    const p = promo('p', {
      reward: { kind: 'free_gift', sku: 'TOTE' },
      condition: { field: 'cart.subtotalMinor', op: 'gte', value: 1000 },
    });
    const result = price([p], [line('A', 1, 999)]);
    expect(result.gifts).toEqual([]);
    expect(reasons(result)).toEqual({ p: 'condition_false' });
  });
});

describe('no negative line', () => {
  it('stops at zero when stacked discounts exceed the line', () => {
    const a = promo('a', { priority: 2, reward: { kind: 'fixed_amount', amountMinor: 800 } });
    const b = promo('b', { priority: 1, reward: { kind: 'fixed_amount', amountMinor: 800 } });
    const c = promo('c', { reward: { kind: 'percentage', percent: 50 } });
    const result = price([a, b, c], [line('A', 1, 1000)]);
    expect(adjustments(result)).toEqual([['a:800', 'b:200']]);
    expect(reasons(result)).toEqual({ c: 'nothing_to_discount' });
    expect(result).toMatchObject({ subtotalMinor: 1000, discountMinor: 1000, totalMinor: 0 });
  });

  it('keeps catalogue and cart discounts within the line', () => {
    const cat = promo('cat', { level: 'catalogue', reward: { kind: 'fixed_price', priceMinor: 100 } });
    const cart = promo('cart', { reward: { kind: 'fixed_amount', amountMinor: 1000 }, allocation: { kind: 'across_lines' } });
    const result = price([cat, cart], [line('A', 2, 1000), line('B', 1, 50)]);
    expect(result.lines.map((l) => l.totalMinor)).toEqual([0, 0]);
    expect(adjustments(result)).toEqual([['cat:1800', 'cart:200'], ['cart:50']]);
  });
});
