/** Definition checks: every problem with its path and a hint, so an author can fix them all at once. */
import { FIELDS, OPS } from './conditions';
import type { Field, Problem } from './types';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const LINE_REWARDS = ['percentage', 'fixed_amount', 'fixed_price', 'buy_x_get_y'];

/** The problems of a definition (as received: anything), none when it can be evaluated. */
export function validatePromotion(p: unknown): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, code: Problem['code'], hint: string) => problems.push({ path, code, hint });
  if (!isObj(p)) {
    add('', 'invalid', 'a promotion is an object');
    return problems;
  }
  for (const key of ['id', 'name'] as const) if (typeof p[key] !== 'string' || p[key] === '') add(key, 'invalid', 'a non-empty string');
  if (p.level !== 'catalogue' && p.level !== 'cart') add('level', 'invalid', "'catalogue' or 'cart'");
  if (typeof p.priority !== 'number' || !Number.isFinite(p.priority)) add('priority', 'invalid', 'a number, higher first');
  if (!['stack', 'best_deal', 'stop'].includes(p.stacking as string)) add('stacking', 'invalid', "'stack', 'best_deal' or 'stop'");
  if (!isInt(p.startsAt)) add('startsAt', 'invalid', 'epoch milliseconds');
  if (p.endsAt !== null && !isInt(p.endsAt)) add('endsAt', 'invalid', 'epoch milliseconds or null (open-ended)');
  else if (isInt(p.startsAt) && isInt(p.endsAt) && p.endsAt <= p.startsAt) add('endsAt', 'dates', 'must be after startsAt');
  if (p.channels !== null && !isStrings(p.channels)) add('channels', 'invalid', 'a list of channel codes or null (every channel)');
  if (typeof p.code !== 'boolean') add('code', 'invalid', 'true when the promotion needs a code');
  if (p.campaignId !== null && typeof p.campaignId !== 'string') add('campaignId', 'invalid', 'a campaign id or null');
  const catalogue = p.level === 'catalogue';
  if (p.condition !== null) checkCondition(p.condition, 'condition', catalogue, add);
  checkReward(p.reward, catalogue, add);
  checkAllocation(p.allocation, p.reward, catalogue, add);
  return problems;
}

type Add = (path: string, code: Problem['code'], hint: string) => void;

function checkCondition(c: unknown, path: string, catalogue: boolean, add: Add): void {
  if (!isObj(c)) return add(path, 'invalid', 'a condition: {all}, {any}, {not} or {field, op, value}');
  const keys = Object.keys(c);
  for (const group of ['all', 'any'] as const) {
    if (!(group in c)) continue;
    if (keys.length !== 1) return add(path, 'invalid', `a group has only '${group}'`);
    const list = c[group];
    if (!Array.isArray(list)) return add(`${path}.${group}`, 'invalid', 'a list of conditions');
    if (list.length === 0) return add(`${path}.${group}`, 'empty_group', 'give at least one condition, or none at all (null)');
    list.forEach((child, i) => checkCondition(child, `${path}.${group}[${i}]`, catalogue, add));
    return;
  }
  if ('not' in c) {
    if (keys.length !== 1) return add(path, 'invalid', "a negation has only 'not'");
    return checkCondition(c.not, `${path}.not`, catalogue, add);
  }
  if (!('field' in c)) return add(path, 'invalid', 'a condition: {all}, {any}, {not} or {field, op, value}');
  const field = c.field as Field;
  const type = typeof field === 'string' && Object.hasOwn(FIELDS, field) ? FIELDS[field] : undefined;
  if (type === undefined) return add(`${path}.field`, 'unknown_field', `one of ${Object.keys(FIELDS).join(', ')}`);
  if (catalogue && field.startsWith('cart.')) {
    add(`${path}.field`, 'catalogue_cart_condition', 'a catalogue price cannot depend on the cart: make it a cart promotion');
  }
  if (!OPS[type].includes(c.op as never)) return add(`${path}.op`, 'op_not_valid', `${field} (${type}) takes ${OPS[type].join(', ')}`);
  const scalar = type === 'number' ? 'number' : 'string';
  const values: unknown[] = c.op === 'in' ? (Array.isArray(c.value) ? c.value : []) : [c.value];
  const fits = (v: unknown) => typeof v === scalar && (scalar === 'string' || Number.isFinite(v));
  if (values.length === 0 || !values.every(fits))
    add(`${path}.value`, 'value_type', c.op === 'in' ? `a non-empty list of ${scalar}s` : `a ${scalar}`);
}

function checkReward(r: unknown, catalogue: boolean, add: Add): void {
  if (!isObj(r)) return add('reward', 'invalid', 'a reward: {kind, ...}');
  const amount = (key: string) => {
    if (typeof r[key] !== 'number' || !Number.isSafeInteger(r[key])) add(`reward.${key}`, 'value_type', 'an integer in minor units');
    else if (r[key] < 0) add(`reward.${key}`, 'negative_amount', 'zero or more minor units');
  };
  const percent = () => {
    if (typeof r.percent !== 'number' || !Number.isFinite(r.percent)) add('reward.percent', 'value_type', 'a number');
    else if (r.percent < 0 || r.percent > 100) add('reward.percent', 'percent_range', 'between 0 and 100');
  };
  switch (r.kind) {
    case 'percentage':
      return percent();
    case 'fixed_amount':
      return amount('amountMinor');
    case 'fixed_price':
      return amount('priceMinor');
    case 'buy_x_get_y':
      for (const key of ['buy', 'get'])
        if (!isInt(r[key]) || (r[key] as number) < 1) add(`reward.${key}`, 'invalid', 'a whole number of units, 1 or more');
      return percent();
    case 'free_gift':
      if (typeof r.sku !== 'string' || r.sku === '') add('reward.sku', 'invalid', 'the SKU given');
      if (catalogue) add('reward.kind', 'catalogue_reward', `a catalogue promotion changes line prices: ${LINE_REWARDS.join(', ')}`);
      return;
    default:
      add('reward.kind', 'invalid', `one of ${LINE_REWARDS.join(', ')}, free_gift`);
  }
}

function checkAllocation(a: unknown, reward: unknown, catalogue: boolean, add: Add): void {
  if (!isObj(a)) return add('allocation', 'invalid', "{kind: 'each_line' | 'across_lines' | 'once', maxQuantity?}");
  if (!['each_line', 'across_lines', 'once'].includes(a.kind as string))
    add('allocation.kind', 'invalid', "'each_line', 'across_lines' or 'once'");
  else if (a.kind !== 'each_line' && catalogue)
    add('allocation.kind', 'catalogue_reward', 'a catalogue promotion prices each line: each_line');
  else if (a.kind !== 'each_line' && isObj(reward) && reward.kind === 'buy_x_get_y')
    add('allocation.kind', 'invalid', 'buy_x_get_y counts each line: each_line');
  if (a.maxQuantity !== undefined && (!isInt(a.maxQuantity) || a.maxQuantity < 1))
    add('allocation.maxQuantity', 'invalid', 'a whole number of units, 1 or more');
}
