/**
 * Login throttling: failures are counted per account (email) and per address (client IP) in a
 * sliding window; reaching the limit locks that key out for a while. Pure: the counters are stored
 * by the caller (store/login-attempts.ts) under a document lock.
 */
export interface ThrottlePolicy {
  /** Failures within `windowMs` that lock an account out. */
  accountMaxFailures: number;
  /** Failures within `windowMs` that lock an address out (higher: many people share an address). */
  addressMaxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  accountMaxFailures: 5,
  addressMaxFailures: 20,
  windowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
};

export interface AttemptState {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

export const fresh = (now: number): AttemptState => ({ failures: 0, windowStart: now, lockedUntil: 0 });

/** Milliseconds the key stays locked, or 0 when it may try. */
export function lockedFor(state: AttemptState | null, now = Date.now()): number {
  return state && state.lockedUntil > now ? state.lockedUntil - now : 0;
}

/** The counter after one more failure; locks the key when the failures reach `max`. */
export function afterFailure(state: AttemptState | null, max: number, policy: ThrottlePolicy, now = Date.now()): AttemptState {
  const base = !state || now - state.windowStart > policy.windowMs || (state.lockedUntil && state.lockedUntil <= now) ? fresh(now) : state;
  const failures = base.failures + 1;
  return { failures, windowStart: base.windowStart, lockedUntil: failures >= max ? now + policy.lockoutMs : 0 };
}
