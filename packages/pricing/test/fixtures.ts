/** Builders for the evaluator's tests: a promotion with defaults, lines, and one call at an instant. */
import { evaluate, type Evaluation, type EvaluationInput, type InputLine, type Promotion } from '../src';

export const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

/** A cart promotion of 10 % on every line, effective from T0 on every channel, unless `over` says otherwise. */
export function promo(id: string, over: Partial<Promotion> = {}): Promotion {
  return {
    id,
    name: `promotion ${id}`,
    level: 'cart',
    priority: 0,
    stacking: 'stack',
    startsAt: T0,
    endsAt: null,
    channels: null,
    condition: null,
    reward: { kind: 'percentage', percent: 10 },
    allocation: { kind: 'each_line' },
    code: false,
    campaignId: null,
    ...over,
  };
}

export function line(sku: string, quantity: number, unitPriceMinor: number, category?: string): InputLine {
  return category === undefined ? { sku, quantity, unitPriceMinor } : { sku, quantity, unitPriceMinor, category };
}

/** Evaluates at T0 on the web channel for an anonymous customer, unless `extra` says otherwise. */
export function price(promotions: Promotion[], lines: InputLine[], extra: Partial<EvaluationInput> = {}): Evaluation {
  return evaluate({ promotions, lines, customer: null, channel: { code: 'web', kind: 'online' }, at: T0, codes: [], ...extra });
}

/** Each line's adjustments as `promotionId:amount`, in the order they were applied. */
export function adjustments(result: Evaluation): string[][] {
  return result.lines.map((l) => l.adjustments.map((a) => `${a.promotionId}:${a.amountMinor}`));
}

export function reasons(result: Evaluation): Record<string, string> {
  return Object.fromEntries(result.notApplied.map((n) => [n.promotionId, n.detail ? `${n.reason}:${n.detail}` : n.reason]));
}
