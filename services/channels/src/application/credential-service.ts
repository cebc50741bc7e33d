/**
 * Channel API keys: issue (shown once, stored as SHA-256), revocation, checking a key, and their
 * publication. Each issue and revocation writes the key's new state on channels.channel-credentials
 * (the SHA-256 of the key, never the key) in the same write on the channel's document, and marks the
 * key with the state published (`published`); keys whose mark is behind their state (issued before
 * keys were published, or by an older version) are published once at start (publishCredentials).
 * A retirement publishes the channel's keys as channel_retired (channel-service.ts).
 */
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError, type Principal } from '@omnimall/service-kit';
import type { Channel, Credential } from '../domain/channel';
import { issueApiKey, keyIdOf, matchesHash } from '../domain/credentials';
import { credentialUpdates } from '../events/out/channels.channel-credentials';
import type { ChannelRepository, ChannelWrite } from '../store';
import { channelNotFound } from './channel-service';

export class CredentialService {
  constructor(private readonly channels: ChannelRepository) {}

  async issueCredential(code: string, by: Principal): Promise<{ keyId: string; apiKey: string }> {
    const key = issueApiKey();
    await this.channels.transact(code, (cur) => {
      if (!cur) throw channelNotFound(code);
      if (cur.state === 'retired')
        throw new ConflictError('channel_retired', `channel ${code} is retired`, 'retired channels get no credentials');
      const issued = { keyId: key.keyId, hash: key.hash, createdAt: new Date(), createdBy: by.sub, revokedAt: null };
      return this.withKeys(cur, [...cur.credentials, issued]);
    });
    return { keyId: key.keyId, apiKey: key.apiKey };
  }

  async revokeCredential(code: string, keyId: string): Promise<void> {
    await this.channels.transact(code, (cur) => {
      if (!cur) throw channelNotFound(code);
      if (!cur.credentials.some((c) => c.keyId === keyId && !c.revokedAt)) {
        throw new NotFoundError(
          'credential_not_found',
          `channel ${code} has no active key ${keyId}`,
          'GET /channels/{code} lists its keys',
        );
      }
      return this.withKeys(
        cur,
        cur.credentials.map((c) => (c.keyId === keyId ? { ...c, revokedAt: new Date() } : c)),
      );
    });
  }

  /** The channel's keys set to `credentials`, with each changed key's state published in the same write. */
  private withKeys(cur: Channel, credentials: Credential[]): ChannelWrite {
    const keys = credentialUpdates(cur._id, credentials, cur.state, new Date());
    return { set: { credentials: keys.credentials }, events: keys.events };
  }

  /**
   * Publishes the keys whose published state is behind their state (keys issued before keys were
   * published, or a write interrupted before its mark): once, at start. Returns how many keys.
   */
  async publishCredentials(): Promise<number> {
    let published = 0;
    for (const code of await this.channels.codesWithUnpublishedKeys()) {
      const { events } = await this.channels.transact(code, (cur) => {
        const write = cur && this.withKeys(cur, cur.credentials);
        return write?.events.length ? write : null;
      });
      published += events.length;
    }
    return published;
  }

  /**
   * The channel an API key belongs to, or the refusal the kit's requireChannel answers:
   * 401 channel_key_invalid (unknown or wrong key), channel_key_revoked, channel_retired; 403
   * channel_mismatch for a valid key of another channel.
   */
  async authenticate(code: string, apiKey: string): Promise<Channel> {
    const refused = new UnauthorizedError(
      'channel_key_invalid',
      'the channel code and API key do not match an active credential',
      'send x-channel-code and x-channel-key as issued by POST /channels/{code}/credentials',
    );
    const keyId = keyIdOf(apiKey);
    if (!keyId) throw refused;
    const doc = await this.channels.get(code);
    const cred = doc?.credentials.find((c) => c.keyId === keyId);
    if (!doc || !cred) {
      const owner = await this.channels.ownerOfKey(keyId);
      const ownerCred = owner?.credentials.find((c) => c.keyId === keyId);
      if (owner && ownerCred && owner._id !== code && matchesHash(apiKey, ownerCred.hash))
        throw new ForbiddenError(
          'channel_mismatch',
          `this API key belongs to another channel than ${code}`,
          'send the x-channel-code the key was issued for',
        );
      throw refused;
    }
    if (!matchesHash(apiKey, cred.hash)) throw refused;
    // A retired channel has no apps any more: its keys stop working without anyone revoking them.
    if (doc.state === 'retired')
      throw new UnauthorizedError('channel_retired', `channel ${code} is retired`, 'a retired channel’s API keys are no longer accepted');
    if (cred.revokedAt)
      throw new UnauthorizedError('channel_key_revoked', `API key ${keyId} was revoked`, 'ask the channel manager for a new key');
    return doc;
  }
}
