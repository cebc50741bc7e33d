import { randomUUID } from 'node:crypto';
import { ForbiddenError, UnauthorizedError, ValidationError } from '@omnimall/service-kit/errors';
import type { Principal } from '@omnimall/service-kit';
import { isResetToken, newResetToken, resetTokenHash, type PasswordReset } from '../domain/password-reset';
import { hashPassword, passwordProblem } from '../domain/passwords';
import { residencyVerdict } from '../domain/residency';
import { normaliseEmail } from '../domain/staff';
import { passwordResetRequested } from '../events/out/accounts';
import { customerByEmail, withinLimit } from './accounts';
import type { IdentityContext, RequestMeta } from './context';
import { customerNotFound } from './customers';
import { channelRule } from './residency';
import { revocationEvents, revocationOf } from './revocations';
import { revokeAllSessions } from './sessions';
import { checkPassword } from './throttle';

/**
 * Password change (signed in, the current password required, throttled like a login; every other
 * session revoked by id with the new hash, the caller's own kept: see revocations.ts) and reset (a request announces a single-use token on identity.password-reset for
 * the requesting channel to deliver, stored only as its hash; using it sets the password and closes
 * every session). A reset request answers alike whether the email belongs to anyone, and the token
 * is never logged.
 */
function assertStrong(password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new ValidationError('weak_password', problem, 'choose a password of 10 to 200 characters');
}

/** Changes the caller's password; how many other sessions were closed. */
export async function changePassword(
  ctx: IdentityContext,
  caller: Principal,
  input: { currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<number> {
  assertStrong(input.newPassword);
  const account = caller.kind === 'staff' ? await ctx.store.staff.get(caller.sub) : await ctx.store.customers.get(caller.sub);
  if (!account) throw customerNotFound(caller.sub);
  try {
    await checkPassword(ctx, account.email, input.currentPassword, account.passwordHash, meta.address);
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
    throw new ForbiddenError('current_password_wrong', 'the current password is wrong', 'send the password you signed in with');
  }
  const passwordHash = await hashPassword(input.newPassword, ctx.settings.scrypt);
  const now = new Date();
  const others = (await ctx.store.sessions.openIdsOf(caller.sub)).filter((sid) => sid !== caller.sid);
  const events = revocationEvents(
    others.map((sid) => revocationOf(ctx, caller, 'password_changed', sid, now)),
    meta,
  );
  if (caller.kind === 'staff') await ctx.store.staff.setPasswordHash(caller.sub, passwordHash, events);
  else await ctx.store.customers.transact(caller.sub, (c) => c && { set: { passwordHash, updatedAt: now }, events });
  await ctx.store.passwordResets.voidOf(caller.sub, now);
  return revokeAllSessions(ctx, caller.sub, 'password_changed', caller.sid);
}

/**
 * Starts a reset for the customer holding `email`, if any may have one: an active, unmerged profile
 * whose data the delivering channel may receive (the requesting channel, else the one they
 * registered on). Anything else ends silently, so the answer tells nobody whether the email exists.
 */
export async function requestPasswordReset(ctx: IdentityContext, email: string, meta: RequestMeta): Promise<void> {
  await withinLimit(ctx.store.limits.resetRequest, meta.address, 'reset_rate_limited', 'password-reset requests');
  const customer = await customerByEmail(ctx, normaliseEmail(email));
  if (!customer || customer.status !== 'active' || customer.mergedInto || !customer.passwordHash) return;
  const channel = meta.channel ?? customer.registeredChannel;
  if (channel && !residencyVerdict(channel, customer.dataRegion, await channelRule(ctx, channel)).allowed) {
    ctx.logger.warn('password reset not sent: the channel may not receive this customer data', { channel, customerId: customer._id });
    return;
  }
  const token = newResetToken();
  const now = new Date();
  const reset: PasswordReset = {
    _id: resetTokenHash(token),
    requestId: randomUUID(),
    subject: customer._id,
    channel,
    createdAt: now,
    expiresAt: new Date(now.getTime() + ctx.settings.passwordResetTtlMs),
    usedAt: null,
  };
  await ctx.store.passwordResets.create(reset, [
    passwordResetRequested(reset, customer.email, token, { correlationId: meta.correlationId, sourceChannel: channel }),
  ]);
}

const invalidToken = (): ValidationError =>
  new ValidationError(
    'reset_token_invalid',
    'this reset token is unknown, used or expired',
    'request a new password reset (POST /auth/password-reset)',
  );

/** Sets a new password with a reset token (once); closes every session of the customer. */
export async function resetPassword(ctx: IdentityContext, input: { token: string; newPassword: string }): Promise<void> {
  assertStrong(input.newPassword); // before the token is used, so a weak choice does not spend it
  if (!isResetToken(input.token)) throw invalidToken();
  const passwordHash = await hashPassword(input.newPassword, ctx.settings.scrypt);
  const now = new Date();
  const reset = await ctx.store.passwordResets.use(resetTokenHash(input.token), now);
  if (!reset) throw invalidToken();
  const revoked = revocationEvents([revocationOf(ctx, { sub: reset.subject, kind: 'customer' }, 'password_reset', null, now)]);
  const updated = await ctx.store.customers.transact(reset.subject, (c) =>
    c && c.status !== 'erased' && !c.mergedInto ? { set: { passwordHash, updatedAt: now }, events: revoked } : null,
  );
  if (!updated || updated.passwordHash !== passwordHash) throw invalidToken();
  await ctx.store.passwordResets.voidOf(reset.subject, now);
  await revokeAllSessions(ctx, reset.subject, 'password_reset');
}
