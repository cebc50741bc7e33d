/**
 * Login throttling by progressive delay, never a hard lock: every password attempt is counted (an
 * atomic increment, see store/login-attempts.ts) on three keys within a fixed window, and an attempt
 * is admitted only when the time since the key's previous attempt covers the delay its count earns.
 *
 *  - per (account, address): a few free attempts, then a delay doubling with each attempt. Guessing
 *    from one address slows down that address only, so nobody can lock an account's owner out.
 *  - per address, across accounts: more free attempts (many people share an address).
 *  - per account, across addresses: the global ceiling against guessing from many addresses; high,
 *    so the owner's correct password from a new address still passes failures from elsewhere.
 *
 * Because the count is taken before the password is checked and the previous count comes back from
 * the same increment, parallel attempts are ordered by the database: once the free attempts are
 * used, a second attempt in the same instant sees the first one's time and waits. Pure.
 */
export interface DelayRule {
  /** Attempts in a window that pass without delay. */
  free: number;
  /** The delay after the first attempt beyond `free`; each further attempt doubles it. */
  baseMs: number;
  /** The longest delay (bounded: a delay, never a lock). */
  maxMs: number;
}

export interface ThrottlePolicy {
  /** Counts start again in each window of this length. */
  windowMs: number;
  pair: DelayRule;
  address: DelayRule;
  account: DelayRule;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  windowMs: 15 * 60_000,
  pair: { free: 5, baseMs: 1_000, maxMs: 5 * 60_000 },
  address: { free: 30, baseMs: 1_000, maxMs: 5 * 60_000 },
  account: { free: 200, baseMs: 1_000, maxMs: 60_000 },
};

/** A key's count before an attempt: how many attempts it had in the window and when the last one was (epoch ms). */
export interface AttemptCount {
  n: number;
  last: number;
}

/** Which counter refused an attempt. */
export type ThrottleScope = 'account_address' | 'address' | 'account';

/** The delay an attempt must keep after the previous one, once `n` attempts were counted. */
export function delayAfter(n: number, rule: DelayRule): number {
  if (n < rule.free) return 0;
  return Math.min(rule.maxMs, rule.baseMs * 2 ** Math.min(n - rule.free, 30));
}

/** Milliseconds an attempt counted after `before` still has to wait (0: admitted). */
export function waitBefore(before: AttemptCount | null, rule: DelayRule, now = Date.now()): number {
  const delay = before ? delayAfter(before.n, rule) : 0;
  // No delay earned: admitted even when a parallel attempt stamped a later instant than `now`.
  return delay && Math.max(0, before!.last + delay - now);
}

/** The window an instant falls in (part of each counter's key, so a new window starts from zero). */
export const windowOf = (now: number, policy: ThrottlePolicy): number => Math.floor(now / policy.windowMs);

/** When a counter of the window containing `now` may be dropped. */
export const windowEnd = (now: number, policy: ThrottlePolicy): Date => new Date((windowOf(now, policy) + 1) * policy.windowMs);
