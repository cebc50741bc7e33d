/**
 * Helpers for tests that run against the real stack (Kafka, FerretDB, schema registry started by
 * deploy/local/stack.sh). Nothing here mocks a server: it only isolates tests from one another
 * (unique database names, unique consumer groups) and awaits conditions instead of sleeping.
 * On the local stack's secured Kafka, a test talks as the principal it stands for: a service started
 * with `testConfig(name)` as that service (the admin for a name with no principal, e.g. a simulator),
 * raw clients of `testKafka()` as the admin, `testKafka(principal)` as any local principal
 * (kafka/local-credentials.ts); KAFKA_SASL_* in the environment override both.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { loadPlatformConfig, type PlatformConfig } from './service/config';
import { ADMIN_PRINCIPAL, localKafkaEnv } from './kafka/local-credentials';

export { localKafkaEnv };
import { kafkaConnectionOptions, securityFromEnv } from './kafka/security';
import { endOffsets, OwnPositions } from './kafka/topics';
import { consumerConfig } from './events/consumer/settings';
import type { GroupSettings } from './service/define-service';
import { TokenSigner, TokenVerifier, type Principal } from './auth/tokens';
import type { ChannelChanged } from '@omnimall/contracts';
import type { LookupAddress } from 'node:dns';
import { systemResolver } from './http/webhook-post';
export { testAuth, type TestAuth } from './testing-auth';
export { TcpProxy } from './testing-proxy';

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().slice(0, 8)}`;
}

let keyPair: { publicKey: string; privateKey: string } | undefined;

/** One ES256 key pair per test process (PEM): what testTokens signs with and testConfig's services accept. */
export function testKeyPair(): { publicKey: string; privateKey: string } {
  keyPair ??= generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return keyPair;
}

/**
 * Platform config for a test: its own database, an ephemeral HTTP port, the service's Kafka
 * principal, and the test key pair among its token keys (its public key accepted by the service's
 * `auth.verifier`; identity also gets the private key, so its `auth.signer` signs with it).
 */
export function testConfig(service: string, overrides: Partial<PlatformConfig> = {}): PlatformConfig {
  const { publicKey, privateKey } = testKeyPair();
  return loadPlatformConfig(
    service,
    0,
    { ...process.env, ...localKafkaEnv(service, process.env, { fallbackToAdmin: true }), LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
    {
      dbName: uniqueName(`test_${service.replace(/-/g, '_')}`),
      instanceId: uniqueName(service),
      tokenKeys: { publicKeys: [publicKey], ...(service === 'identity' ? { signingKey: privateKey } : {}) },
      ...overrides,
    },
  );
}

/**
 * Consumer-group settings for a service a test starts: groups of its own (so suites on separate
 * databases do not split partitions) that start at the end of each topic (not its whole history).
 */
export function testGroups(): GroupSettings {
  return { suffix: `.${uniqueName('t')}`, startAt: 'end' };
}

/** What `waitFor` hands back: the probe's value once truthy (so never a falsy member of its type). */
export type Found<T> = Exclude<T, null | undefined | false | 0 | ''>;

/** Polls `probe` until it returns a truthy value (a non-empty array), or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 15000, everyMs = 20): Promise<Found<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v && !(Array.isArray(v) && v.length === 0)) return v as Found<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A raw Kafka client for a test, as the local admin (or as `principal`, e.g. `partner-acme`, to
 * prove what that principal may not do); `password` overrides the principal's own.
 */
export function testKafka(principal: string = ADMIN_PRINCIPAL, opts: { password?: string } = {}): Kafka {
  const env = { ...process.env, ...localKafkaEnv(principal, process.env) };
  if (opts.password !== undefined) env.KAFKA_SASL_PASSWORD = opts.password;
  return new Kafka({
    clientId: uniqueName('test'),
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
    ...kafkaConnectionOptions(securityFromEnv(env).kafka),
  });
}

export interface Collected {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/**
 * A raw consumer (its own group, from the latest offset) that records what arrives on some topics:
 * every record appended after `start()`, once, across broker restarts (it keeps its own positions:
 * kafka/topics.ts OwnPositions).
 */
export class TopicRecorder {
  readonly records: Collected[] = [];
  private readonly seen = new Set<string>();
  private consumer?: Consumer;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: string[],
  ) {}

  async start(): Promise<this> {
    const positions = new OwnPositions(await endOffsets(this.kafka, this.topics));
    // The services' own member settings (events/consumer/settings.ts): a recorder observing a broker
    // restart resumes within a second or two of the broker, as the services do, instead of backing off.
    const consumer = this.kafka.consumer(consumerConfig(uniqueName('recorder'), () => undefined));
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: false });
    const joined = positions.seekOnEveryJoin(consumer);
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const at = `${topic}/${partition}/${message.offset}`;
        if (this.seen.has(at)) return; // a batch fetched again around a seek
        this.seen.add(at);
        positions.passed(topic, partition, message.offset);
        this.records.push({ topic, partition, message });
      },
    });
    await joined;
    return this;
  }

  where(pred: (r: Collected) => boolean): Collected[] {
    return this.records.filter(pred);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** Runs a TypeScript file in a child node process (through tsx) and reports how it ended. */
export function runChild(
  script: string,
  env: Record<string, string>,
): Promise<{ stdout: string; signal: NodeJS.Signals | null; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ stdout, signal, code }));
  });
}

let testKeys: Promise<{ signer: TokenSigner; verifier: TokenVerifier; publicKey: string }> | undefined;

/** The test key pair (testKeyPair) as a signer for minting tokens and the matching verifier (bound to no trust state). */
export function testTokens(): Promise<{ signer: TokenSigner; verifier: TokenVerifier; publicKey: string }> {
  const { publicKey, privateKey } = testKeyPair();
  testKeys ??= (async () => ({
    signer: await TokenSigner.fromPem(privateKey),
    verifier: await TokenVerifier.fromPem(publicKey),
    publicKey,
  }))();
  return testKeys;
}

/** Hex SHA-256 of a channel API key, as channels publishes it on channels.channel-credentials. */
export function apiKeyHash(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** A bearer header for a principal (`channel` is the customer's login channel), signed with the test key pair. */
export async function bearer(p: Partial<Omit<Principal, 'issuedAt'>> & { sub: string }): Promise<string> {
  const { signer } = await testTokens();
  return `Bearer ${await signer.sign({ kind: 'customer', roles: [], channels: [], channel: null, ...p })}`;
}

/**
 * A ChannelChanged payload as channels publishes it for an active web channel in the EU standing
 * alone (no master channel), with `over` applied: what simulators of the channels service publish.
 */
export function channelPayload(code: string, over: Partial<Omit<ChannelChanged, 'envelope'>> = {}): Omit<ChannelChanged, 'envelope'> {
  return {
    code,
    name: code,
    kind: 'web',
    state: 'active',
    previousState: null,
    expectedBackAt: null,
    blockReasons: [],
    country: 'DE',
    region: 'EU',
    languages: ['en'],
    currencies: ['EUR'],
    masterChannel: null,
    allowedDataRegions: ['EU'],
    change: 'updated',
    ...over,
  };
}

/** The fields orders.order-status gained with the orders service, as a producer that does not set them leaves them (their Avro defaults). */
export const ORDER_STATUS_DEFAULTS = {
  orderState: null,
  paymentState: null,
  fulfilmentState: null,
  cartId: null,
  cartVersion: null,
  lines: [],
  partnerOrderId: null,
  steward: null,
  reason: null,
  version: 0,
} as const;

/**
 * A resolver for webhook tests: names under `.partner.test` (which no real resolver knows) resolve to
 * what `records` says now (a test moves a name to another address between checks); others as the system does.
 */
export function testResolver(): { records: Map<string, string>; resolve: (host: string) => Promise<LookupAddress[]> } {
  const records = new Map<string, string>();
  const resolve = async (host: string): Promise<LookupAddress[]> => {
    if (!host.endsWith('.partner.test')) return systemResolver(host);
    const address = records.get(host);
    if (!address) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  return { records, resolve };
}
