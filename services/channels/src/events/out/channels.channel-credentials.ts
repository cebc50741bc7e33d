/**
 * A channel API key's state as channels.channel-credentials (compacted, keyed by keyId): the SHA-256
 * of the key, never the key. aggregateVersion orders a key's states (active 1, revoked 2,
 * channel_retired 3), so a reader keeps the furthest one.
 */
import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Credential } from '../../domain/channel';
import { CREDENTIAL_STATUS_VERSION, credentialStatus as credentialStatusOf, type CredentialStatus } from '../../domain/credentials';

export function credentialChanged(
  channel: string,
  cred: Pick<Credential, 'keyId' | 'hash'>,
  status: CredentialStatus,
  changedAt: Date,
  correlationId?: string,
): OutgoingEvent<'channels.channel-credentials'> {
  return newEvent(
    'channels.channel-credentials',
    {
      type: `channel_credential.${status}`,
      producer: 'channels',
      aggregateId: cred.keyId,
      aggregateVersion: CREDENTIAL_STATUS_VERSION[status],
      correlationId,
      sourceChannel: channel,
    },
    { keyId: cred.keyId, channel, keyHash: cred.hash, status, changedAt: changedAt.getTime() },
  );
}

/**
 * The keys of a channel in `state` whose published state is not their state: the credentials with
 * their markers brought up to date and one event per key that changed (none: nothing to write).
 */
export function credentialUpdates(
  channel: string,
  credentials: readonly Credential[],
  state: string,
  now: Date,
  correlationId?: string,
): { credentials: Credential[]; events: OutgoingEvent<'channels.channel-credentials'>[] } {
  const events: OutgoingEvent<'channels.channel-credentials'>[] = [];
  const next = credentials.map((c) => {
    const status = credentialStatusOf(c, state);
    if (c.published === status) return c;
    events.push(credentialChanged(channel, c, status, now, correlationId));
    return { ...c, published: status };
  });
  return { credentials: next, events };
}
