/**
 * The one way a service is put together. A service declares its name, port, database and event
 * manifest, and a `build` that turns a started runtime into its parts: the HTTP API, the
 * subscriptions (one consumer group each), and the workers (background loops). The kit owns the
 * rest, identically for every service:
 *
 * - configuration from the environment (loadPlatformConfig), overridable by tests;
 * - start order: runtime (database, schemas, producer, outbox relay) → the trust reader (joining
 *   while `build` runs; `build` gets `auth`: a verifier bound to the instance's TrustState) →
 *   subscriptions (joined before anything else starts) → the trust state caught up → workers → HTTP;
 *   a failure at any step stops what started; /readyz says `trust: false` until caught up;
 * - the table topics of the manifest (`table: true`: keys, revocations, credentials) are read by the
 *   trust reader only: a subscription handling one fails the start;
 * - consumer-group names `<service>.<purpose>` (`.<instance id>.<boot token>` for per-instance groups;
 *   a subscription mixing high- and normal-priority topics runs as `<group>` + `<group>.normal`), plus one
 *   suffix and one start position that tests and the e2e suite set (OMNIMALL_GROUP_SUFFIX,
 *   OMNIMALL_START_AT); the sync-monitor attributes an ack to the service before the first dot;
 * - the manifest checked against the subscriptions at start: a handler for a topic the manifest does
 *   not declare fails the start, so the manifest (held to schemas/topics.yaml by a test) stays true;
 * - stop, once, in reverse order: HTTP drained, consumers stopped (offsets committed), the trust
 *   reader stopped (its group deleted), workers stopped, the outbox flushed, producer and database
 *   closed; as a process, within a timeout.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Express } from 'express';
import { partnerOfTopic, topicSpec, type TopicName } from '@omnimall/contracts';
import { createServiceAuth, type ServiceAuth } from '../auth/service-auth';
import { tokenKeysFromEnv, type TokenKeyConfig } from '../auth/tokens';
import { TrustState } from '../auth/trust';
import { TrustReader, trustGroupId } from '../auth/trust-reader';
import { loadPlatformConfig, type PlatformConfig } from './config';
import type { ConsumerOptions, EventConsumer, HandlerMap } from '../events/consumer';
import type { OutboxOptions } from '../events/outbox';
import type { HttpApi } from '../http/api';
import { createHttpApp, createMetricsApp } from '../http/app';
import { ServiceRuntime } from './runtime';
import { runService } from './process';

/** The topics a service produces and consumes; `src/events/index.ts` of every service exports one. */
export interface EventManifest {
  readonly produces: readonly TopicName[];
  readonly consumes: readonly TopicName[];
}

/** One consumer group of the service. */
export interface Subscription extends Omit<ConsumerOptions, 'group' | 'fromBeginning' | 'ephemeral'> {
  /** The group's purpose; the group id is `<service>.<purpose>`. */
  purpose: string;
  /**
   * `shared` (default): one group for every instance of the service (they share its database).
   * `instance`: a group per process (fan-out to in-memory state), from the end, deleted at stop.
   */
  scope?: 'shared' | 'instance';
  /** Where a new shared group starts: `beginning` (default: it learns the whole history) or `end`. */
  startAt?: 'beginning' | 'end';
  /** Called once the subscription's consumers (one, or two when split by priority) have joined. */
  onJoined?: (consumers: EventConsumer[]) => void;
}

/** A background loop of the service, started after its subscriptions and stopped before the outbox. */
export interface Worker {
  name: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

/** What a service's `build` returns. */
export interface ServiceParts<X extends object> {
  api: HttpApi;
  /** Plain express routes (pages, static files) mounted before the API. */
  extendHttp?: (app: Express) => void;
  /** Express's `trust proxy` setting, for services that read the client address. */
  trustProxy?: string;
  subscriptions?: Subscription[];
  workers?: Worker[];
  /** Runs first when the service stops (e.g. closing live sessions before the HTTP server drains). */
  beforeStop?: () => void | Promise<void>;
  /** Details while the service is degraded but serving (undefined when not): /readyz says `degraded` (200). */
  degraded?: () => Record<string, unknown> | undefined;
  /** The handles tests and benchmarks reach the running service through (merged into RunningService). */
  exposes: X;
}

/** How consumer groups are named and where shared ones start, for every subscription of a service. */
export interface GroupSettings {
  /** Appended to every group id (tests and the e2e suite isolate themselves with a unique one). */
  suffix: string;
  /** Overrides every shared subscription's own start position (`end` for throwaway groups). */
  startAt?: 'beginning' | 'end';
}

/** OMNIMALL_GROUP_SUFFIX and OMNIMALL_START_AT (`beginning` or `end`); both unset in production. */
export function groupSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): GroupSettings {
  const startAt = env.OMNIMALL_START_AT;
  if (startAt !== undefined && startAt !== 'beginning' && startAt !== 'end')
    throw new Error(`OMNIMALL_START_AT must be "beginning" or "end", not "${startAt}"`);
  return { suffix: env.OMNIMALL_GROUP_SUFFIX ?? '', startAt };
}

export interface BuildContext<D> {
  runtime: ServiceRuntime;
  /** The verifier (bound to the trust state), the trust state, and the signer when configured (identity). */
  auth: ServiceAuth;
  config: PlatformConfig;
  deps: D;
  env: NodeJS.ProcessEnv;
  /** How this instance's consumer groups are named and start (for a service that reads Kafka outside a subscription). */
  groups: GroupSettings;
}

export interface ServiceDefinition<D, X extends object> {
  name: string;
  port: number;
  /** The database's default name (MONGO_DB overrides it); default: the service name with underscores. */
  dbName?: string;
  events: EventManifest;
  outbox?: OutboxOptions;
  build(ctx: BuildContext<D>): Promise<ServiceParts<X>>;
  /** Called once the service process is up (e.g. to log the address of a page it serves). */
  onStarted?: (service: RunningService<X>) => void;
  /** How long a process's stop may take before it exits with 1 (default 15 s). */
  stopTimeoutMs?: number;
}

export interface StartOptions<D> {
  /** Default: from the environment (loadPlatformConfig). */
  config?: PlatformConfig;
  env?: NodeJS.ProcessEnv;
  /** Default: from the environment (groupSettingsFromEnv). */
  groups?: GroupSettings;
  deps?: D;
  outbox?: OutboxOptions;
}

export type RunningService<X extends object> = X & {
  name: string;
  config: PlatformConfig;
  runtime: ServiceRuntime;
  app: Express;
  server: Server;
  /** http://127.0.0.1:<port> */
  url: string;
  /** http://127.0.0.1:<port> of the METRICS_PORT listener, when the config has one (/metrics is then only there). */
  metricsUrl?: string;
  /** This process's consumers by purpose. */
  consumers: Record<string, EventConsumer>;
  /** What `build` got as `auth` (tests reach the trust state through it). */
  auth: ServiceAuth;
  /** Stops once (later calls await the same stop). */
  stop(): Promise<void>;
};

export interface ServiceHandle<D, X extends object> {
  readonly name: string;
  readonly port: number;
  readonly events: EventManifest;
  start(opts?: StartOptions<D>): Promise<RunningService<X>>;
  /** The service as a process: config from the environment, stop on SIGINT/SIGTERM within the timeout. */
  run(): void;
}

/**
 * The topics a set of subscriptions handles that a manifest does not declare it consumes (a partner's
 * topic, `partner.<code>.<rest>`, is declared by its family `partner.<rest>`).
 */
export function undeclaredTopics(manifest: EventManifest, subscriptions: readonly Subscription[]): string[] {
  const declared = new Set<string>(manifest.consumes);
  return [...new Set(subscriptions.flatMap((s) => Object.keys(s.handlers)))].filter((t) => !declared.has(partnerOfTopic(t)?.family ?? t));
}

/** The manifest's table topics (read by the trust reader, never by a subscription). */
export function tableTopics(manifest: EventManifest): TopicName[] {
  return manifest.consumes.filter((t) => topicSpec(t).table);
}

/** A given config's token keys plus those of an env given beside it (a test's AUTH_PUBLIC_KEYS_FILE...). */
function withKeysOf(keys: TokenKeyConfig, env: NodeJS.ProcessEnv): TokenKeyConfig {
  const more = tokenKeysFromEnv(env);
  const jwksFile = more.jwksFile ?? keys.jwksFile;
  const signingKey = keys.signingKey ?? more.signingKey;
  return { publicKeys: [...keys.publicKeys, ...more.publicKeys], ...(jwksFile ? { jwksFile } : {}), ...(signingKey ? { signingKey } : {}) };
}

/** How long a start waits for the trust state to catch up before it fails. */
const TRUST_CATCH_UP_MS = 30_000;

function caughtUp(trust: TrustState): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the trust reader did not catch up with the table topics within ${TRUST_CATCH_UP_MS} ms`)),
      TRUST_CATCH_UP_MS,
    );
  });
  return Promise.race([trust.ready(), late]).finally(() => clearTimeout(timer));
}

/**
 * A per-instance group's id carries a token drawn at each start (`<service>.<purpose>.<instance id>.<boot>`):
 * a process restarted under the same instance id after a crash (whose group was never deleted) starts a
 * fresh group at the end instead of re-reading what its predecessor had already handled and left
 * uncommitted (the predecessor's in-memory marks died with it). The predecessor's group expires with
 * the broker's offsets retention.
 */
export function groupId(service: string, sub: Subscription, settings: GroupSettings, instanceId: string, boot = ''): string {
  const base = sub.scope === 'instance' ? `${service}.${sub.purpose}.${instanceId}${boot ? `.${boot}` : ''}` : `${service}.${sub.purpose}`;
  return `${base}${settings.suffix}`;
}

export const bootToken = (): string => randomBytes(3).toString('hex');

/**
 * Priority isolation: a subscription that handles both `priority: high` and `priority: normal` topics
 * runs as two Kafka groups, `<group>` for the high topics and `<group>.normal` for the others, so no
 * volume of normal traffic (a bulk catalogue sync) delays a high-priority effect behind it in the same
 * fetches and partitions. Both parts keep the subscription's name in acks, marks and retry routing.
 */
export function splitByPriority(handlers: HandlerMap): Array<{ groupSuffix: string; handlers: HandlerMap }> {
  const high: HandlerMap = {};
  const normal: HandlerMap = {};
  for (const [topic, handler] of Object.entries(handlers) as [TopicName, HandlerMap[TopicName]][]) {
    const target = priorityOf(topic) === 'high' ? high : normal;
    (target as Record<string, unknown>)[topic] = handler;
  }
  if (!Object.keys(high).length || !Object.keys(normal).length) return [{ groupSuffix: '', handlers }];
  return [
    { groupSuffix: '', handlers: high },
    { groupSuffix: '.normal', handlers: normal },
  ];
}

function priorityOf(topic: string): 'high' | 'normal' {
  try {
    return topicSpec(topic).priority;
  } catch {
    return 'normal';
  }
}

function urlOf(server: Server): string {
  const addr = server.address();
  return typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : String(addr);
}

export function defineService<D = Record<string, never>, X extends object = Record<string, never>>(
  def: ServiceDefinition<D, X>,
): ServiceHandle<D, X> {
  const configFor = (env: NodeJS.ProcessEnv): PlatformConfig =>
    loadPlatformConfig(def.name, def.port, env, def.dbName ? { dbName: env.MONGO_DB ?? def.dbName } : {});

  async function start(opts: StartOptions<D> = {}): Promise<RunningService<X>> {
    const env = opts.env ?? process.env;
    const config = opts.config ?? configFor(env);
    const groups = opts.groups ?? groupSettingsFromEnv(env);
    const runtime = await ServiceRuntime.start({ config, produces: def.events.produces, outbox: opts.outbox ?? def.outbox });
    const started: Worker[] = [];
    let parts: ServiceParts<X> | undefined;
    let stopping: Promise<void> | undefined;
    let reader: TrustReader | undefined;
    let readerJoined: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        await parts?.beforeStop?.();
        await runtime.stop({
          afterConsumers: async () => {
            await reader?.stop();
            for (const w of started.reverse()) await w.stop();
          },
        });
      })());
    try {
      const trust = new TrustState();
      const auth = await createServiceAuth(opts.env ? withKeysOf(config.tokenKeys, opts.env) : config.tokenKeys, trust);
      const tables = tableTopics(def.events);
      reader = new TrustReader({
        kafka: runtime.kafka,
        schemas: runtime.schemas,
        logger: runtime.logger,
        trust,
        topics: tables,
        group: trustGroupId(def.name, config.instanceId, groups.suffix),
      });
      // The reader joins while build runs; both are awaited before any subscription joins.
      readerJoined = reader.start();
      readerJoined.catch(() => undefined);
      parts = await def.build({ runtime, config, deps: opts.deps ?? ({} as D), env, auth, groups });
      await readerJoined;
      const subscriptions = parts.subscriptions ?? [];
      const undeclared = undeclaredTopics(def.events, subscriptions);
      if (undeclared.length)
        throw new Error(`${def.name} handles ${undeclared.join(', ')}, which its event manifest does not list under consumes`);
      const handledTables = subscriptions.flatMap((sub) => Object.keys(sub.handlers)).filter((t) => tables.includes(t as TopicName));
      if (handledTables.length)
        throw new Error(
          `${def.name} handles ${handledTables.join(', ')}: table topics are read by the kit's trust reader (auth.trust), not by a subscription`,
        );
      const consumers: Record<string, EventConsumer> = {};
      const boot = bootToken();
      await Promise.all(
        subscriptions.flatMap((sub) => {
          const { purpose, scope, startAt, onJoined, handlers, ...options } = sub;
          const instance = scope === 'instance';
          const name = groupId(def.name, sub, groups, config.instanceId, boot);
          const parts = splitByPriority(handlers);
          const joined: EventConsumer[] = [];
          return parts.map(async (part) => {
            const consumer = await runtime.consume({
              ...options,
              handlers: part.handlers,
              name,
              group: name + part.groupSuffix,
              fromBeginning: !instance && (groups.startAt ?? startAt ?? 'beginning') === 'beginning',
              ephemeral: instance,
            });
            consumers[purpose + part.groupSuffix] = consumer;
            joined.push(consumer);
            if (joined.length === parts.length) onJoined?.(joined);
          });
        }),
      );
      await caughtUp(trust);
      for (const w of parts.workers ?? []) {
        await w.start();
        started.push(w);
      }
      const app = createHttpApp({
        service: def.name,
        logger: runtime.logger,
        metrics: runtime.metrics,
        api: parts.api,
        readiness: async () => ({ ...(await runtime.readiness()), trust: trust.isReady() }),
        extend: parts.extendHttp,
        degraded: parts.degraded,
        metricsElsewhere: config.metricsPort !== undefined,
        exceptions: runtime.exceptions,
      });
      if (parts.trustProxy) app.set('trust proxy', parts.trustProxy);
      const server = await runtime.listen(app);
      const url = urlOf(server);
      const metricsUrl =
        config.metricsPort === undefined
          ? undefined
          : urlOf(await runtime.listenMetrics(createMetricsApp(runtime.metrics), config.metricsPort));
      return Object.assign({}, parts.exposes, { name: def.name, config, runtime, app, server, url, metricsUrl, consumers, auth, stop });
    } catch (err) {
      // A build that fails while the reader is still joining: let the join settle first, so the stop
      // below finds a reader it can stop (not one that goes on joining after the start failed).
      await readerJoined?.catch(() => undefined);
      await stop().catch(() => undefined);
      throw err;
    }
  }

  return {
    name: def.name,
    port: def.port,
    events: def.events,
    start,
    run: () => runService(def.name, () => start(), { onStarted: def.onStarted, stopTimeoutMs: def.stopTimeoutMs }),
  };
}
