import type { TrustRevocation, TrustState } from '@omnimall/service-kit';
import { sessionRevoked } from '../domain/streams';
import type { SessionHub } from './session-hub';

/**
 * Live streams end when identity revokes the login session they were opened in (logout, logout
 * everywhere, password change or reset; identity.session-revoked), as they do at the token's exp
 * and on a ban. Every instance's trust reader follows the topic and emits 'revoked'; this instance
 * then ends the streams of that customer whose token the trust state now refuses (the session named,
 * or every session issued up to the revocation), with the final event `session_revoked`.
 * Returns the function that stops listening (at stop).
 */
export function closeStreamsOnRevocation(trust: TrustState, hub: Pick<SessionHub, 'closeRevoked'>): () => void {
  const onRevoked = (r: TrustRevocation): void => {
    if (r.kind !== 'customer') return; // staff have no cart
    hub.closeRevoked(r.subject, (p) => trust.revocationOf(p) !== null, sessionRevoked(r.cause));
  };
  trust.on('revoked', onRevoked);
  return () => trust.off('revoked', onRevoked);
}
