/** Where a reward lands: each line, across lines (pro rata, exact to the minor unit) or once; maxQuantity. */
import { proRata } from '../src';
import { adjustments, line, price, promo } from './fixtures';

const across = (amountMinor: number) => promo('p', { reward: { kind: 'fixed_amount', amountMinor }, allocation: { kind: 'across_lines' } });

describe('each_line', () => {
  it('caps the discounted units of each line with maxQuantity', () => {
    const p = promo('p', { allocation: { kind: 'each_line', maxQuantity: 2 } });
    expect(adjustments(price([p], [line('A', 5, 1000), line('B', 3, 500)]))).toEqual([['p:200'], ['p:100']]);
  });
});

describe('across_lines', () => {
  it('splits a fixed amount pro rata, the remainder to the largest line', () => {
    // 100 over 1000/2000/3000: 16.67, 33.33, 50 → 16, 33, 50 (99), the last minor unit to the 3000 line.
    const result = price([across(100)], [line('A', 1, 1000), line('B', 2, 1000), line('C', 3, 1000)]);
    expect(adjustments(result)).toEqual([['p:16'], ['p:33'], ['p:51']]);
    expect(result.discountMinor).toBe(100);
  });

  it('gives several remainder units to the largest lines first', () => {
    // 9 over 500/300/200: 4.5, 2.7, 1.8 → 4, 2, 1 (7); two units left: the 500 and the 300 lines.
    const result = price([across(9)], [line('A', 1, 200), line('B', 1, 500), line('C', 1, 300)]);
    expect(adjustments(result)).toEqual([['p:1'], ['p:5'], ['p:3']]);
  });

  it('breaks a tie between equal lines by their order in the cart', () => {
    expect(adjustments(price([across(10)], [line('A', 1, 1000), line('B', 1, 1000), line('C', 1, 1000)]))).toEqual([
      ['p:4'],
      ['p:3'],
      ['p:3'],
    ]);
  });

  it('never takes more than the lines are worth', () => {
    const result = price([across(1000)], [line('A', 1, 300), line('B', 2, 100)]);
    expect(adjustments(result)).toEqual([['p:300'], ['p:200']]);
    expect(result.totalMinor).toBe(0);
  });

  it('splits only over the eligible lines', () => {
    const p = promo('p', {
      reward: { kind: 'fixed_amount', amountMinor: 100 },
      allocation: { kind: 'across_lines' },
      condition: { field: 'line.category', op: 'eq', value: 'toys' },
    });
    expect(adjustments(price([p], [line('A', 1, 1000, 'toys'), line('B', 1, 5000, 'food'), line('C', 1, 3000, 'toys')]))).toEqual([
      ['p:25'],
      [],
      ['p:75'],
    ]);
  });

  it("spreads a line's part over its units, so a later reward sees each unit's price", () => {
    // 100 off 3 × 100: 33 a unit, the last minor unit from one of them → 67, 67, 66; buy 2 get 1 then gives the 66.
    const b2g1 = promo('b', { reward: { kind: 'buy_x_get_y', buy: 2, get: 1, percent: 100 } });
    const result = price([{ ...across(100), priority: 1 }, b2g1], [line('A', 3, 100)]);
    expect(adjustments(result)).toEqual([['p:100', 'b:66']]);
    expect(result.totalMinor).toBe(134);
  });

  it('discounts the dearest units of all lines up to maxQuantity', () => {
    const p = promo('p', { reward: { kind: 'percentage', percent: 50 }, allocation: { kind: 'across_lines', maxQuantity: 2 } });
    const result = price([p], [line('A', 2, 1000), line('B', 3, 500), line('C', 1, 2000)]);
    expect(adjustments(result)).toEqual([['p:500'], [], ['p:1000']]);
  });

  it('proRata sums exactly and gives no part more than its weight', () => {
    for (const [amount, weights] of [
      [1, [1, 1, 1]],
      [4, [3, 2]],
      [99_999, [30_000, 70_000, 11, 13]],
      [5, [0, 10, 0]],
    ] as const) {
      const parts = proRata(amount, weights);
      expect(parts.reduce((a, b) => a + b, 0)).toBe(amount);
      parts.forEach((part, i) => expect(part).toBeLessThanOrEqual(weights[i]));
    }
  });
});

describe('once', () => {
  it('applies to the one line with the largest total', () => {
    const p = promo('p', { reward: { kind: 'percentage', percent: 20 }, allocation: { kind: 'once' } });
    expect(adjustments(price([p], [line('A', 2, 1000), line('B', 1, 2500)]))).toEqual([[], ['p:500']]);
  });

  it('takes a fixed amount once, from the first of equal lines', () => {
    const p = promo('p', { reward: { kind: 'fixed_amount', amountMinor: 300 }, allocation: { kind: 'once' } });
    expect(adjustments(price([p], [line('A', 1, 1000), line('B', 2, 500)]))).toEqual([['p:300'], []]);
  });

  it('caps the units of that line with maxQuantity', () => {
    const p = promo('p', { reward: { kind: 'percentage', percent: 20 }, allocation: { kind: 'once', maxQuantity: 1 } });
    expect(adjustments(price([p], [line('A', 3, 1000)]))).toEqual([['p:200']]);
  });
});
