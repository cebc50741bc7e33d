import { randomBytes } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '@omnimall/service-kit/errors';
import type { TokenClaims } from '@omnimall/service-kit';
import {
  decideRefresh,
  formatRefreshToken,
  hashSecret,
  newSecret,
  parseRefreshToken,
  rotated,
  type Session,
} from '../domain/refresh-tokens';
import { assertMayAct } from '../domain/standing';
import type { IdentityContext } from './context';
import { announceRevocation, revocationOf } from './revocations';

/**
 * Sessions: one refresh-token family each, rotated on every refresh. Every read-modify-write of a
 * session runs under the document lock `sessions:<id>`, so two refreshes of one token cannot both
 * rotate it. Presenting an already-rotated token revokes the whole family.
 */
export interface Tokens {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  sessionId: string;
}

export const accountDisabled = (): UnauthorizedError =>
  new UnauthorizedError('account_disabled', 'this staff account was disabled', 'ask an admin to enable it again');

async function tokensFor(ctx: IdentityContext, principal: Omit<TokenClaims, 'sid'>, sid: string, secret: string): Promise<Tokens> {
  return {
    accessToken: await ctx.signer.sign({ ...principal, sid }, ctx.settings.accessTokenTtlSeconds),
    tokenType: 'Bearer',
    expiresIn: ctx.settings.accessTokenTtlSeconds,
    refreshToken: formatRefreshToken({ familyId: sid, secret }),
    sessionId: sid,
  };
}

/** Opens a refresh-token family (a session) and signs its first access token. */
export async function openSession(
  ctx: IdentityContext,
  principal: Omit<TokenClaims, 'sid'>,
  meta: { address: string | null },
): Promise<Tokens> {
  const sid = randomBytes(16).toString('base64url');
  const secret = newSecret();
  const now = new Date();
  await ctx.store.sessions.open({
    _id: sid,
    subject: principal.sub,
    kind: principal.kind,
    channel: principal.channel,
    currentHash: hashSecret(secret),
    usedHashes: [],
    revokedAt: null,
    revokedReason: null,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: new Date(now.getTime() + ctx.settings.refreshTokenTtlMs),
    address: meta.address,
  });
  return tokensFor(ctx, principal, sid, secret);
}

async function closeSession(ctx: IdentityContext, sid: string, reason: string): Promise<void> {
  await ctx.locks.run(`sessions:${sid}`, () => ctx.store.sessions.close(sid, reason, new Date()));
}

/**
 * Revokes every open session of an account ("log out everywhere", bans, merges, erasure, password
 * changes and resets, a staff account disabled), but the session `keep` (the caller's own) if named.
 */
export async function revokeAllSessions(ctx: IdentityContext, subject: string, reason: string, keep?: string): Promise<number> {
  const open = (await ctx.store.sessions.openIdsOf(subject)).filter((sid) => sid !== keep);
  await Promise.all(open.map((sid) => closeSession(ctx, sid, reason)));
  return open.length;
}

/** Whether a session is still open (identity's own routes refuse access tokens of closed sessions at once). */
export function sessionOpen(ctx: IdentityContext, sid: string): Promise<boolean> {
  return ctx.store.sessions.isOpen(sid);
}

async function principalFor(ctx: IdentityContext, session: Session): Promise<Omit<TokenClaims, 'sid'>> {
  if (session.kind === 'staff') {
    const staff = await ctx.store.staff.get(session.subject);
    if (!staff) throw new UnauthorizedError('account_gone', 'the staff account no longer exists', 'ask an admin');
    if (staff.disabled) throw accountDisabled();
    return { sub: staff._id, kind: 'staff', roles: [...staff.roles], channels: staff.channels, channel: session.channel };
  }
  const customer = await ctx.store.customers.get(session.subject);
  if (!customer) throw new UnauthorizedError('account_gone', 'the customer account no longer exists', 'register again');
  assertMayAct(customer);
  return { sub: customer._id, kind: 'customer', roles: [], channels: [], channel: session.channel };
}

/**
 * Why a session may not be refreshed through `channel` (the channel credential the request came
 * with), or null when it may. A customer session stays on the channel it was opened on: its refresh
 * token works only through that channel's credential (a copy taken to another channel's app is
 * refused, and the new access token keeps the session's channel). Staff sessions need no channel.
 */
export function refreshChannelRefusal(session: Pick<Session, 'kind' | 'channel'>, channel: string | null): Error | null {
  if (session.kind !== 'customer') return null;
  if (!channel)
    return new UnauthorizedError(
      'channel_credentials_missing',
      'a customer session is refreshed through its channel app',
      'send x-channel-code and x-channel-key of the channel the session was opened on',
    );
  if (!session.channel)
    return new UnauthorizedError('session_channel_unknown', 'this session is bound to no channel', 'log in again through the channel app');
  if (session.channel !== channel)
    return new ForbiddenError(
      'channel_mismatch',
      `this session belongs to channel ${session.channel}, not ${channel}`,
      'refresh through the channel the session was opened on',
      { channel, sessionChannel: session.channel },
    );
  return null;
}

/**
 * Rotates a refresh token, presented through `channel`'s credential (null: none). Presenting a
 * token that was already rotated revokes the whole family (someone holds a copy), and the
 * legitimate holder must log in again. A refusal for the channel rotates nothing.
 */
export async function refresh(ctx: IdentityContext, raw: string, channel: string | null): Promise<Tokens> {
  const parsed = parseRefreshToken(raw);
  if (!parsed) throw new UnauthorizedError('refresh_token_invalid', 'the refresh token is malformed', 'log in again');
  const sessions = ctx.store.sessions;
  const outcome = await ctx.locks.run(`sessions:${parsed.familyId}`, async () => {
    const family = await sessions.get(parsed.familyId);
    const decision = decideRefresh(family, parsed.secret);
    if (decision.outcome === 'reused') {
      await sessions.revoke(parsed.familyId, 'refresh_token_reused', new Date());
      ctx.logger.warn('refresh token reuse detected; session revoked', { sessionId: parsed.familyId, subject: family!.subject });
      return { decision };
    }
    if (decision.outcome !== 'rotate') return { decision };
    const refusal = refreshChannelRefusal(family!, channel);
    if (refusal) return { decision, refusal };
    const secret = newSecret();
    // Under the session's lock nothing else rotates it, so the compare on the current hash always matches.
    await sessions.rotate(parsed.familyId, family!.currentHash, { ...rotated(family!, hashSecret(secret)), at: new Date() });
    return { decision, secret, family: family! };
  });
  if ('refusal' in outcome && outcome.refusal) throw outcome.refusal;
  switch (outcome.decision.outcome) {
    case 'reused':
      throw new UnauthorizedError(
        'refresh_token_reused',
        'this refresh token was already used; the session has been revoked',
        'log in again; if you did not reuse the token, change your password',
      );
    case 'revoked':
      throw new UnauthorizedError('session_revoked', 'this session was closed', 'log in again');
    case 'expired':
      throw new UnauthorizedError('refresh_token_expired', 'this refresh token has expired', 'log in again');
    case 'unknown':
      throw new UnauthorizedError('refresh_token_invalid', 'the refresh token is not recognised', 'log in again');
  }
  const { family, secret } = outcome as { family: Session; secret: string };
  return tokensFor(ctx, await principalFor(ctx, family), family._id, secret);
}

/** Closes the session of a refresh token (this device only). Unknown tokens are ignored: logout is idempotent. */
export async function logout(ctx: IdentityContext, raw: string): Promise<void> {
  const parsed = parseRefreshToken(raw);
  if (!parsed) return;
  const session = await ctx.store.sessions.get(parsed.familyId);
  const d = decideRefresh(session, parsed.secret);
  if (d.outcome !== 'rotate' && d.outcome !== 'expired') return;
  // Announced first (identity.session-revoked): every service refuses the session's access tokens at once.
  await announceRevocation(ctx, revocationOf(ctx, { sub: session!.subject, kind: session!.kind }, 'logout', session!._id));
  await closeSession(ctx, parsed.familyId, 'logout');
}
