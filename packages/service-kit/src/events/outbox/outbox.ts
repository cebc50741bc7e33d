/**
 * Transactional outbox kept inside the aggregate's own document: the one object a service writes
 * through (`runtime.outbox`), wiring its parts and running their background passes.
 *
 *   entries.ts      the events staged in the document, in the same update as the change
 *   writer.ts       read, decide, compare-and-set on `writeRev` (`transact`, `update`, `create`)
 *   relay.ts        the fast path: publish right after the write, retry a failed publish
 *   recovery.ts     a bounded poll that publishes what a crash left unpublished
 *   cleanup.ts      removal of published entries from documents not written again
 *   published.ts    what this process published and has not removed yet
 *   last-written.ts the documents of exclusive collections as this process last wrote them
 *
 * Guarantee: every committed event is published at least once; a crash after the publish but before
 * the removal republishes it, and consumers drop the duplicate by eventId. Within one process the
 * entries of one document are published one dispatch at a time in `seq` order, so per-aggregate
 * order holds; across instances, consumers compare aggregateVersion. With the runtime's schemas, an
 * event its topic's schema refuses fails its write (422 `event_not_encodable`, nothing committed),
 * and one committed anyway is parked at publish time instead of retried for ever (see relay.ts).
 *
 * Timing: the fast path publishes nearly everything, so the recovery poll only catches crash
 * leftovers, and on FerretDB every non-_id filter scans the collection. At start, each collection is
 * swept once as soon as it is tracked (during the service's build, so before it is ready) for what a
 * crashed predecessor on this host committed and did not publish (recovery.ts, `orphaned`): that goes
 * out at once, not 30-60 s later. The poll runs once `graceMs` after start and then every
 * `pollIntervalMs` (default 60 s) for what another instance leaves behind if it never comes back; an
 * instance that dies on another host (a replaced pod) is noticed sooner, by its writer lease running
 * out (leases.ts: about 5 s), and its entries are swept then. Published entries wait `cleanupAfterMs`
 * (default 15 s) for a later write to remove them for free (a cart edited every few seconds never
 * needs a removal of its own), one entry per write at most.
 *
 * Inside an HTTP request (http/request-context.ts), every write notes the ids of the events it
 * committed on the request, so its answer names them (`x-event-ids`); a write that commits nothing
 * (null decision, refusal, failure) notes none.
 */
import type { Connection, Model, UpdateQuery } from 'mongoose';
import type { Logger } from '../../observability/logger';
import type { ServiceMetrics } from '../../observability/metrics';
import { envelopeHeaders, type EventPublisher } from '../../kafka/publisher';
import { recordBytes } from '../../kafka/publisher/requests';
import { KeyedQueue } from '../../concurrency/keyed-queue';
import type { OutgoingEvent } from '../envelope';
import { documentKey, type OutboxDoc } from './entries';
import { CleanupPass } from './cleanup';
import { LastWritten } from './last-written';
import { PublishedEntries } from './published';
import { RecoveryPass } from './recovery';
import { WriterLeases, type LeaseOptions } from './leases';
import { OutboxRelay } from './relay';
import { OutboxWriter, type Decide, type WriteOptions } from './writer';
import type { EventCheck } from './entries';
import { currentRequest, noteCommittedEvents } from '../../http/request-context';

const idsOf = (events: readonly OutgoingEvent[]): string[] => events.map((e) => e.value.envelope.eventId);

export interface OutboxOptions {
  pollIntervalMs?: number;
  graceMs?: number;
  batchSize?: number;
  cleanupIntervalMs?: number;
  /** How long a published entry may stay in a document that is not written again (default 15,000 ms). */
  cleanupAfterMs?: number;
  /** How many last-written documents of exclusive collections to keep (default 10,000). */
  keepLastWritten?: number;
  /** Read-decide-write rounds before a write gives up with WriteConflictError (default 20). */
  maxAttempts?: number;
  /** Writer leases (leases.ts): renewal beat and how long a silent writer counts as alive; false: none. */
  leases?: LeaseOptions | false;
}

export class Outbox {
  private readonly models = new Map<string, Model<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  private readonly lastWritten: LastWritten;
  private readonly relay: OutboxRelay;
  private readonly writer: OutboxWriter;
  private readonly recovery: RecoveryPass;
  private readonly cleaner: CleanupPass;
  private readonly leases?: WriterLeases;
  private pollTimer?: NodeJS.Timeout;
  private cleanupTimer?: NodeJS.Timeout;
  private polling?: Promise<unknown>;
  private cleaning?: Promise<unknown>;
  private started = false;
  /** The start sweeps begun so far (one per tracked collection). */
  private readonly sweeps: Promise<number>[] = [];
  private readonly pollIntervalMs: number;
  private readonly graceMs: number;
  private readonly cleanupIntervalMs: number;
  private readonly cleanupAfterMs: number;

  constructor(
    publisher: EventPublisher,
    metrics: ServiceMetrics,
    private readonly logger: Logger,
    opts: OutboxOptions = {},
    /**
     * The events' schema check (the runtime's EventSchemas): at write, refuse; at publish, park. With
     * `encodedSize`, an event whose record would be over its topic's size limit (the publisher's
     * `recordLimit`) is refused the same way, when it is written.
     */
    schemas?: { problems: EventCheck; encodedSize?: (topic: string, value: unknown) => number },
    /** The service's database, for the writer leases (without it, only the pid check and the poll find a gone writer's entries). */
    db?: Connection,
  ) {
    // At publish time (relay) the schema alone: a record over the size limit that was committed anyway
    // (before this check, or by an older version) is refused by the publisher and parked `too_large`.
    const check: EventCheck | undefined = schemas ? (topic, value) => schemas.problems(topic, value) : undefined;
    const writeCheck: EventCheck | undefined = schemas
      ? (topic, value) => {
          const problems = schemas.problems(topic, value);
          if (problems.length || !schemas.encodedSize) return problems;
          const env = (value as OutgoingEvent['value']).envelope;
          const bytes =
            recordBytes({ key: env.aggregateId, value: null, headers: envelopeHeaders(env) }) + schemas.encodedSize(topic, value);
          const limit = publisher.recordLimit(topic);
          return bytes > limit ? [`(value): ${bytes} bytes as a record, over the ${limit}-byte limit of ${topic}`] : [];
        }
      : undefined;
    // The poll's grace must exceed cleanupAfterMs + cleanupIntervalMs by a margin, or it would
    // republish what another instance published and has not removed yet.
    this.pollIntervalMs = opts.pollIntervalMs ?? 60000;
    this.graceMs = opts.graceMs ?? 30000;
    this.cleanupIntervalMs = opts.cleanupIntervalMs ?? 1000;
    this.cleanupAfterMs = opts.cleanupAfterMs ?? 15000;
    const writers = new KeyedQueue();
    const published = new PublishedEntries();
    this.lastWritten = new LastWritten(opts.keepLastWritten ?? 10000);
    this.relay = new OutboxRelay(publisher, published, logger, metrics.registry, check);
    this.writer = new OutboxWriter(writers, this.lastWritten, published, this.relay, metrics, opts.maxAttempts ?? 20, writeCheck);
    this.recovery = new RecoveryPass(this.models, published, this.relay, metrics, opts.batchSize ?? 100, this.graceMs);
    this.cleaner = new CleanupPass(this.models, published, this.lastWritten, writers, logger);
    if (db && opts.leases !== false)
      this.leases = new WriterLeases(
        db,
        logger,
        (writer) => Promise.all([...this.models.values()].map((model) => this.recovery.sweep(model, (by) => by?.boot === writer.boot))),
        opts.leases || {},
      );
  }

  /**
   * Declares a model whose documents carry an outbox, so the recovery poll covers it.
   * `exclusive`: every write of these documents goes through this outbox (no direct updates
   * anywhere). Then a write decides on the document as this process last wrote it, without reading
   * it first; the compare-and-set on `writeRev` still catches a write by another process, and the
   * write is decided again on a fresh read. One database call per write instead of two.
   */
  track<T>(model: Model<T>, opts: { exclusive?: boolean } = {}): Model<T> {
    const known = this.models.has(model.collection.collectionName);
    this.models.set(model.collection.collectionName, model);
    if (opts.exclusive) this.lastWritten.markExclusive(model.collection.collectionName);
    if (this.started && !known) this.sweep(model);
    return model;
  }

  /** Publishes, in the background, the entries a crashed predecessor left in one collection (see the header). */
  private sweep<T>(model: Model<T>): void {
    this.sweeps.push(
      this.recovery.sweep(model).catch((err: unknown) => {
        this.logger.warn('outbox start sweep failed; the recovery poll will publish what it left', {
          collection: model.collection.collectionName,
          err: String(err),
        });
        return 0;
      }),
    );
  }

  /** Settles once the start sweeps begun so far have; returns how many events they published. */
  async swept(): Promise<number> {
    return (await Promise.all(this.sweeps)).reduce((a, b) => a + b, 0);
  }

  /** The key of one document (for logs, and for DocumentLocks around multi-document work). */
  lockKey(model: { collection: { collectionName: string } }, id: unknown): string {
    return documentKey(model.collection.collectionName, id);
  }

  /**
   * Reads the document, lets `decide` (domain rules) turn it into a change, and writes the change
   * with its events if the document is still as read; otherwise reads and decides again, so
   * `decide` must have no side effects. `decide` may throw a domain error (nothing is written) or
   * return null (nothing to do). Returns the document after the change.
   */
  async transact<T>(
    model: Model<T>,
    id: unknown,
    decide: Decide<T>,
    opts: WriteOptions = {},
  ): Promise<{ doc: T | null; events: readonly OutgoingEvent[] }> {
    const request = currentRequest(); // taken now: the write's own queue may run it under another's context
    const written = await this.writer.transact(model, id, decide, opts);
    if (written.doc && written.events.length) noteCommittedEvents(request, idsOf(written.events));
    return written;
  }

  /** Applies a fixed update with its events to one document (see transact). */
  async update<T>(
    model: Model<T>,
    id: unknown,
    update: UpdateQuery<T>,
    events: readonly OutgoingEvent[],
    opts: WriteOptions = {},
  ): Promise<T | null> {
    return (await this.transact(model, id, () => ({ update, events }), opts)).doc;
  }

  /** Inserts a new document together with its events (an insert is atomic). */
  async create<T>(model: Model<T>, doc: Partial<T>, events: readonly OutgoingEvent[], opts: WriteOptions = {}): Promise<T> {
    const request = currentRequest();
    const created = await this.writer.create(model, doc, events, opts);
    noteCommittedEvents(request, idsOf(events));
    return created;
  }

  /** Publishes the pending entries of one document, serialised per document. */
  dispatch<T>(model: Model<T>, doc: OutboxDoc): Promise<void> {
    return this.relay.dispatch(model, doc);
  }

  /** Removes published entries from documents not written since (one pass at a time). */
  cleanup(olderThanMs = this.cleanupAfterMs): Promise<void> {
    return this.cleaner.run(olderThanMs);
  }

  /** One recovery pass over every tracked collection; returns how many events it published. */
  recover(): Promise<number> {
    return this.recovery.run();
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.relay.start();
    this.models.forEach((model) => this.sweep(model));
    const loop = (
      first: number,
      every: number,
      work: () => Promise<unknown>,
      slot: 'polling' | 'cleaning',
      timer: 'pollTimer' | 'cleanupTimer',
    ): void => {
      const tick = (): void => {
        this[slot] = work()
          .catch((err) => {
            this.logger.warn(`outbox ${slot} pass failed`, { err: String(err) });
          })
          .finally(() => {
            if (this[timer]) this[timer] = setTimeout(tick, every);
          });
      };
      this[timer] = setTimeout(tick, first);
    };
    loop(Math.min(this.graceMs, this.pollIntervalMs), this.pollIntervalMs, () => this.recover(), 'polling', 'pollTimer');
    loop(this.cleanupIntervalMs, this.cleanupIntervalMs, () => this.cleanup(), 'cleaning', 'cleanupTimer');
    this.leases?.start();
  }

  /** Stops the passes and retries, waits for what is being published, then removes every published entry it can. */
  async stop(): Promise<void> {
    clearTimeout(this.pollTimer);
    clearTimeout(this.cleanupTimer);
    this.pollTimer = undefined;
    this.cleanupTimer = undefined;
    this.relay.stop();
    this.started = false;
    await this.swept();
    await this.polling;
    await this.cleaning;
    await this.relay.drain();
    await this.cleanup(0);
    await this.leases?.stop();
  }
}
