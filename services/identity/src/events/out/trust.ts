import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import { PRODUCER, type Meta } from './customer';

/**
 * What every service's trust state is fed from (table topics the kit's trust reader reads whole):
 * identity's token keys → identity.signing-keys (full state per kid, compacted), and revocations of
 * access tokens before their expiry → identity.session-revoked (keyed by the subject, kept 24 h).
 * Callers commit them through the outbox with the write that causes them.
 */

/** Why a subject's tokens stop being valid before their expiry. */
export type RevocationReason = 'logout' | 'logout_all' | 'password_changed' | 'password_reset' | 'erased' | 'merged' | 'staff_disabled';

export interface Revocation {
  subject: string;
  kind: 'customer' | 'staff';
  /** One session (token `sid`); null: every token of the subject issued at or before `revokedAt`. */
  sessionId: string | null;
  reason: RevocationReason;
  revokedAt: Date;
  /** revokedAt + the access-token lifetime: no covered token outlives it. */
  notAfter: Date;
}

export function sessionRevoked(r: Revocation, meta: Meta = {}): OutgoingEvent<'identity.session-revoked'> {
  return newEvent(
    'identity.session-revoked',
    // The version is the instant: revocations of one subject only ever add up, their order is their time.
    { type: `session.revoked`, producer: PRODUCER, aggregateId: r.subject, aggregateVersion: r.revokedAt.getTime(), ...meta },
    {
      subject: r.subject,
      kind: r.kind,
      sessionId: r.sessionId,
      reason: r.reason,
      revokedAt: r.revokedAt.getTime(),
      notAfter: r.notAfter.getTime(),
    },
  );
}

/** A public key's state: `jwk` is the public JWK only (the caller never hands a private member). */
export function signingKeyPublished(
  key: { kid: string; jwk: string; status: 'active' | 'retired'; version: number; changedAt: Date },
  meta: Meta = {},
): OutgoingEvent<'identity.signing-keys'> {
  return newEvent(
    'identity.signing-keys',
    { type: `signing_key.${key.status}`, producer: PRODUCER, aggregateId: key.kid, aggregateVersion: key.version, ...meta },
    { kid: key.kid, jwk: key.jwk, status: key.status, changedAt: key.changedAt.getTime() },
  );
}
