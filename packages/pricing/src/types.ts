/** The promotion definition and the evaluator's input and output. Amounts are integer minor units. */

export type Level = 'catalogue' | 'cart';
export type Stacking = 'stack' | 'best_deal' | 'stop';

export type Field =
  | 'cart.subtotalMinor'
  | 'cart.itemCount'
  | 'line.sku'
  | 'line.quantity'
  | 'line.category'
  | 'customer.tier'
  | 'customer.badges'
  | 'customer.segments'
  | 'channel.code'
  | 'channel.kind';

export type Op = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'contains';

/** One typed test; `in` takes a list, the other ops a single value of the field's type. */
export interface Predicate {
  field: Field;
  op: Op;
  value: string | number | string[] | number[];
}

export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | Predicate;

export type Reward =
  | { kind: 'percentage'; percent: number }
  | { kind: 'fixed_amount'; amountMinor: number }
  | { kind: 'fixed_price'; priceMinor: number }
  /** Per line (same SKU): of every `buy + get` units, the `get` cheapest are `percent` off (100 = free). */
  | { kind: 'buy_x_get_y'; buy: number; get: number; percent: number }
  | { kind: 'free_gift'; sku: string };

/**
 * Where a reward lands. `each_line`: every eligible line, `maxQuantity` capping the units of each line
 * (a fixed amount is taken off each unit); `across_lines`: the eligible lines together, `maxQuantity`
 * capping the units of all of them, dearest first (a fixed amount is taken once, split pro rata);
 * `once`: the one eligible line with the largest total, `maxQuantity` capping its units (a fixed amount
 * is taken once from it). `buy_x_get_y` always counts each line.
 */
export interface Allocation {
  kind: 'each_line' | 'across_lines' | 'once';
  maxQuantity?: number;
}

export interface Promotion {
  id: string;
  name: string;
  level: Level;
  /** Higher first; ties by id. */
  priority: number;
  stacking: Stacking;
  /** Epoch ms, inclusive. */
  startsAt: number;
  /** Epoch ms, exclusive; null: open-ended. */
  endsAt: number | null;
  /** Channel codes; null: every channel. */
  channels: string[] | null;
  condition: Condition | null;
  reward: Reward;
  allocation: Allocation;
  /** Applies only when the customer entered one of its codes. */
  code: boolean;
  campaignId: string | null;
}

export interface InputLine {
  sku: string;
  quantity: number;
  unitPriceMinor: number;
  category?: string;
}

export interface Customer {
  tier: string;
  badges: string[];
  segments: string[];
}

export interface Channel {
  code: string;
  kind: string;
}

/** A code the customer entered, already resolved by the caller to the promotion it unlocks. */
export interface EnteredCode {
  code: string;
  promotionId: string;
}

export interface EvaluationInput {
  promotions: Promotion[];
  lines: InputLine[];
  customer: Customer | null;
  channel: Channel;
  /** The instant priced, epoch ms: never the evaluator's clock. */
  at: number;
  codes: EnteredCode[];
}

export interface Adjustment {
  promotionId: string;
  code: string | null;
  amountMinor: number;
}

export interface PricedLine {
  sku: string;
  quantity: number;
  unitPriceMinor: number;
  adjustments: Adjustment[];
  totalMinor: number;
}

export type NotAppliedReason =
  'not_started' | 'ended' | 'other_channel' | 'condition_false' | 'code_missing' | 'stopped_by' | 'lost_best_deal' | 'nothing_to_discount';

export interface NotApplied {
  promotionId: string;
  reason: NotAppliedReason;
  /** The promotion that stopped it or won the best deal. */
  detail?: string;
}

export interface Gift {
  sku: string;
  promotionId: string;
}

export interface Evaluation {
  lines: PricedLine[];
  subtotalMinor: number;
  discountMinor: number;
  totalMinor: number;
  gifts: Gift[];
  notApplied: NotApplied[];
}

/** A problem in a definition: where (`reward.percent`, `condition.all[1].value`), what, and how to fix it. */
export interface Problem {
  path: string;
  code:
    | 'invalid'
    | 'unknown_field'
    | 'op_not_valid'
    | 'value_type'
    | 'percent_range'
    | 'negative_amount'
    | 'dates'
    | 'catalogue_cart_condition'
    | 'catalogue_reward'
    | 'empty_group';
  hint: string;
}
