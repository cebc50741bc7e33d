import { TooManyRequestsError, UnauthorizedError } from '@omnimall/service-kit/errors';
import { afterFailure, lockedFor } from '../domain/login-throttle';
import { decoyHash, verifyPassword } from '../domain/passwords';
import type { IdentityContext } from './context';

/**
 * Password checks with login throttling per account (email) and per address: a locked key is
 * refused before the password is even checked, each failure is counted under the document lock
 * `login_attempts:<key>`, and an unknown email costs the same hashing time as a known one.
 */
function throttleKeys(ctx: IdentityContext, email: string, address: string | null): { key: string; max: number }[] {
  const keys = [{ key: `account:${email}`, max: ctx.settings.throttle.accountMaxFailures }];
  if (address) keys.push({ key: `address:${address}`, max: ctx.settings.throttle.addressMaxFailures });
  return keys;
}

function lockedOut(ms: number, key: string): TooManyRequestsError {
  const which = key.startsWith('account:') ? 'account' : 'address';
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return new TooManyRequestsError(
    'login_locked',
    `too many failed logins for this ${which}; try again in ${seconds} s`,
    `wait ${seconds} s (Retry-After) or reset the password`,
    {
      retryAfterSeconds: seconds,
      scope: which,
    },
  );
}

const invalidCredentials = (): UnauthorizedError =>
  new UnauthorizedError(
    'invalid_credentials',
    'the email or the password is wrong',
    'check both and try again; repeated failures lock the account for a while',
  );

async function assertNotLocked(ctx: IdentityContext, email: string, address: string | null): Promise<void> {
  for (const { key } of throttleKeys(ctx, email, address)) {
    const ms = lockedFor(await ctx.store.loginAttempts.get(key));
    if (ms > 0) throw lockedOut(ms, key);
  }
}

/** Counts a failure on each key; returns the lock-out this failure caused, if any. */
async function recordFailure(ctx: IdentityContext, email: string, address: string | null): Promise<TooManyRequestsError | null> {
  let locked: TooManyRequestsError | null = null;
  for (const { key, max } of throttleKeys(ctx, email, address)) {
    await ctx.locks.run(`login_attempts:${key}`, async () => {
      const next = afterFailure(await ctx.store.loginAttempts.get(key), max, ctx.settings.throttle);
      await ctx.store.loginAttempts.put(key, next);
      const ms = lockedFor(next);
      if (ms > 0 && !locked) locked = lockedOut(ms, key);
    });
  }
  return locked;
}

/**
 * Passes when `password` matches `stored` (and resets the account's failures); otherwise throws
 * 401 invalid_credentials, or 429 login_locked when this failure (or an earlier one) locked a key.
 */
export async function checkPassword(
  ctx: IdentityContext,
  email: string,
  password: string,
  stored: string | null | undefined,
  address: string | null,
): Promise<void> {
  await assertNotLocked(ctx, email, address);
  const ok = await verifyPassword(password, stored ?? (await decoyHash(ctx.settings.scrypt)));
  if (ok && stored) {
    const key = `account:${email}`;
    await ctx.locks.run(`login_attempts:${key}`, () => ctx.store.loginAttempts.clear(key));
    return;
  }
  throw (await recordFailure(ctx, email, address)) ?? invalidCredentials();
}
