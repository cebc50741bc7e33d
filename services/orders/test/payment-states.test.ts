import { PAYMENT_STATES, type PaymentState } from '../src/payments/port';
import { PAYMENT_TRANSITIONS, canMove, isFinal, isStep } from '../src/payments/states';

/** Every forward move the port's order allows, one step or more. */
const FORWARD: ReadonlyArray<[PaymentState, PaymentState]> = [
  ['pending', 'authorised'],
  ['pending', 'captured'],
  ['pending', 'refunded'],
  ['pending', 'failed'],
  ['pending', 'voided'],
  ['authorised', 'captured'],
  ['authorised', 'refunded'],
  ['authorised', 'failed'],
  ['authorised', 'voided'],
  ['captured', 'refunded'],
];

const allPairs = PAYMENT_STATES.flatMap((from) => PAYMENT_STATES.map((to) => [from, to] as [PaymentState, PaymentState]));
const isForward = (from: PaymentState, to: PaymentState) => FORWARD.some(([f, t]) => f === from && t === to);

describe('payment state table', () => {
  it('names every state, and each step leads to a known state', () => {
    expect(Object.keys(PAYMENT_TRANSITIONS).sort()).toEqual([...PAYMENT_STATES].sort());
    for (const targets of Object.values(PAYMENT_TRANSITIONS)) for (const t of targets) expect(PAYMENT_STATES).toContain(t);
  });

  it('allows exactly the forward moves (one step or several)', () => {
    for (const [from, to] of allPairs) expect([from, to, canMove(from, to)]).toEqual([from, to, isForward(from, to)]);
  });

  it('refuses the same state, backward moves and moves out of a terminal state', () => {
    for (const s of PAYMENT_STATES) expect(canMove(s, s)).toBe(false);
    expect(canMove('authorised', 'pending')).toBe(false);
    expect(canMove('captured', 'authorised')).toBe(false);
    expect(canMove('refunded', 'captured')).toBe(false);
    expect(canMove('captured', 'voided')).toBe(false);
    expect(canMove('captured', 'failed')).toBe(false);
    for (const terminal of ['refunded', 'voided', 'failed'] as const) {
      expect(isFinal(terminal)).toBe(true);
      for (const to of PAYMENT_STATES) expect(canMove(terminal, to)).toBe(false);
    }
    expect(['pending', 'authorised', 'captured'].map((s) => isFinal(s as PaymentState))).toEqual([false, false, false]);
  });

  it('has no cycle: no state can come back to itself', () => {
    for (const s of PAYMENT_STATES) expect(canMove(s, s)).toBe(false);
    for (const [from, to] of allPairs) if (canMove(from, to)) expect(canMove(to, from)).toBe(false);
  });

  it('single steps are the provider operations: capture from authorised, refund from captured, void before capture', () => {
    expect(isStep('authorised', 'captured')).toBe(true);
    expect(isStep('pending', 'captured')).toBe(false);
    expect(isStep('captured', 'refunded')).toBe(true);
    expect(isStep('authorised', 'refunded')).toBe(false);
    expect(isStep('pending', 'voided')).toBe(true);
    expect(isStep('authorised', 'voided')).toBe(true);
    expect(isStep('captured', 'voided')).toBe(false);
    for (const [from, to] of allPairs) if (isStep(from, to)) expect(canMove(from, to)).toBe(true);
  });
});
