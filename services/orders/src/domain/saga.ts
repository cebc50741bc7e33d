/**
 * The checkout saga, orchestrated: reserve stock → hold usage (codes, budgets, points) → authorise
 * the payment (the pivot, last) → confirm → commit the reservation and the usage, capture. Pure:
 * each function takes the order and what happened, and returns the next order with the commands to
 * send with it (or null: nothing to do — a reply for a step no longer awaited changes nothing).
 * A failure before the pivot compensates what was done, in reverse, each compensation a step of
 * its own with attempts and a deadline; the order is cancelled once every one is done.
 */
import type { PaymentState } from './states';
import {
  copyOrder,
  moveState,
  referenceOf,
  needsUsage,
  type Change,
  type Command,
  type Failure,
  type Order,
  type PriceSnapshot,
  type Remediation,
  type SagaStep,
  type StepName,
} from './order';

export interface SagaTimings {
  /** How long a step waits for its reply (inventory, promotions) before the sweeper acts. */
  stepMs: number;
  /** How long the authorisation may take before the provider is asked what became of it. */
  paymentMs: number;
  /** Attempts of a step before it is given up (a compensation is never given up). */
  maxAttempts: number;
}

/** A holder's answer to a command (inventory.reservation, promotions.usage). */
export interface Reply {
  commandId: string | null;
  state: string;
  reason: string | null;
  hint: string | null;
}

/** The payment provider's answer (or `unavailable`: it timed out, could not be reached, or its breaker is open). */
export type PaymentAnswer = { state: PaymentState; providerRef: string | null; reason: string | null } | 'unavailable';

const COMPENSATION: Partial<Record<StepName, StepName>> = { reserve: 'release_stock', hold_usage: 'release_usage', authorise: 'void' };
const COMMANDS: Partial<Record<StepName, Omit<Command, 'commandId'>>> = {
  reserve: { to: 'inventory', action: 'reserve' },
  hold_usage: { to: 'promotions', action: 'hold' },
  commit_stock: { to: 'inventory', action: 'commit' },
  commit_usage: { to: 'promotions', action: 'commit' },
  release_stock: { to: 'inventory', action: 'release' },
  release_usage: { to: 'promotions', action: 'release' },
};
const PAYMENT_CALLS: Partial<Record<StepName, Change['payment']>> = { authorise: 'authorise', capture: 'capture', void: 'void' };

export const commandIdOf = (orderId: string, step: StepName, attempt: number): string => `${orderId}:${step}:${attempt}`;

const last = (o: Order, name: StepName): SagaStep | undefined => [...o.saga.steps].reverse().find((s) => s.name === name);

function deadlineOf(o: Order): number | null {
  const running = o.saga.steps.filter((s) => (s.state === 'running' || s.state === 'unknown') && s.deadline !== null);
  return running.length ? Math.min(...running.map((s) => s.deadline!)) : null;
}

function withDeadline(o: Order, now: number): Order {
  o.saga.deadline = deadlineOf(o);
  o.updatedAt = now;
  o.version += 1;
  return o;
}

/** Starts (or starts again: a new attempt) a step, with its command when it sends one. */
function start(o: Order, name: StepName, now: number, t: SagaTimings): { step: SagaStep; command: Command | null } {
  const before = last(o, name);
  const attempts = (before?.attempts ?? 0) + 1;
  const template = COMMANDS[name];
  const commandId = template || PAYMENT_CALLS[name] ? commandIdOf(o.id, name, attempts) : null;
  const step: SagaStep = {
    name,
    state: 'running',
    commandId,
    attempts,
    startedAt: before?.startedAt ?? now,
    deadline: now + (name === 'authorise' || name === 'capture' || name === 'void' ? t.paymentMs : t.stepMs),
    endedAt: null,
    detail: null,
  };
  if (before) Object.assign(before, step);
  else o.saga.steps.push(step);
  return { step: before ?? step, command: template && commandId ? ({ ...template, commandId } as Command) : null };
}

function end(step: SagaStep, state: 'done' | 'failed', detail: string | null, now: number): void {
  step.state = state;
  step.detail = detail;
  step.endedAt = now;
  step.deadline = null;
}

const change = (o: Order, now: number, commands: Command[], payment: Change['payment'] = null, report = false): Change => ({
  order: withDeadline(o, now),
  commands,
  payment,
  report,
});

/** The saga's first step: reserve the order's lines (the reservation id is the order id). */
export function begin(order: Order, now: number, t: SagaTimings): Change {
  const o = copyOrder(order);
  o.saga = { state: 'running', steps: [], deadline: null, failure: null };
  const { command } = start(o, 'reserve', now, t);
  return change(o, now, [command!]);
}

/** The step after `step` succeeded on the way to the pivot. */
function advance(o: Order, after: 'reserve' | 'hold_usage', now: number, t: SagaTimings): Change {
  if (after === 'reserve' && needsUsage(o)) {
    const { command } = start(o, 'hold_usage', now, t);
    return change(o, now, [command!]);
  }
  start(o, 'authorise', now, t);
  return change(o, now, [], 'authorise');
}

/** A failure on the way to the pivot: compensate every step done (or maybe done), in reverse. */
export function compensate(order: Order, failure: Omit<Failure, 'reference'>, now: number, t: SagaTimings): Change {
  const o = copyOrder(order);
  o.saga.state = 'compensating';
  o.saga.failure = { ...failure, reference: referenceOf(o.id) };
  const commands: Command[] = [];
  let payment: Change['payment'] = null;
  for (const s of [...o.saga.steps].reverse()) {
    const undo = COMPENSATION[s.name];
    if (!undo || s.state === 'failed') continue;
    // a step still running or of unknown outcome may have happened: undoing it is harmless either way
    if (s.state === 'running' || s.state === 'unknown')
      end(s, 'failed', s.state === 'unknown' ? 'gave up (unknown outcome)' : 'gave up', now);
    if (last(o, undo)) continue;
    const { command } = start(o, undo, now, t);
    if (command) commands.push(command);
    else payment = PAYMENT_CALLS[undo] ?? null;
  }
  return settleCompensation(o, now, commands, payment);
}

function settleCompensation(o: Order, now: number, commands: Command[], payment: Change['payment']): Change {
  const undoing = o.saga.steps.filter((s) => Object.values(COMPENSATION).includes(s.name));
  if (undoing.every((s) => s.state === 'done')) {
    o.saga.state = 'failed';
    moveState(o, 'order', 'cancelled', now, 'saga');
    if (o.payment.state === 'pending') moveState(o, 'payment', 'failed', now, 'saga');
    // the customer was never told of an order that did not confirm: nothing to report
    return change(o, now, commands, payment, false);
  }
  return change(o, now, commands, payment);
}

const failureOfRefusal = (step: 'reserve' | 'hold_usage', r: Reply): Omit<Failure, 'reference'> & { remediation: Remediation } =>
  step === 'reserve'
    ? {
        status: 409,
        code: r.reason ?? 'stock_refused',
        message: 'the stock for this order could not be reserved',
        hint: r.hint ?? 'pick another item or a smaller quantity, then check out again',
        remediation: 'pick_another_item',
      }
    : {
        status: 409,
        code: r.reason ?? 'usage_refused',
        message: 'a discount code, campaign or the loyalty points of this order could not be held',
        hint: r.hint ?? 'remove the code or redeem fewer points, then check out again',
        remediation: 'retry',
      };

/** A compensation's reply: released, expired, or refused because there was nothing (left) to release — each ends it. */
function onUndoReply(o: Order, step: SagaStep, r: Reply, now: number): Change {
  end(step, 'done', r.state + (r.reason ? `: ${r.reason}` : ''), now);
  return settleCompensation(o, now, [], null);
}

/**
 * The running step a reply answers: the one whose command it names, or an earlier attempt of it (a reply
 * slower than the step's deadline still settles the step instead of being dropped while the resend waits).
 */
function awaiting(o: Order, commandId: string | null): SagaStep | undefined {
  if (!commandId) return undefined;
  return o.saga.steps.find((s) => {
    if (s.state !== 'running' || s.commandId === null) return false;
    if (s.commandId === commandId) return true;
    const prefix = `${o.id}:${s.name}:`;
    const attempt = commandId.startsWith(prefix) ? Number(commandId.slice(prefix.length)) : NaN;
    return Number.isInteger(attempt) && attempt >= 1 && attempt < s.attempts;
  });
}

/** inventory.reservation answering a command of this order. */
export function onReservation(order: Order, r: Reply, now: number, t: SagaTimings): Change | null {
  const o = copyOrder(order);
  const step = awaiting(o, r.commandId);
  if (!step) return null;
  if (step.name === 'release_stock') return onUndoReply(o, step, r, now);
  if (step.name === 'commit_stock') {
    end(step, r.state === 'committed' ? 'done' : 'failed', r.state + (r.reason ? `: ${r.reason}` : ''), now);
    return finishIfCommitted(o, now);
  }
  if (step.name !== 'reserve' || o.saga.state !== 'running') return null;
  if (r.state === 'held') {
    end(step, 'done', 'held', now);
    return advance(o, 'reserve', now, t);
  }
  end(step, 'failed', `${r.state}: ${r.reason ?? ''}`, now);
  return compensate(o, failureOfRefusal('reserve', r), now, t);
}

/** promotions.usage answering a command of this order; `repriced` is the price with the codes the hold resolved. */
export function onUsage(order: Order, r: Reply, repriced: PriceSnapshot | null, now: number, t: SagaTimings): Change | null {
  const o = copyOrder(order);
  const step = awaiting(o, r.commandId);
  if (!step) return null;
  if (step.name === 'release_usage') return onUndoReply(o, step, r, now);
  if (step.name === 'commit_usage') {
    end(step, r.state === 'committed' ? 'done' : 'failed', r.state + (r.reason ? `: ${r.reason}` : ''), now);
    return finishIfCommitted(o, now);
  }
  if (step.name !== 'hold_usage' || o.saga.state !== 'running') return null;
  if (r.state === 'held') {
    end(step, 'done', 'held', now);
    if (repriced) {
      o.price = repriced;
      o.payment.amountMinor = repriced.totalMinor;
    }
    return advance(o, 'hold_usage', now, t);
  }
  end(step, 'failed', `${r.state}: ${r.reason ?? ''}`, now);
  return compensate(o, failureOfRefusal('hold_usage', r), now, t);
}

/** The authorisation's answer: the pivot. Authorised confirms the order and commits; a decline compensates. */
export function onAuthorisation(order: Order, a: PaymentAnswer, now: number, t: SagaTimings): Change | null {
  const o = copyOrder(order);
  const step = last(o, 'authorise');
  if (!step || (step.state !== 'running' && step.state !== 'unknown') || o.saga.state !== 'running') return null;
  if (a === 'unavailable') {
    // the provider may have authorised: the sweeper asks it at the deadline (a late approval is voided)
    step.state = 'unknown';
    step.detail = 'provider unavailable or timed out';
    step.deadline = now + t.paymentMs;
    return change(o, now, []);
  }
  if (a.providerRef) o.payment.providerRef = a.providerRef;
  if (a.state === 'authorised' || a.state === 'captured') {
    end(step, 'done', a.state, now);
    moveState(o, 'payment', 'authorised', now, 'provider');
    if (a.state === 'captured') moveState(o, 'payment', 'captured', now, 'provider');
    return confirm(o, now, t);
  }
  end(step, 'failed', `${a.state}: ${a.reason ?? ''}`, now);
  moveState(o, 'payment', 'failed', now, 'provider');
  return compensate(
    o,
    {
      status: 402,
      code: 'payment_declined',
      message: `the payment was declined${a.reason ? ` (${a.reason})` : ''}`,
      hint: 'use another payment method and check out again',
      remediation: 'use_another_payment_method',
      details: { reason: a.reason },
    },
    now,
    t,
  );
}

/** After the pivot: the order is confirmed (every channel is told), the holds are committed and the payment captured. */
function confirm(o: Order, now: number, t: SagaTimings): Change {
  o.saga.state = 'confirmed';
  moveState(o, 'order', 'confirmed', now, 'saga');
  const commands = [start(o, 'commit_stock', now, t).command!];
  if (last(o, 'hold_usage')?.state === 'done') commands.push(start(o, 'commit_usage', now, t).command!);
  const capture = o.payment.state === 'captured' ? null : (start(o, 'capture', now, t), 'capture' as const);
  return change(o, now, commands, capture, true);
}

function finishIfCommitted(o: Order, now: number): Change {
  const after = o.saga.steps.filter((s) => s.name === 'commit_stock' || s.name === 'commit_usage' || s.name === 'capture');
  if (o.saga.state === 'confirmed' && after.every((s) => s.state === 'done')) o.saga.state = 'done';
  return change(o, now, []);
}

/** The capture's answer: the payment captured (every channel told: the order is paid), or tried again by the sweeper. */
export function onCapture(order: Order, a: PaymentAnswer, now: number, t: SagaTimings): Change | null {
  const o = copyOrder(order);
  const step = last(o, 'capture');
  if (!step || step.state === 'done') return null;
  if (a === 'unavailable' || (a.state !== 'captured' && a.state !== 'refunded')) {
    step.state = 'running';
    step.detail = a === 'unavailable' ? 'provider unavailable' : `${a.state}: ${a.reason ?? ''}`;
    step.deadline = now + t.paymentMs;
    return change(o, now, []);
  }
  end(step, 'done', 'captured', now);
  moveState(o, 'payment', 'captured', now, 'provider');
  const c = finishIfCommitted(o, now);
  return { ...c, report: true };
}

/** The void's answer (a compensation): done when the provider no longer holds an authorisation. */
export function onVoid(order: Order, a: PaymentAnswer, now: number, t: SagaTimings): Change | null {
  const o = copyOrder(order);
  const step = last(o, 'void');
  if (!step || step.state === 'done') return null;
  if (a === 'unavailable') {
    step.detail = 'provider unavailable';
    step.deadline = now + t.paymentMs;
    return change(o, now, []);
  }
  end(step, 'done', a.state, now);
  if (a.state === 'voided') moveState(o, 'payment', 'voided', now, 'provider');
  return settleCompensation(o, now, [], null);
}

/** What the sweeper does with an order whose saga deadline passed. */
export type Overdue =
  | { kind: 'resend'; change: Change }
  | { kind: 'ask_provider'; step: 'authorise' | 'capture' | 'void' }
  | { kind: 'compensate'; change: Change }
  | { kind: 'none' };

/**
 * A saga past its deadline (the holder did not answer, the process crashed between two steps, the
 * provider timed out): a command step is sent again while it has attempts left, then given up and
 * compensated; a compensation is sent again until it is answered; a payment step's outcome is asked of
 * the provider first (`ask_provider`, answered with onProviderState).
 */
export function overdue(order: Order, now: number, t: SagaTimings): Overdue {
  if (order.saga.deadline === null || order.saga.deadline > now) return { kind: 'none' };
  const o = copyOrder(order);
  const late = o.saga.steps.filter((s) => (s.state === 'running' || s.state === 'unknown') && s.deadline !== null && s.deadline <= now);
  const pay = late.find((s) => s.name === 'authorise' || s.name === 'capture' || s.name === 'void');
  if (pay) return { kind: 'ask_provider', step: pay.name as 'authorise' | 'capture' | 'void' };
  const commands: Command[] = [];
  for (const s of late) {
    const undoing = Object.values(COMPENSATION).includes(s.name);
    const after = s.name === 'commit_stock' || s.name === 'commit_usage';
    if (!undoing && !after && s.attempts >= t.maxAttempts) {
      // unanswered, it may still have happened: compensate gives it up and undoes it
      return {
        kind: 'compensate',
        change: compensate(
          o,
          {
            status: 503,
            code: 'checkout_timed_out',
            message: `the ${s.name === 'reserve' ? 'stock' : 'discount'} service did not answer in time`,
            hint: 'check out again in a moment; nothing was charged',
            remediation: 'retry',
          },
          now,
          t,
        ),
      };
    }
    commands.push(start(o, s.name, now, t).command!);
  }
  return { kind: 'resend', change: change(o, now, commands) };
}

/**
 * The provider's view of a payment step past its deadline. Authorise: a payment step that timed out
 * (`unknown`) is given up and its late approval voided; one interrupted by a crash (still `running`)
 * goes on from what the provider says (authorised → confirm, never seen → authorise again).
 */
export function onProviderState(
  order: Order,
  step: 'authorise' | 'capture' | 'void',
  seen: { state: PaymentState; providerRef: string | null } | null | 'unavailable',
  now: number,
  t: SagaTimings,
): Change | null {
  if (step === 'capture') {
    if (seen === null) return retryPayment(order, 'capture', now, t);
    return onCapture(order, seen === 'unavailable' ? 'unavailable' : { ...seen, reason: null }, now, t);
  }
  if (step === 'void') {
    if (seen === null) return onVoid(order, { state: 'voided', providerRef: null, reason: 'never authorised' }, now, t);
    if (seen !== 'unavailable' && seen.state === 'authorised') return retryPayment(order, 'void', now, t);
    return onVoid(order, seen === 'unavailable' ? 'unavailable' : { ...seen, reason: null }, now, t);
  }
  const current = last(order, 'authorise');
  if (!current || (current.state !== 'running' && current.state !== 'unknown')) return null;
  if (seen === 'unavailable') {
    if (current.state === 'unknown' || current.attempts >= t.maxAttempts) return paymentTimedOut(order, now, t);
    return retryPayment(order, 'authorise', now, t);
  }
  if (current.state === 'unknown') return paymentTimedOut(order, now, t);
  if (seen === null) return current.attempts >= t.maxAttempts ? paymentTimedOut(order, now, t) : retryPayment(order, 'authorise', now, t);
  return onAuthorisation(order, { ...seen, reason: null }, now, t);
}

function paymentTimedOut(order: Order, now: number, t: SagaTimings): Change {
  const o = copyOrder(order);
  const step = last(o, 'authorise')!;
  step.state = 'unknown';
  return compensate(
    o,
    {
      status: 503,
      code: 'payment_timed_out',
      message: 'the payment provider did not answer in time',
      hint: 'check out again in a moment; any authorisation made meanwhile is voided',
      remediation: 'retry',
    },
    now,
    t,
  );
}

function retryPayment(order: Order, step: 'authorise' | 'capture' | 'void', now: number, t: SagaTimings): Change {
  const o = copyOrder(order);
  start(o, step, now, t);
  return change(o, now, [], step);
}

/** Whether the saga has ended one way or the other (nothing more will happen without a new request). */
export const settled = (o: Pick<Order, 'saga'>): boolean => o.saga.state === 'done' || o.saga.state === 'failed';

/** Whether the checkout's outcome is known to the customer: confirmed (even if commits still run) or failed. */
export const decided = (o: Pick<Order, 'saga'>): boolean => o.saga.state !== 'running';
