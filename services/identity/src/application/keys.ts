import type { Logger, PublicJwk } from '@omnimall/service-kit';
import { signingKeyPublished } from '../events/out/trust';
import type { PublishedKey, SigningKeyRepository } from '../store/signing-keys';

/**
 * Publication of identity's token keys on identity.signing-keys, from which every service's trust
 * state learns which keys to verify tokens with (no AUTH_PUBLIC_KEY needed elsewhere). At each start
 * the configured keys (the signing key and the extra public keys accepted during a rotation) are
 * compared with what was published before (`signing_keys`): a configured key not published active is
 * announced `active`; a key published active and no longer configured is announced `retired`, so its
 * tokens are refused everywhere from then on; nothing else is announced, so a restart with the same
 * keys publishes nothing. Each change goes through the outbox with its document's compare-and-set.
 */

/** Only the public members of a JWK, in a fixed order: what is published and compared. */
export function publicJwkJson(jwk: PublicJwk): string {
  const { kty, crv, x, y, kid, alg, use } = jwk;
  return JSON.stringify({ kty, crv, x, y, kid, alg, use });
}

/** What a start changes: per kid, the status to publish (configured keys first). */
export function keyChanges(
  published: readonly Pick<PublishedKey, '_id' | 'jwk' | 'status'>[],
  configured: readonly PublicJwk[],
): { kid: string; jwk: string; status: 'active' | 'retired' }[] {
  const before = new Map(published.map((k) => [k._id, k]));
  const wanted = new Map(configured.map((k) => [k.kid as string, publicJwkJson(k)]));
  const changes: { kid: string; jwk: string; status: 'active' | 'retired' }[] = [];
  for (const [kid, jwk] of wanted) {
    const was = before.get(kid);
    if (!was || was.status !== 'active' || was.jwk !== jwk) changes.push({ kid, jwk, status: 'active' });
  }
  for (const k of published) if (k.status === 'active' && !wanted.has(k._id)) changes.push({ kid: k._id, jwk: k.jwk, status: 'retired' });
  return changes;
}

/** Publishes the changes of the configured key set since the last start; the kids it announced, with their status. */
export async function publishSigningKeys(
  keys: SigningKeyRepository,
  configured: readonly PublicJwk[],
  logger: Pick<Logger, 'info'>,
  now = new Date(),
): Promise<{ kid: string; status: 'active' | 'retired' }[]> {
  const changes = keyChanges(await keys.all(), configured);
  const announced: { kid: string; status: 'active' | 'retired' }[] = [];
  for (const change of changes) {
    let wrote = false;
    await keys.transact(change.kid, (current) => {
      // Decided again on the document as it is now: another instance may have announced it meanwhile.
      wrote = !(current && current.status === change.status && current.jwk === change.jwk);
      if (!wrote) return null;
      const next = { jwk: change.jwk, status: change.status, version: (current?.version ?? 0) + 1, changedAt: now };
      return { set: next, events: [signingKeyPublished({ kid: change.kid, ...next })] };
    });
    if (!wrote) continue;
    announced.push({ kid: change.kid, status: change.status });
    logger.info('token key announced on identity.signing-keys', { kid: change.kid, status: change.status });
  }
  return announced;
}
