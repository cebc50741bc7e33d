import type { OutgoingEvent } from '@omnimall/service-kit';
import { sessionRevoked, type Revocation, type RevocationReason } from '../events/out/trust';
import type { IdentityContext, RequestMeta } from './context';

/**
 * Revocations of access tokens before their expiry, announced on identity.session-revoked so every
 * service refuses the tokens at once (the kit's trust state), not only identity's own routes. A
 * revocation is committed through the outbox in the write of the subject's own document: the write
 * that causes it where there is one (erasure, merge, password change and reset, a staff account
 * disabled), else a write of just `updatedAt` (logout, logout everywhere). It is announced before
 * identity closes the sessions, so a crash in between leaves tokens refused everywhere and a
 * session to close again, never a closed session whose tokens other services still accept.
 *
 * Which tokens: a logout names its session (`sessionId`); a password change names each of the
 * caller's other open sessions, so the caller's own token keeps working; logout everywhere, a
 * reset, an erasure, a merge (the source) and a disabled staff account cover every token of the
 * subject issued at or before the instant (`sessionId` null; tokens carry `iat` in milliseconds, so
 * a login right after such a revocation gets a token it does not cover).
 */
export interface Subject {
  sub: string;
  kind: 'customer' | 'staff';
}

/** A revocation of `subject`'s tokens now; `notAfter` is when the last covered access token expires. */
export function revocationOf(
  ctx: IdentityContext,
  subject: Subject,
  reason: RevocationReason,
  sessionId: string | null,
  at = new Date(),
): Revocation {
  return {
    subject: subject.sub,
    kind: subject.kind,
    sessionId,
    reason,
    revokedAt: at,
    notAfter: new Date(at.getTime() + ctx.settings.accessTokenTtlSeconds * 1000),
  };
}

/** The events announcing revocations, for a write that commits them with its own change. */
export function revocationEvents(revocations: readonly Revocation[], meta: Pick<RequestMeta, 'correlationId'> = {}): OutgoingEvent[] {
  return revocations.map((r) => sessionRevoked(r, { correlationId: meta.correlationId }));
}

/**
 * Announces a revocation in a write of the subject's document (for flows that write nothing else);
 * a subject without a document (never signed in with identity) has nothing to announce.
 */
export async function announceRevocation(
  ctx: IdentityContext,
  r: Revocation,
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<void> {
  const change = { set: { updatedAt: r.revokedAt }, events: revocationEvents([r], meta) };
  if (r.kind === 'staff') await ctx.store.staff.transact(r.subject, (s) => s && change);
  else await ctx.store.customers.transact(r.subject, (c) => c && change);
}
