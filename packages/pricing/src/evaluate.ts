/**
 * The evaluator: the price of some lines for one customer on one channel at one instant. Pure and
 * deterministic: no clock (the instant is `at`), no I/O, integer minor units throughout.
 */
import { applyReward, totalOfEffect, type Effect } from './apply';
import { holds, type ConditionContext } from './conditions';
import { tiersOf, totalOf, unitsOf, type Tier } from './units';
import type { Adjustment, Evaluation, EvaluationInput, Level, NotApplied, NotAppliedReason, Promotion } from './types';

/** Effective from `startsAt` (inclusive) until `endsAt` (exclusive); null: not yet started or over. */
export function timeReason(p: Promotion, at: number): 'not_started' | 'ended' | null {
  if (at < p.startsAt) return 'not_started';
  if (p.endsAt !== null && at >= p.endsAt) return 'ended';
  return null;
}

/** Higher priority first, then id (code-unit order), so every caller orders alike. */
export function byPriority(a: Promotion, b: Promotion): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

interface State {
  input: EvaluationInput;
  tiers: Tier[][];
  adjustments: Adjustment[][];
  gifts: { sku: string; promotionId: string }[];
  notApplied: NotApplied[];
}

/**
 * Catalogue promotions first (they change the unit prices), then cart promotions on the discounted
 * lines; within a level by priority. `stop` ends its level once it applied; among `best_deal` promotions
 * only the largest discount applies; `stack` ones all apply.
 */
export function evaluate(input: EvaluationInput): Evaluation {
  const state: State = {
    input,
    tiers: input.lines.map((l) => tiersOf(l.quantity, l.unitPriceMinor)),
    adjustments: input.lines.map(() => []),
    gifts: [],
    notApplied: [],
  };
  for (const level of ['catalogue', 'cart'] as const) evaluateLevel(state, level);
  const lines = input.lines.map((l, i) => ({
    sku: l.sku,
    quantity: l.quantity,
    unitPriceMinor: l.unitPriceMinor,
    adjustments: state.adjustments[i],
    totalMinor: totalOf(state.tiers[i]),
  }));
  const subtotalMinor = input.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceMinor, 0);
  const totalMinor = lines.reduce((sum, l) => sum + l.totalMinor, 0);
  return { lines, subtotalMinor, discountMinor: subtotalMinor - totalMinor, totalMinor, gifts: state.gifts, notApplied: state.notApplied };
}

function evaluateLevel(state: State, level: Level): void {
  const { input } = state;
  const cart = {
    subtotalMinor: state.tiers.reduce((sum, t) => sum + totalOf(t), 0),
    itemCount: state.tiers.reduce((n, t) => n + unitsOf(t), 0),
  };
  const promotions = input.promotions.filter((p) => p.level === level).sort(byPriority);
  const decided = new Set<string>();
  let stoppedBy: string | null = null;
  const skip = (p: Promotion, reason: NotAppliedReason, detail?: string) => {
    decided.add(p.id);
    state.notApplied.push(detail === undefined ? { promotionId: p.id, reason } : { promotionId: p.id, reason, detail });
  };
  /** The lines the promotion may apply to, or why it may not apply at all. */
  const gate = (p: Promotion): number[] | NotAppliedReason => {
    const reason = timeReason(p, input.at) ?? (p.channels !== null && !p.channels.includes(input.channel.code) ? 'other_channel' : null);
    if (reason) return reason;
    if (p.code && codeOf(input, p) === null) return 'code_missing';
    const eligible = input.lines.flatMap((line, i) => {
      const ctx: ConditionContext = { cart, line, customer: input.customer, channel: input.channel };
      return holds(p.condition, ctx) ? [i] : [];
    });
    return eligible.length > 0 ? eligible : 'condition_false';
  };
  for (const p of promotions) {
    if (decided.has(p.id)) continue;
    const eligible = gate(p);
    if (typeof eligible === 'string') skip(p, eligible);
    else if (stoppedBy !== null) skip(p, 'stopped_by', stoppedBy);
    else if (p.stacking === 'best_deal') decideBestDeal(state, promotions, p, gate, skip, decided);
    else {
      const effect = applyReward(p, state.tiers, eligible);
      if (!gives(effect)) skip(p, 'nothing_to_discount');
      else {
        commit(state, p, effect);
        decided.add(p.id);
        if (p.stacking === 'stop') stoppedBy = p.id;
      }
    }
  }
}

/** The best-deal promotions of the level compete where the first of them comes: the largest discount wins, then priority, then id. */
function decideBestDeal(
  state: State,
  promotions: readonly Promotion[],
  first: Promotion,
  gate: (p: Promotion) => number[] | NotAppliedReason,
  skip: (p: Promotion, reason: NotAppliedReason, detail?: string) => void,
  decided: Set<string>,
): void {
  const tried: { p: Promotion; effect: Effect }[] = [];
  for (const p of promotions.slice(promotions.indexOf(first))) {
    if (p.stacking !== 'best_deal' || decided.has(p.id)) continue;
    const eligible = gate(p);
    if (typeof eligible === 'string') continue; // reported when the loop reaches it
    const effect = applyReward(p, state.tiers, eligible);
    if (gives(effect)) tried.push({ p, effect });
    else skip(p, 'nothing_to_discount');
  }
  if (tried.length === 0) return;
  // `promotions` is in priority order, so the first of the largest wins a tie.
  const winner = tried.reduce((best, t) => (totalOfEffect(t.effect) > totalOfEffect(best.effect) ? t : best));
  commit(state, winner.p, winner.effect);
  decided.add(winner.p.id);
  for (const t of tried) if (t !== winner) skip(t.p, 'lost_best_deal', winner.p.id);
}

function gives(effect: Effect): boolean {
  return effect.gift !== null || totalOfEffect(effect) > 0;
}

function commit(state: State, p: Promotion, effect: Effect): void {
  const code = p.code ? codeOf(state.input, p) : null;
  state.tiers = effect.tiers;
  effect.amounts.forEach((amountMinor, i) => {
    if (amountMinor > 0) state.adjustments[i].push({ promotionId: p.id, code, amountMinor });
  });
  if (effect.gift !== null) state.gifts.push({ sku: effect.gift, promotionId: p.id });
}

function codeOf(input: EvaluationInput, p: Promotion): string | null {
  return input.codes.find((c) => c.promotionId === p.id)?.code ?? null;
}
