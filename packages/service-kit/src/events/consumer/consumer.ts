/**
 * At-least-once consumption with effect-once handlers: a consumer-group member that runs each
 * record through a pipeline of stages, one file each:
 *
 *   decode.ts       which topic, whether it is this group's retry and due, the Avro value
 *   dedupe.ts       effect-once for every group: a recent set in memory, plus the inbox mark
 *                   (`dedupe: 'inbox'`) or the handler's in-document mark
 *   handle.ts       the handler, `attempts` times with exponential backoff
 *   failure.ts      then `<topic>.retry` (tried once more after `retryDelayMs`), then `<topic>.dlq`
 *   acknowledge.ts  the outcome counted and reported on sync.applied, with the lag
 *   offsets.ts      the offset committed only after the record's handling resolved
 *
 * Guarantees: duplicates are dropped through the eventId marks (the member's recent set, and the
 * effect's document or the inbox), and acknowledged `skipped_duplicate`; per-key order holds, since
 * one partition is handled one record at a time; a record that cannot be read as an event of its topic (see decode.ts) goes straight to the DLQ with the reason
 * (`undecodable`, `schema_not_of_topic`, `schema_unresolvable`) and the consumer keeps going; a record left unhandled
 * at stop stays uncommitted, so the group's next member handles it; after a broker restart the
 * member resumes within about 2 s of the broker being back (settings.ts).
 */
import type { Consumer, EachMessagePayload } from 'kafkajs';
import { retryTopic, type TopicName } from '@omnimall/contracts';
import { deleteGroupQuietly, endOffsets, seekStartsOnJoin, uncommitted } from '../../kafka/topics';
import { Acknowledger } from './acknowledge';
import { CatchUpTracker } from './catch-up';
import { attemptsBefore, decodeEvent, retryWait, sourceOf } from './decode';
import { dedupeModeOf, EventDedupe } from './dedupe';
import { FailureRoutes } from './failure';
import { handleWithRetries } from './handle';
import { OffsetCommitter } from './offsets';
import { UndecodableRecordError } from '../topic-schemas';
import { consumerConfig } from './settings';
import { errorText, type ConsumerDeps, type ConsumerOptions, type EventHandler } from './types';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EventConsumer {
  private readonly consumer: Consumer;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly retryDelayMs: number;
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();
  private readonly catchUp: CatchUpTracker;
  private readonly offsets: OffsetCommitter;
  private readonly dedupe: EventDedupe;
  private readonly failures: FailureRoutes;
  private readonly acks: Acknowledger;

  constructor(
    private readonly deps: ConsumerDeps,
    private readonly opts: ConsumerOptions,
  ) {
    const restarting = (err: Error): void => {
      deps.logger.warn('consumer restarting after a broker failure', { group: opts.group, err: errorText(err) });
    };
    this.consumer = deps.kafka.consumer(consumerConfig(opts.group, restarting, opts.fetch));
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && !this.stopped)
        deps.logger.error('consumer stopped by a non-retriable error', { group: opts.group, err: errorText(payload.error) });
    });
    this.dedupe = new EventDedupe(deps.db, this.name, dedupeModeOf(opts));
    this.catchUp = new CatchUpTracker(this.consumer);
    this.attempts = opts.attempts ?? 3;
    this.backoffMs = opts.backoffMs ?? 50;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.offsets = new OffsetCommitter(this.consumer, opts.group, deps.logger, opts.beforeCommit);
    this.failures = new FailureRoutes(deps, this.name, this.retryDelayMs);
    this.acks = new Acknowledger(deps, this.name, opts);
  }

  get group(): string {
    return this.opts.group;
  }

  /** The consumer name acks, marks and retries carry (the subscription's, shared by its priority groups). */
  get name(): string {
    return this.opts.name ?? this.opts.group;
  }

  get topics(): string[] {
    return Object.keys(this.opts.handlers);
  }

  /**
   * How current this member is: every record its partitions held before the returned time (epoch
   * millis; 0 when unknown or stopped) has been handled (see catch-up.ts).
   */
  caughtUpAt(): number {
    return this.stopped ? 0 : this.catchUp.caughtUpAt();
  }

  /** Subscribes and resolves once this member has joined its group and got its partitions. */
  async start(): Promise<void> {
    await this.consumer.connect();
    const topics = this.topics.flatMap((t) => [t, retryTopic(t)]);
    // A new group starting "from now" starts at the end offsets read before it joins (see endOffsets).
    const fresh = this.opts.fromBeginning ? new Set<string>() : await uncommitted(this.deps.kafka, this.opts.group, topics);
    const starts = fresh.size ? (await endOffsets(this.deps.kafka, topics)).filter((o) => fresh.has(`${o.topic}/${o.partition}`)) : [];
    await this.consumer.subscribe({ topics, fromBeginning: this.opts.fromBeginning ?? false });
    const joined = seekStartsOnJoin(this.consumer, starts, (topic, partition) => this.offsets.hasCommitted(topic, partition));
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 6,
      eachMessage: async (p) => {
        if (this.stopped) return; // left uncommitted: the group's next member handles it
        // While the publisher holds more than it may (acks and copies kept through a broker outage),
        // take no new record: memory stays bounded and nothing is dropped.
        await this.deps.publisher.backpressure();
        const work = this.onMessage(p);
        this.inflight.add(work);
        try {
          await work;
        } finally {
          this.inflight.delete(work);
        }
        this.offsets.handledUpTo(p.topic, p.partition, p.message.offset);
      },
    });
    this.offsets.start(this.opts.commitIntervalMs ?? 200);
    await joined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.offsets.stop();
    await Promise.allSettled([...this.inflight]);
    await this.offsets.flush();
    await this.consumer.disconnect();
    if (this.opts.ephemeral) await deleteGroupQuietly(this.deps.kafka, this.opts.group, this.deps.logger);
  }

  /** The pipeline for one record: decode → dedupe → handle → retry/dead-letter → acknowledge. */
  private async onMessage({ topic, partition, message }: EachMessagePayload): Promise<void> {
    const { source, isRetry } = sourceOf(topic);
    if (isRetry) {
      const wait = retryWait(message.headers, this.name, this.retryDelayMs);
      if (wait === null) return; // another group's retry
      if (wait > 0) await sleep(wait);
    }
    let value: Awaited<ReturnType<typeof decodeEvent>>;
    try {
      value = await decodeEvent(this.deps.schemas, source, message.value);
    } catch (err) {
      const reason = err instanceof UndecodableRecordError ? err.reason : 'undecodable';
      await this.failures.deadLetter(source, partition, message, reason, err);
      this.acks.finishRaw(source, message, 'dead_lettered', 1, err);
      return;
    }
    const attemptBase = attemptsBefore(message.headers, isRetry, this.attempts);
    const handler = this.opts.handlers[source as TopicName] as EventHandler<TopicName> | undefined;
    if (!handler) return;
    const { envelope } = value;
    const logger = this.deps.logger.child({ eventId: envelope.eventId, correlationId: envelope.correlationId, topic: source });

    if (await this.dedupe.seen(envelope.eventId)) {
      this.acks.finish(source, message, value, 'skipped_duplicate', attemptBase + 1, envelope.sourceChannel);
      return;
    }

    const tries = isRetry ? 1 : this.attempts;
    const result = await handleWithRetries(
      {
        handler,
        value,
        source,
        partition,
        message,
        group: this.name,
        logger,
        attemptBase,
        tries,
        backoffMs: this.backoffMs,
        afterSuccess: () => this.dedupe.mark(envelope.eventId),
        stopped: () => this.stopped,
      },
      this.deps,
    );
    if (result.ok) {
      this.acks.finish(source, message, value, result.outcome, result.attempt, result.channel, undefined, result.appliedAt);
      return;
    }
    if (this.stopped) throw result.err; // leave the offset uncommitted: the next member replays it
    const attempt = attemptBase + tries;
    if (isRetry) {
      await this.failures.deadLetter(source, partition, message, 'handler_failed', result.err);
      this.acks.finish(source, message, value, 'dead_lettered', attempt, envelope.sourceChannel, result.err);
    } else {
      await this.failures.retry(source, message, attempt, result.err);
      this.acks.finish(source, message, value, 'failed', attempt, envelope.sourceChannel, result.err);
    }
  }
}
