/**
 * testAuth(): what a service test needs to act as identity and channels towards a running service's
 * trust state — tokens the service accepts, and real table-topic records (channel keys, session
 * revocations, staff changes, signing keys) produced on the local Kafka as the principal that owns
 * the topic, awaited until the service's trust reader applied them.
 *
 * Services started with `testConfig(name)` accept the test key pair, so `signer`'s tokens verify
 * there. `{ direct: true }` applies the records straight into the TrustStates named by `into`
 * instead (a documented fallback for unit tests with no Kafka; it skips the reader under test).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Partitioners, type Producer } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { topicSpec, type TopicName, type TopicValues } from '@omnimall/contracts';
import { newEnvelope } from './events/envelope';
import type { TrustState, TrustTopic } from './auth/trust';
import type { DeviceClaims, PublicJwk, TokenClaims, TokenSigner, TokenVerifier } from './auth/tokens';
import { apiKeyHash, testConfig, testKafka, testTokens, waitFor } from './testing';

/** Where a record must have arrived before a helper resolves: running services (their `auth.trust`) or trust states. */
export type TrustTarget = TrustState | { auth: { trust: TrustState } };
export interface Into {
  into?: TrustTarget | TrustTarget[];
}

type Payload<T extends TrustTopic> = Omit<TopicValues[T], 'envelope'>;

export interface TestAuth {
  /** Signs with the test key pair (accepted by services started with testConfig). */
  signer: TokenSigner;
  /** The test key's verifier (bound to no trust state). */
  verifier: TokenVerifier;
  /** An access token; defaults: a customer with no roles, bound to no channel. */
  token(p: Partial<TokenClaims> & { sub: string }, ttlSeconds?: number): Promise<string>;
  /** `Bearer <token>`. */
  bearer(p: Partial<TokenClaims> & { sub: string }, ttlSeconds?: number): Promise<string>;
  deviceToken(d: DeviceClaims, ttlSeconds?: number): Promise<string>;
  /** Publishes a fresh active API key of `channel`; returns the key to send as x-channel-key. */
  issueChannelKey(channel: string, opts?: Into): Promise<{ keyId: string; apiKey: string }>;
  /** Marks a key `revoked` or `channel_retired`. */
  changeChannelKey(
    key: { keyId: string; apiKey: string; channel: string },
    status: 'revoked' | 'channel_retired',
    opts?: Into,
  ): Promise<void>;
  /** A session revocation (`sessionId` null or absent: every token of the subject issued up to `revokedAt`, default now). */
  revokeSessions(
    r: {
      subject: string;
      kind?: 'customer' | 'staff';
      sessionId?: string | null;
      reason?: string;
      revokedAt?: number;
      ttlSeconds?: number;
    },
    opts?: Into,
  ): Promise<void>;
  /** A staff member disabled or re-enabled (now, unless `changedAt`). */
  setStaff(
    s: { staffId: string; disabled: boolean; roles?: string[]; channels?: string[]; changedAt?: number },
    opts?: Into,
  ): Promise<void>;
  /** A signing key published `active` or `retired`. */
  publishKey(jwk: PublicJwk, status: 'active' | 'retired', opts?: Into): Promise<void>;
  /** Any record of a trust topic (envelope added). */
  publish<T extends TrustTopic>(topic: T, key: string, payload: Payload<T>, opts?: Into): Promise<void>;
  /** Tombstones the signing keys and channel keys it published (compacted topics keep no test state), then disconnects. */
  close(): Promise<void>;
}

const trustOf = (t: TrustTarget): TrustState => ('auth' in t ? t.auth.trust : t);

export async function testAuth(options: { direct?: boolean } = {}): Promise<TestAuth> {
  const { signer, verifier } = await testTokens();
  const producers = new Map<string, Promise<Producer>>();
  const ids = new Map<string, Promise<number>>();
  const published: { topic: TrustTopic; key: string }[] = [];
  const config = testConfig('identity');
  const auth = config.schemaRegistryAuth;
  const registry = new SchemaRegistry({
    host: config.schemaRegistryUrl,
    ...(auth ? { auth: { username: auth.username, password: auth.password } } : {}),
  });

  const producerOf = (principal: string): Promise<Producer> => {
    let p = producers.get(principal);
    if (!p) {
      const producer = testKafka(principal).producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      p = producer.connect().then(() => producer);
      producers.set(principal, p);
    }
    return p;
  };
  const schemaId = (topic: TopicName): Promise<number> => {
    let id = ids.get(topic);
    if (!id) {
      const spec = topicSpec(topic);
      id = registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(spec.avro) }, { subject: `${topic}-value` }).then((r) => r.id);
      ids.set(topic, id);
    }
    return id;
  };

  async function publish<T extends TrustTopic>(topic: T, key: string, payload: Payload<T>, opts: Into = {}): Promise<void> {
    const spec = topicSpec(topic);
    const envelope = newEnvelope({ type: spec.valueType, producer: spec.producer, aggregateId: key, aggregateVersion: 1 });
    const value = { envelope, ...payload };
    const targets = opts.into === undefined ? [] : (Array.isArray(opts.into) ? opts.into : [opts.into]).map(trustOf);
    if (options.direct) {
      for (const t of targets) await t.apply(topic, key, value);
      return;
    }
    if (topic === 'identity.signing-keys' || topic === 'channels.channel-credentials') published.push({ topic, key });
    const bytes = await registry.encode(await schemaId(topic), value);
    await (await producerOf(spec.producer)).send({ topic, acks: -1, messages: [{ key, value: bytes }] });
    await waitFor(() => targets.every((t) => t.hasApplied(envelope.eventId)), `${topic} record ${key} applied by the trust reader`);
  }

  const token = (p: Partial<TokenClaims> & { sub: string }, ttlSeconds?: number): Promise<string> =>
    signer.sign({ kind: 'customer', roles: [], channels: [], channel: null, ...p }, ttlSeconds);

  return {
    signer,
    verifier,
    token,
    bearer: async (p, ttlSeconds) => `Bearer ${await token(p, ttlSeconds)}`,
    deviceToken: (d, ttlSeconds = 3600) => signer.signDevice(d, ttlSeconds),
    async issueChannelKey(channel, opts) {
      const keyId = `k_${randomUUID().slice(0, 12)}`;
      const apiKey = `${keyId}.${randomBytes(32).toString('base64url')}`;
      await publish(
        'channels.channel-credentials',
        keyId,
        { keyId, channel, keyHash: apiKeyHash(apiKey), status: 'active', changedAt: Date.now() },
        opts,
      );
      return { keyId, apiKey };
    },
    async changeChannelKey(k, status, opts) {
      const record = { keyId: k.keyId, channel: k.channel, keyHash: apiKeyHash(k.apiKey), status, changedAt: Date.now() };
      await publish('channels.channel-credentials', k.keyId, record, opts);
    },
    async revokeSessions(r, opts) {
      const revokedAt = r.revokedAt ?? Date.now();
      await publish(
        'identity.session-revoked',
        r.subject,
        {
          subject: r.subject,
          kind: r.kind ?? 'customer',
          sessionId: r.sessionId ?? null,
          reason: r.reason ?? (r.sessionId ? 'logout' : 'logout_all'),
          revokedAt,
          notAfter: revokedAt + (r.ttlSeconds ?? 900) * 1000,
        },
        opts,
      );
    },
    async setStaff(s, opts) {
      const record = {
        staffId: s.staffId,
        disabled: s.disabled,
        roles: s.roles ?? [],
        channels: s.channels ?? [],
        change: s.disabled ? 'disabled' : 'enabled',
        changedBy: 'test',
        changedAt: s.changedAt ?? Date.now(),
      };
      await publish('identity.staff-changed', s.staffId, record, opts);
    },
    async publishKey(jwk, status, opts) {
      const { kty, crv, x, y } = jwk;
      await publish(
        'identity.signing-keys',
        jwk.kid,
        { kid: jwk.kid, jwk: JSON.stringify({ kty, crv, x, y }), status, changedAt: Date.now() },
        opts,
      );
    },
    publish,
    async close() {
      for (const { topic, key } of published.splice(0))
        await (await producerOf(topicSpec(topic).producer)).send({ topic, acks: -1, messages: [{ key, value: null }] });
      const all = await Promise.allSettled([...producers.values()]);
      await Promise.allSettled(all.map((r) => (r.status === 'fulfilled' ? r.value.disconnect() : undefined)));
      producers.clear();
    },
  };
}
