import type { Consumer, EachMessagePayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Connection, FilterQuery, Model, UpdateQuery } from 'mongoose';
import { deadLetterTopic, retryTopic, type EventEnvelope, type TopicName, type TopicValues } from '@omnimall/contracts';
import type { Logger } from '../observability/logger';
import type { ServiceMetrics } from '../observability/metrics';
import { applyOnce, inboxId, inboxModel, type ApplyOnceOptions, type InboxMark } from '../mongo/effect-once';
import { endOffsets, seekStartsOnJoin, uncommitted } from '../kafka/topics';
import { isDuplicateKeyError } from '../errors';
import { newEvent } from './envelope';
import { headerString, type EventPublisher } from '../kafka/publisher';
import type { EventSchemas } from './schema-registry';
import type { WriteBatcher } from '../mongo/write-batcher';

export type Outcome = 'applied' | 'skipped_duplicate' | 'failed' | 'dead_lettered';

export interface EventContext {
  topic: string;
  partition: number;
  offset: string;
  envelope: EventEnvelope;
  attempt: number;
  consumer: string;
  logger: Logger;
  /** Channel the effect applies to, reported in the propagation ack (defaults to the event's source channel). */
  channel: string | null;
  /** Applies a single-document update at most once for this event (see effect-once.ts). */
  applyOnce<T>(model: Model<T>, filter: FilterQuery<T>, update: UpdateQuery<T>, opts?: ApplyOnceOptions): Promise<boolean>;
  /** Marks the event as a duplicate the handler recognised on its own. */
  skip(): void;
  /** The record as read from Kafka (original bytes, key and headers), for services that re-deliver it. */
  record?: KafkaMessage;
}

export type EventHandler<T extends TopicName> = (value: TopicValues[T], ctx: EventContext) => Promise<void>;
export type HandlerMap = { [T in TopicName]?: EventHandler<T> };

export interface ConsumerOptions {
  /** Kafka group id; also the consumer name in acknowledgements. */
  group: string;
  handlers: HandlerMap;
  /**
   * `in-document`: handlers use ctx.applyOnce (the mark is written with the effect).
   * `inbox`: the kit keeps (consumer, eventId) marks in the service's `inbox` collection.
   */
  dedupe?: 'in-document' | 'inbox';
  /** In-process attempts before the record goes to the retry topic (default 3). */
  attempts?: number;
  backoffMs?: number;
  /** Delay before a record on the retry topic is tried again (default 1000 ms). */
  retryDelayMs?: number;
  fromBeginning?: boolean;
  /** Produce sync.applied acknowledgements (default true). */
  acknowledge?: boolean;
  /** How long an ack may wait for other records to share its produce request (default 5 ms). */
  ackLingerMs?: number;
  partitionsConsumedConcurrently?: number;
  /** The group belongs to this process alone (a per-instance fan-out): deleted from Kafka when the consumer stops. */
  ephemeral?: boolean;
  /**
   * Fetch batching: the broker answers a fetch once `minBytes` are ready or `maxWaitMs` passed
   * (default 1 byte / 5 s, i.e. at once). A group that is not latency-critical (telemetry) trades a
   * little delay for far fewer fetch requests, which cost CPU on both ends.
   */
  fetch?: { minBytes: number; maxWaitMs: number };
  /** How often handled offsets are committed (default 200 ms; also on stop). */
  commitIntervalMs?: number;
  /**
   * Runs before each offset commit. A handler that only buffers its effect (a write-behind
   * projection) makes it durable here; if this throws, nothing is committed and the offsets are
   * kept for the next commit.
   */
  beforeCommit?: () => Promise<void>;
}

export interface ConsumerDeps {
  kafka: Kafka;
  schemas: EventSchemas;
  publisher: EventPublisher;
  metrics: ServiceMetrics;
  logger: Logger;
  db: Connection;
  service: string;
  /** Group commit for effect-once upserts (absent: each is written on its own). */
  writes?: WriteBatcher;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long an ack waits for other records to share its produce request (see EventPublisher). */
const ACK_LINGER_MS = 5;

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * At-least-once consumption with effect-once handlers.
 *  - an offset is committed only after its record's handling resolved, i.e. after the handler's write.
 *    Commits are batched on a short timer (one OffsetCommit request per interval, not per fetch):
 *    a crash replays at most that interval's records, which effect-once turns into duplicates;
 *  - duplicates are dropped through the eventId mark (in the effect's document, or the inbox);
 *  - per-key order: one partition is handled one record at a time;
 *  - a failing handler is retried `attempts` times with exponential backoff, then the record goes to
 *    `<topic>.retry` (tagged with this group), is tried once more after `retryDelayMs`, then goes to
 *    `<topic>.dlq` with its original bytes, headers and the error;
 *  - a record that cannot be decoded goes straight to the DLQ; the consumer keeps going.
 * After each record a sync.applied acknowledgement reports the outcome and the lag.
 */
export class EventConsumer {
  private readonly consumer: Consumer;
  private readonly inbox: Model<InboxMark>;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly retryDelayMs: number;
  private stopped = false;
  /** Next offset to commit per topic/partition, recorded once a record's handling finished. */
  private handled = new Map<string, { topic: string; partition: number; offset: string }>();
  private commitTimer?: NodeJS.Timeout;
  private readonly inflight = new Set<Promise<void>>();
  /** Partitions this member has committed an offset for (a rejoin need not seek them). */
  private readonly committed = new Set<string>();
  /** Per broker fetcher: when its current fetch started, whether the batches handled since left a lag, and the time it was last caught up as of. */
  private readonly fetchers = new Map<number, { startedAt: number; lagged: boolean; caughtUpAt: number }>();

  constructor(
    private readonly deps: ConsumerDeps,
    private readonly opts: ConsumerOptions,
  ) {
    this.consumer = deps.kafka.consumer({
      groupId: opts.group,
      allowAutoTopicCreation: false,
      sessionTimeout: 10000,
      heartbeatInterval: 1000,
      ...(opts.fetch ? { minBytes: opts.fetch.minBytes, maxWaitTimeInMs: opts.fetch.maxWaitMs } : {}),
    });
    this.inbox = inboxModel(deps.db);
    this.trackCatchUp();
    this.attempts = opts.attempts ?? 3;
    this.backoffMs = opts.backoffMs ?? 50;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
  }

  get group(): string {
    return this.opts.group;
  }

  get topics(): string[] {
    return Object.keys(this.opts.handlers);
  }

  /**
   * How current this member is: every record its partitions held before the returned time (epoch
   * millis; 0 when unknown) has been handled. kafkajs fetches from a broker again only once every
   * batch of the previous fetch is handled; if none of those batches left a lag behind (each ended at
   * the partition's high watermark), this member had then handled everything written before that
   * previous fetch started. So while the member keeps fetching (an idle consumer waits for its fetch
   * at most `fetch.maxWaitMs`) this stays within about two fetch cycles of now; it stops moving when
   * the member falls behind, is rebalanced or stops. A local cache fed by this consumer can rely on
   * it (see services/cart/src/store/projection-cache.ts).
   */
  caughtUpAt(): number {
    if (!this.fetchers.size || this.stopped) return 0;
    let at = Infinity;
    for (const f of this.fetchers.values()) at = Math.min(at, f.caughtUpAt);
    return at;
  }

  private trackCatchUp(): void {
    const { FETCH_START, END_BATCH_PROCESS, REBALANCING, CRASH, STOP } = this.consumer.events;
    this.consumer.on(FETCH_START, ({ payload }: { payload: { nodeId: number } }) => {
      const now = Date.now();
      const f = this.fetchers.get(payload.nodeId);
      if (!f) return void this.fetchers.set(payload.nodeId, { startedAt: now, lagged: false, caughtUpAt: 0 });
      if (!f.lagged) f.caughtUpAt = f.startedAt;
      f.startedAt = now;
      f.lagged = false;
    });
    this.consumer.on(END_BATCH_PROCESS, ({ payload }: { payload: { offsetLag: string } }) => {
      if (BigInt(payload.offsetLag) > 0n) for (const f of this.fetchers.values()) f.lagged = true;
    });
    // After a rebalance the partitions (and their positions) may differ: start over.
    for (const e of [REBALANCING, CRASH, STOP]) this.consumer.on(e, () => this.fetchers.clear());
  }

  /** Subscribes and resolves once this member has joined its group and got its partitions. */
  async start(): Promise<void> {
    await this.consumer.connect();
    const topics = this.topics.flatMap((t) => [t, retryTopic(t)]);
    // A new group starting "from now" starts at the end offsets read before it joins (see endOffsets).
    const fresh = this.opts.fromBeginning ? new Set<string>() : await uncommitted(this.deps.kafka, this.opts.group, topics);
    const starts = fresh.size ? (await endOffsets(this.deps.kafka, topics)).filter((o) => fresh.has(`${o.topic}/${o.partition}`)) : [];
    await this.consumer.subscribe({ topics, fromBeginning: this.opts.fromBeginning ?? false });
    const joined = seekStartsOnJoin(this.consumer, starts, (topic, partition) => this.committed.has(`${topic}/${partition}`));
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 6,
      eachMessage: async (p) => {
        if (this.stopped) return; // left uncommitted: the group's next member handles it
        const work = this.onMessage(p);
        this.inflight.add(work);
        try {
          await work;
        } finally {
          this.inflight.delete(work);
        }
        const next = (BigInt(p.message.offset) + 1n).toString();
        this.handled.set(`${p.topic}/${p.partition}`, { topic: p.topic, partition: p.partition, offset: next });
      },
    });
    this.commitTimer = setInterval(() => void this.commit(), this.opts.commitIntervalMs ?? 200);
    this.commitTimer.unref();
    await joined;
  }

  private committing?: Promise<void>;

  /** Commits what was handled since the last commit, one commit at a time. */
  private commit(): Promise<void> {
    this.committing ??= this.commitHandled().finally(() => (this.committing = undefined));
    return this.committing;
  }

  private async commitHandled(): Promise<void> {
    if (!this.handled.size) return;
    const offsets = this.handled;
    this.handled = new Map();
    try {
      await this.opts.beforeCommit?.();
    } catch (err) {
      for (const [k, o] of offsets) if (!this.handled.has(k)) this.handled.set(k, o); // later offsets supersede
      this.deps.logger.warn('offsets held back: the effects before them are not durable yet', {
        group: this.opts.group,
        err: errorText(err),
      });
      return;
    }
    try {
      await this.consumer.commitOffsets([...offsets.values()]);
      for (const k of offsets.keys()) this.committed.add(k);
    } catch (err) {
      // A partition lost in a rebalance refuses the commit: its next owner replays from the last one.
      this.deps.logger.debug('offset commit refused', { group: this.opts.group, err: errorText(err) });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.commitTimer);
    await Promise.allSettled([...this.inflight]);
    await this.committing;
    await this.commit();
    await this.consumer.disconnect();
    if (this.opts.ephemeral) await this.deleteGroup();
  }

  /** Best effort: a group left behind holds only committed offsets, and Kafka expires those in time. */
  private async deleteGroup(): Promise<void> {
    const admin = this.deps.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.opts.group]);
    } catch (err) {
      this.deps.logger.warn('could not delete the consumer group', { group: this.opts.group, err: errorText(err) });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private async onMessage({ topic, partition, message }: EachMessagePayload): Promise<void> {
    const isRetry = topic.endsWith('.retry');
    const source = isRetry ? topic.slice(0, -'.retry'.length) : topic;
    if (isRetry) {
      if (headerString(message.headers, 'x-consumer') !== this.opts.group) return; // another group's retry
      const notBefore = Number(headerString(message.headers, 'x-not-before') ?? 0);
      const wait = Math.min(notBefore - Date.now(), this.retryDelayMs);
      if (wait > 0) await sleep(wait);
    }
    let value: { envelope: EventEnvelope };
    try {
      value = await this.deps.schemas.decode(message.value as Buffer);
      if (!value?.envelope?.eventId) throw new Error('record has no event envelope');
    } catch (err) {
      await this.deadLetter(source, partition, message, 'undecodable', err);
      this.ackRaw(source, message, 'dead_lettered', 1, err);
      return;
    }
    const attemptBase = isRetry ? Number(headerString(message.headers, 'x-attempt') ?? this.attempts) : 0;
    const handler = this.opts.handlers[source as TopicName] as EventHandler<TopicName> | undefined;
    if (!handler) return;
    const { envelope } = value;
    const logger = this.deps.logger.child({ eventId: envelope.eventId, correlationId: envelope.correlationId, topic: source });

    if (this.opts.dedupe !== 'in-document' && (await this.inbox.exists({ _id: inboxId(this.opts.group, envelope.eventId) }))) {
      this.finish(source, value, 'skipped_duplicate', attemptBase + 1, envelope.sourceChannel);
      return;
    }

    const tries = isRetry ? 1 : this.attempts;
    let lastErr: unknown;
    for (let i = 0; i < tries && !this.stopped; i++) {
      const attempt = attemptBase + i + 1;
      let duplicate = false;
      let applied = false;
      let committedAt: number | undefined;
      const ctx: EventContext = {
        topic: source,
        partition,
        offset: message.offset,
        envelope,
        attempt,
        consumer: this.opts.group,
        logger,
        channel: envelope.sourceChannel,
        applyOnce: async (model, filter, update, o) => {
          const ok = await applyOnce(model, envelope.eventId, filter, update, o, {
            onCommitted: () => (committedAt = Date.now()),
            writes: this.deps.writes,
          });
          if (ok) applied = true;
          else duplicate = true;
          return ok;
        },
        skip: () => {
          duplicate = true;
        },
        record: message,
      };
      const timer = this.deps.metrics.handlerDuration.startTimer({ topic: source, consumer: this.opts.group });
      try {
        await handler(value as never, ctx);
        timer();
        if (this.opts.dedupe !== 'in-document') await this.markInbox(envelope.eventId);
        this.finish(source, value, duplicate && !applied ? 'skipped_duplicate' : 'applied', attempt, ctx.channel, undefined, committedAt);
        return;
      } catch (err) {
        timer();
        lastErr = err;
        this.deps.metrics.retried.labels(source, this.opts.group).inc();
        logger.warn('event handler failed', { attempt, err: errorText(err) });
        if (i + 1 < tries) await sleep(this.backoffMs * 2 ** i);
      }
    }
    if (this.stopped) throw lastErr; // leave the offset uncommitted: the next member replays it
    const attempt = attemptBase + tries;
    if (isRetry) {
      await this.deadLetter(source, partition, message, 'handler_failed', lastErr);
      this.finish(source, value, 'dead_lettered', attempt, envelope.sourceChannel, lastErr);
    } else {
      await this.deps.publisher.sendRaw(retryTopic(source), [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            'x-consumer': this.opts.group,
            'x-attempt': String(attempt),
            'x-not-before': String(Date.now() + this.retryDelayMs),
            'x-error': errorText(lastErr),
          },
        },
      ]);
      this.finish(source, value, 'failed', attempt, envelope.sourceChannel, lastErr);
    }
  }

  private async markInbox(eventId: string): Promise<void> {
    try {
      await this.inbox.create({ _id: inboxId(this.opts.group, eventId), consumer: this.opts.group, eventId, at: new Date() });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  private async deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string, err: unknown): Promise<void> {
    const headers: IHeaders = {
      ...message.headers,
      'x-consumer': this.opts.group,
      'x-dlq-reason': reason,
      'x-error': errorText(err),
      'x-error-class': err instanceof Error ? err.name : 'Error',
      'x-source-topic': topic,
      'x-source-partition': String(partition),
      'x-source-offset': message.offset,
      'x-failed-at': new Date().toISOString(),
    };
    await this.deps.publisher.sendRaw(deadLetterTopic(topic), [{ key: message.key, value: message.value, headers }]);
    this.deps.metrics.deadLettered.labels(topic, this.opts.group, reason).inc();
    this.deps.logger.error('record dead-lettered', { topic, partition, offset: message.offset, reason, err: errorText(err) });
  }

  private finish(
    topic: string,
    value: { envelope: EventEnvelope },
    outcome: Outcome,
    attempt: number,
    channel: string | null,
    err?: unknown,
    appliedAt?: number,
  ): void {
    this.deps.metrics.consumed.labels(topic, this.opts.group, outcome).inc();
    if (this.opts.acknowledge === false) return;
    const e = value.envelope;
    this.sendAck(topic, e.eventId, e.type, e.occurredAt, e.correlationId, outcome, attempt, channel, err, appliedAt);
  }

  /** Ack for a record whose envelope could not be read: ids come from the headers when present. */
  private ackRaw(topic: string, message: KafkaMessage, outcome: Outcome, attempt: number, err: unknown): void {
    this.deps.metrics.consumed.labels(topic, this.opts.group, outcome).inc();
    const eventId = headerString(message.headers, 'eventId');
    if (this.opts.acknowledge === false || !eventId || !/^[0-9a-f-]{36}$/i.test(eventId)) return;
    const type = headerString(message.headers, 'type') ?? 'unknown';
    this.sendAck(
      topic,
      eventId,
      type,
      Number(message.timestamp),
      headerString(message.headers, 'correlationId') ?? eventId,
      outcome,
      attempt,
      null,
      err,
    );
  }

  private sendAck(
    topic: string,
    eventId: string,
    type: string,
    occurredAt: number,
    correlationId: string,
    outcome: Outcome,
    attempt: number,
    channel: string | null,
    err?: unknown,
    /** When the effect committed (applyOnce reports it before releasing its lock); default now. */
    appliedAt: number = Date.now(),
  ): void {
    const ack = newEvent(
      'sync.applied',
      {
        type: 'sync.applied',
        producer: this.deps.service,
        aggregateId: eventId,
        aggregateVersion: attempt,
        correlationId,
        sourceChannel: channel,
      },
      {
        ackedEventId: eventId,
        ackedType: type,
        topic,
        consumer: this.opts.group,
        channel,
        occurredAt,
        appliedAt,
        outcome,
        attempt,
        error: err === undefined ? null : errorText(err),
      },
    );
    // Acks are telemetry: sent without holding up the partition (a lost ack shows up as lag in the
    // monitor), and lingering for company: the lag they report was stamped at the effect's commit.
    this.deps.publisher
      .publish([ack], { lingerMs: this.opts.ackLingerMs ?? ACK_LINGER_MS })
      .catch((e) => this.deps.logger.warn('ack not sent', { eventId, err: errorText(e) }));
  }
}
