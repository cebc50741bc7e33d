/** The condition fields, their types and the ops each type admits; a condition evaluated for one line. */
import type { Channel, Condition, Customer, Field, Op, Predicate } from './types';

/** number: compared; string: equal or one of a list; set (a list of strings): contains one or shares one of a list. */
export type FieldType = 'number' | 'string' | 'set';

export const FIELDS: Readonly<Record<Field, FieldType>> = {
  'cart.subtotalMinor': 'number',
  'cart.itemCount': 'number',
  'line.sku': 'string',
  'line.quantity': 'number',
  'line.category': 'string',
  'customer.tier': 'string',
  'customer.badges': 'set',
  'customer.segments': 'set',
  'channel.code': 'string',
  'channel.kind': 'string',
};

export const OPS: Readonly<Record<FieldType, readonly Op[]>> = {
  number: ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in'],
  string: ['eq', 'ne', 'in'],
  set: ['contains', 'in'],
};

/** What a condition reads: the cart after catalogue promotions, one of its lines, who buys and where. */
export interface ConditionContext {
  cart: { subtotalMinor: number; itemCount: number };
  line: { sku: string; quantity: number; category?: string };
  customer: Customer | null;
  channel: Channel;
}

export function isPredicate(c: Condition): c is Predicate {
  return 'field' in c;
}

/** True when the condition holds; null holds always. A predicate on an absent customer or category is false. */
export function holds(condition: Condition | null, ctx: ConditionContext): boolean {
  if (condition === null) return true;
  if ('all' in condition) return condition.all.every((c) => holds(c, ctx));
  if ('any' in condition) return condition.any.some((c) => holds(c, ctx));
  if ('not' in condition) return !holds(condition.not, ctx);
  return test(condition, ctx);
}

function read(field: Field, ctx: ConditionContext): number | string | string[] | undefined {
  switch (field) {
    case 'cart.subtotalMinor':
      return ctx.cart.subtotalMinor;
    case 'cart.itemCount':
      return ctx.cart.itemCount;
    case 'line.sku':
      return ctx.line.sku;
    case 'line.quantity':
      return ctx.line.quantity;
    case 'line.category':
      return ctx.line.category;
    case 'customer.tier':
      return ctx.customer?.tier;
    case 'customer.badges':
      return ctx.customer?.badges;
    case 'customer.segments':
      return ctx.customer?.segments;
    case 'channel.code':
      return ctx.channel.code;
    case 'channel.kind':
      return ctx.channel.kind;
  }
}

function test(p: Predicate, ctx: ConditionContext): boolean {
  const actual = read(p.field, ctx);
  if (actual === undefined) return false;
  const list: unknown[] = Array.isArray(p.value) ? p.value : [p.value];
  if (Array.isArray(actual)) {
    if (p.op === 'contains') return actual.includes(p.value as string);
    return p.op === 'in' && list.some((v) => actual.includes(v as string));
  }
  switch (p.op) {
    case 'eq':
      return actual === p.value;
    case 'ne':
      return actual !== p.value;
    case 'in':
      return list.includes(actual);
    case 'contains':
      return false;
  }
  if (typeof actual !== 'number' || typeof p.value !== 'number') return false;
  if (p.op === 'gt') return actual > p.value;
  if (p.op === 'gte') return actual >= p.value;
  if (p.op === 'lt') return actual < p.value;
  return actual <= p.value;
}
