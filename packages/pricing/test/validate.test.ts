/** Definition checks: each problem with its path, code and a hint. */
import { validatePromotion, type Problem } from '../src';
import { promo } from './fixtures';

const codes = (problems: Problem[]) => problems.map((p) => `${p.path} ${p.code}`);

describe('validatePromotion', () => {
  it('finds nothing in a valid definition', () => {
    const p = promo('p', {
      condition: {
        all: [
          { field: 'cart.subtotalMinor', op: 'gte', value: 5000 },
          {
            any: [
              { field: 'customer.badges', op: 'contains', value: 'vip' },
              { field: 'line.category', op: 'in', value: ['a', 'b'] },
            ],
          },
          { not: { field: 'channel.kind', op: 'eq', value: 'store' } },
        ],
      },
      endsAt: promo('p').startsAt + 1,
      allocation: { kind: 'across_lines', maxQuantity: 3 },
    });
    expect(validatePromotion(p)).toEqual([]);
  });

  it('refuses an unknown field, with its path and the fields it may use', () => {
    const problems = validatePromotion(promo('p', { condition: { all: [{ field: 'cart.colour', op: 'eq', value: 'red' } as never] } }));
    expect(codes(problems)).toEqual(['condition.all[0].field unknown_field']);
    expect(problems[0].hint).toContain('cart.subtotalMinor');
  });

  it("refuses an op the field's type does not take", () => {
    const badges = validatePromotion(promo('p', { condition: { field: 'customer.badges', op: 'eq', value: 'vip' } }));
    expect(codes(badges)).toEqual(['condition.op op_not_valid']);
    expect(badges[0].hint).toBe('customer.badges (set) takes contains, in');
    expect(codes(validatePromotion(promo('p', { condition: { field: 'line.sku', op: 'gt', value: 'A' } })))).toEqual([
      'condition.op op_not_valid',
    ]);
  });

  it('refuses a value of the wrong type', () => {
    const wrong = [
      { field: 'cart.subtotalMinor', op: 'gte', value: '100' },
      { field: 'line.sku', op: 'in', value: 'A' },
      { field: 'line.sku', op: 'in', value: [] },
      { field: 'line.quantity', op: 'in', value: [1, 'two'] },
      { field: 'customer.tier', op: 'eq', value: 3 },
    ] as const;
    const problems = validatePromotion(promo('p', { condition: { any: wrong.map((c) => ({ ...c }) as never) } }));
    expect(codes(problems)).toEqual([0, 1, 2, 3, 4].map((i) => `condition.any[${i}].value value_type`));
  });

  it('refuses a percent outside 0..100', () => {
    expect(codes(validatePromotion(promo('p', { reward: { kind: 'percentage', percent: 120 } })))).toEqual([
      'reward.percent percent_range',
    ]);
    const bxgy = promo('p', { reward: { kind: 'buy_x_get_y', buy: 2, get: 1, percent: -1 } });
    expect(codes(validatePromotion(bxgy))).toEqual(['reward.percent percent_range']);
  });

  it('refuses negative amounts', () => {
    expect(codes(validatePromotion(promo('p', { reward: { kind: 'fixed_amount', amountMinor: -5 } })))).toEqual([
      'reward.amountMinor negative_amount',
    ]);
    expect(codes(validatePromotion(promo('p', { reward: { kind: 'fixed_price', priceMinor: -1 } })))).toEqual([
      'reward.priceMinor negative_amount',
    ]);
  });

  it('refuses endsAt at or before startsAt', () => {
    const p = promo('p');
    expect(codes(validatePromotion({ ...p, endsAt: p.startsAt }))).toEqual(['endsAt dates']);
    expect(codes(validatePromotion({ ...p, endsAt: p.startsAt - 1 }))).toEqual(['endsAt dates']);
  });

  it('refuses a catalogue promotion with a cart condition, a gift or a cart-wide allocation', () => {
    const cat = promo('p', {
      level: 'catalogue',
      condition: {
        all: [
          { field: 'line.sku', op: 'eq', value: 'A' },
          { field: 'cart.itemCount', op: 'gt', value: 2 },
        ],
      },
      reward: { kind: 'free_gift', sku: 'TOTE' },
    });
    expect(codes(validatePromotion(cat))).toEqual(['condition.all[1].field catalogue_cart_condition', 'reward.kind catalogue_reward']);
    const wide = promo('p', { level: 'catalogue', allocation: { kind: 'across_lines' } });
    expect(codes(validatePromotion(wide))).toEqual(['allocation.kind catalogue_reward']);
  });

  it('refuses empty all and any groups', () => {
    const p = promo('p', { condition: { not: { all: [{ any: [] }] } } });
    expect(codes(validatePromotion(p))).toEqual(['condition.not.all[0].any empty_group']);
    expect(codes(validatePromotion(promo('p', { condition: { all: [] } })))).toEqual(['condition.all empty_group']);
  });

  it('refuses a malformed definition, every problem at once', () => {
    const bad = {
      id: '',
      level: 'basket',
      priority: 'high',
      stacking: 'all',
      startsAt: 1.5,
      endsAt: 'never',
      channels: [1],
      code: 'yes',
      campaignId: 7,
    };
    expect(
      codes(
        validatePromotion({
          ...bad,
          name: 'x',
          condition: null,
          reward: { kind: 'cashback' },
          allocation: { kind: 'each_line', maxQuantity: 0 },
        }),
      ),
    ).toEqual([
      'id invalid',
      'level invalid',
      'priority invalid',
      'stacking invalid',
      'startsAt invalid',
      'endsAt invalid',
      'channels invalid',
      'code invalid',
      'campaignId invalid',
      'reward.kind invalid',
      'allocation.maxQuantity invalid',
    ]);
    expect(codes(validatePromotion('promotion'))).toEqual([' invalid']);
  });

  it('refuses a buy_x_get_y with no units to buy or get, or counted across lines', () => {
    const p = promo('p', { reward: { kind: 'buy_x_get_y', buy: 0, get: 1, percent: 100 }, allocation: { kind: 'once' } });
    expect(codes(validatePromotion(p))).toEqual(['reward.buy invalid', 'allocation.kind invalid']);
  });
});
