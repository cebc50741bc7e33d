import { createHmac } from 'node:crypto';
import { TooManyRequestsError, UnauthorizedError } from '@omnimall/service-kit/errors';
import {
  delayAfter,
  waitBefore,
  windowEnd,
  windowOf,
  type AttemptCount,
  type DelayRule,
  type ThrottleScope,
} from '../domain/login-throttle';
import { decoyHash, verifyPassword } from '../domain/passwords';
import type { IdentityContext } from './context';

/**
 * Password checks behind progressive delays (domain/login-throttle.ts). Each attempt is counted
 * before the password is checked, on the (account, address) pair and the address; only an attempt
 * those admit is counted on the account's global ceiling, so guesses from one address cannot raise
 * the delay the owner meets elsewhere faster than that address's own delays allow. A delayed attempt
 * answers 429 `login_delayed` with the seconds to wait (Retry-After) and checks no password. An
 * unknown email goes through the same counting and costs the same hashing time as a known one.
 *
 * Counters are keyed by keyed hashes (HMAC-SHA256 with ERASURE_SALT) of the email and the address,
 * never the values themselves: the collection holds no email or IP address, and the counters of an
 * erased account can still be found and removed by whoever holds the email and the key.
 */
interface Counter {
  key: string;
  rule: DelayRule;
  scope: ThrottleScope;
}

function delayed(ms: number, scope: ThrottleScope): TooManyRequestsError {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  const whose = scope === 'account' ? 'this account' : scope === 'address' ? 'this address' : 'this account from this address';
  return new TooManyRequestsError(
    'login_delayed',
    `too many login attempts for ${whose}; try again in ${seconds} s`,
    `wait ${seconds} s (Retry-After) before trying again, or reset the password`,
    { retryAfterSeconds: seconds, scope },
  );
}

const invalidCredentials = (): UnauthorizedError =>
  new UnauthorizedError(
    'invalid_credentials',
    'the email or the password is wrong',
    'check both and try again; repeated failures make each further attempt wait longer',
  );

/** The longest delay among the counters that refuse the attempt, or null when all admit it. */
function refusal(counters: Counter[], before: (AttemptCount | null)[], now: number): TooManyRequestsError | null {
  let worst: { ms: number; scope: ThrottleScope } | null = null;
  for (const [i, c] of counters.entries()) {
    if (waitBefore(before[i], c.rule, now) <= 0) continue;
    const ms = delayAfter((before[i]?.n ?? 0) + 1, c.rule);
    if (!worst || ms > worst.ms) worst = { ms, scope: c.scope };
  }
  return worst && delayed(worst.ms, worst.scope);
}

/** The keyed hash an email or address is counted under. */
function keyed(ctx: IdentityContext, what: 'email' | 'address', value: string): string {
  return createHmac('sha256', ctx.settings.erasureSalt).update(`login-throttle:${what}:${value}`).digest('base64url');
}

/** How the counters of one account's email begin (and, for counters written before keys were hashed, the plain ones). */
export function attemptKeyPrefixes(ctx: IdentityContext, email: string): string[] {
  const h = keyed(ctx, 'email', email);
  return [`pair:${h}|`, `account:${h}#`, `pair:${email}|`, `account:${email}#`];
}

/** What a caller does once the password was checked. */
export interface AdmittedAttempt {
  /** The password was right: forget the pair's attempts and take this one back from the address and account. */
  succeeded(): Promise<void>;
}

/**
 * Counts an attempt on `email` from `address` and admits it, or throws 429 login_delayed. The
 * Retry-After is the delay the count just taken earns, so a client that waits it is admitted.
 */
export async function admitAttempt(ctx: IdentityContext, email: string, address: string | null): Promise<AdmittedAttempt> {
  const policy = ctx.settings.throttle;
  const attempts = ctx.store.loginAttempts;
  const now = Date.now();
  const window = windowOf(now, policy);
  const expires = windowEnd(now, policy);
  const who = keyed(ctx, 'email', email);
  const where = address ? keyed(ctx, 'address', address) : '-';
  const first: Counter[] = [{ key: `pair:${who}|${where}`, rule: policy.pair, scope: 'account_address' }];
  if (address) first.push({ key: `address:${where}`, rule: policy.address, scope: 'address' });
  const account: Counter = { key: `account:${who}`, rule: policy.account, scope: 'account' };

  const refuse = (counters: Counter[], before: (AttemptCount | null)[]): void => {
    const refused = refusal(counters, before, now);
    if (refused) throw refused;
  };
  refuse(first, await Promise.all(first.map((c) => attempts.count(c.key, window, now, expires))));
  refuse([account], [await attempts.count(account.key, window, now, expires)]);
  return {
    async succeeded() {
      await Promise.all([attempts.clear(first[0].key, window), ...[...first.slice(1), account].map((c) => attempts.refund(c.key, window))]);
    },
  };
}

/**
 * Passes when `password` matches `stored` (the attempt then no longer counts against the address
 * and the account); otherwise 401 invalid_credentials, or 429 login_delayed before any check.
 */
export async function checkPassword(
  ctx: IdentityContext,
  email: string,
  password: string,
  stored: string | null | undefined,
  address: string | null,
): Promise<void> {
  const attempt = await admitAttempt(ctx, email, address);
  const ok = await verifyPassword(password, stored ?? (await decoyHash(ctx.settings.scrypt)));
  if (ok && stored) return attempt.succeeded();
  throw invalidCredentials();
}
