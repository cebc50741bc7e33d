/**
 * The connections a service holds (database, schema registry, producer, outbox relay, consumers,
 * HTTP server), started in dependency order and stopped in reverse, so nothing is written through a
 * connection already closed and what is committed is published before the producer goes.
 */
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Kafka } from 'kafkajs';
import type { Connection } from 'mongoose';
import { topicSpec, type TopicName } from '@omnimall/contracts';
import type { PlatformConfig } from './config';
import { createLogger, type Logger } from '../observability/logger';
import { ServiceMetrics } from '../observability/metrics';
import { EventConsumer, type ConsumerOptions } from '../events/consumer';
import { Outbox, type OutboxOptions } from '../events/outbox';
import { EventPublisher } from '../kafka/publisher';
import { WriteBatcher } from '../mongo/write-batcher';
import { EventSchemas } from '../events/schema-registry';
import { DocumentLocks } from '../mongo/document-lock';
import { connectDatabase } from '../mongo/connection';
import { createKafka } from '../kafka/client';
import { basicAuthHeader, type RegistryAuth } from '../kafka/security';
import { ExceptionRecorder, type ExceptionRecorderOptions } from '../events/exceptions';
import { JobProgressReporter, type JobProgressReporterOptions } from '../jobs';

/** The bound of each readiness check. */
const READINESS_TIMEOUT_MS = 1000;

/**
 * The topics every service produces whatever its manifest says (the catalogue's `producer: every
 * service`), registered and sized at start: the consumers' acknowledgements (sync.applied and its bulk
 * lane), the evidence of exceptions (platform.exception, see events/exceptions.ts) and the progress of
 * long-running jobs (platform.job-progress, see jobs.ts).
 */
export const KIT_PRODUCED: readonly TopicName[] = ['sync.applied', 'sync.applied.bulk', 'platform.exception', 'platform.job-progress'];

const registryHeaders = (auth: RegistryAuth | undefined): Record<string, string> => (auth ? { authorization: basicAuthHeader(auth) } : {});

export interface RuntimeOptions {
  config: PlatformConfig;
  /** Topics this service publishes to; their value schemas are registered at start. */
  produces: readonly TopicName[];
  outbox?: OutboxOptions;
  /** The bound of the exception recorder (default DEFAULT_EXCEPTION_BOUND). */
  exceptions?: ExceptionRecorderOptions;
  /** How often a running job's progress is published at most (default JOB_PROGRESS_EVERY_MS). */
  jobs?: JobProgressReporterOptions;
}

/**
 * The connections a service holds and their order of start and stop: MongoDB (its own database),
 * the schema registry (its schemas registered, or start fails with the registry's message),
 * the Kafka producer, the outbox relay, then consumers and the HTTP server.
 */
export class ServiceRuntime {
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly kafka: Kafka;
  readonly schemas: EventSchemas;
  readonly publisher: EventPublisher;
  readonly outbox: Outbox;
  /** Group commit of the consumers' effect-once upserts. */
  readonly writes: WriteBatcher;
  readonly locks: DocumentLocks;
  /** Records refusals, collisions and conflicts on platform.exception through the outbox (the HTTP app records answered ones). */
  readonly exceptions: ExceptionRecorder;
  /** Publishes the progress of long-running jobs on platform.job-progress (the final event through the outbox). */
  readonly jobs: JobProgressReporter;
  readonly consumers: EventConsumer[] = [];
  private server?: Server;
  private metricsServer?: Server;
  private constructor(
    readonly config: PlatformConfig,
    readonly db: Connection,
    opts: RuntimeOptions,
  ) {
    this.logger = createLogger(config.service, config.logLevel);
    this.metrics = new ServiceMetrics(config.service);
    this.kafka = createKafka(config.instanceId, config.kafkaBrokers, this.logger, config.kafkaSecurity);
    this.schemas = new EventSchemas(config.schemaRegistryUrl, this.metrics, config.schemaRegistryAuth);
    this.publisher = new EventPublisher(this.kafka, this.schemas, this.metrics, this.logger);
    this.locks = new DocumentLocks(db);
    this.outbox = new Outbox(this.publisher, this.metrics, this.logger, opts.outbox, this.schemas, db);
    this.writes = new WriteBatcher(this.metrics.writeBatchSize);
    this.exceptions = new ExceptionRecorder(
      { service: config.service, outbox: this.outbox, db, metrics: this.metrics, logger: this.logger },
      opts.exceptions,
    );
    this.jobs = new JobProgressReporter({ outbox: this.outbox, publisher: this.publisher, db, logger: this.logger }, opts.jobs);
  }

  static async start(opts: RuntimeOptions): Promise<ServiceRuntime> {
    const { config } = opts;
    const db = await connectDatabase(config.mongoUrl, config.dbName);
    const rt = new ServiceRuntime(config, db, opts);
    try {
      const produced = new Set<TopicName>([...opts.produces, ...KIT_PRODUCED]);
      await rt.schemas.register([...produced].map((t) => topicSpec(t)));
      await rt.publisher.connect();
      await rt.publisher.readTopicLimits([...produced]);
      rt.outbox.start();
      rt.exceptions.start();
      rt.jobs.start();
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return rt;
  }

  /** Starts a consumer group member; resolves once it has joined and holds partitions. */
  async consume(opts: ConsumerOptions): Promise<EventConsumer> {
    const consumer = new EventConsumer(
      {
        kafka: this.kafka,
        schemas: this.schemas,
        publisher: this.publisher,
        writes: this.writes,
        metrics: this.metrics,
        logger: this.logger,
        db: this.db,
        service: this.config.service,
      },
      opts,
    );
    await consumer.start();
    this.consumers.push(consumer);
    return consumer;
  }

  /**
   * Each dependency's reachability (`mongo`, `kafka`, `registry`), each check bounded by
   * READINESS_TIMEOUT_MS so /readyz answers within about a second whatever is down. The broker is
   * asked once, without kafkajs' retries (a probe that retried for 25 s would pile up behind the
   * probes that follow it).
   */
  async readiness(): Promise<Record<string, boolean>> {
    const withTimeout = <T>(p: Promise<T>): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), READINESS_TIMEOUT_MS)));
      return Promise.race([p.then(() => true), late])
        .catch(() => false)
        .finally(() => clearTimeout(timer));
    };
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    const [kafka, mongo, registry] = await Promise.all([
      withTimeout(
        admin
          .connect()
          .then(() => admin.describeCluster())
          .finally(() => admin.disconnect()),
      ),
      withTimeout(this.db.db!.admin().ping()),
      withTimeout(
        fetch(`${this.config.schemaRegistryUrl}/subjects`, {
          headers: registryHeaders(this.config.schemaRegistryAuth),
          signal: AbortSignal.timeout(READINESS_TIMEOUT_MS),
        }).then((r) => {
          if (!r.ok) throw new Error(String(r.status));
        }),
      ),
    ]);
    return { kafka, mongo, registry };
  }

  listen(app: Express): Promise<Server> {
    return this.bind(app, this.config.httpPort, 'listening').then((server) => (this.server = server));
  }

  /** The METRICS_PORT listener (closed at stop with the API's). */
  listenMetrics(app: Express, port: number): Promise<Server> {
    return this.bind(app, port, 'metrics listening').then((server) => (this.metricsServer = server));
  }

  private bind(app: Express, port: number, what: string): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = app.listen(port, this.config.httpHost, () => {
        const addr = server.address();
        this.logger.info(what, { address: typeof addr === 'object' && addr ? `http://${addr.address}:${addr.port}` : addr });
        resolve(server);
      });
      server.once('error', reject);
    });
  }

  /**
   * Stops in reverse order: HTTP, consumers, then `afterConsumers` (the service's workers, which may
   * still write through the outbox), the exceptions and job progress being recorded, the outbox relay (what is committed is published first), producer, database.
   */
  async stop(opts: { afterConsumers?: () => Promise<void> } = {}): Promise<void> {
    for (const server of [this.server, this.metricsServer]) {
      if (!server) continue;
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    }
    await Promise.allSettled(this.consumers.map((c) => c.stop()));
    await opts.afterConsumers?.().catch((err: unknown) => this.logger.warn('a worker failed to stop', { err: String(err) }));
    await this.exceptions.stop();
    await this.jobs.stop();
    await this.outbox.stop();
    await this.publisher.disconnect().catch(() => undefined);
    await this.db.close().catch(() => undefined);
  }
}
