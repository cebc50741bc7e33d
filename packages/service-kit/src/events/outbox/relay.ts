/**
 * The relay: publishes the entries a write staged, right after the write, from the document the
 * write returned (no extra read).
 *
 * Guarantees:
 *  - per-aggregate order: the entries of one document are published one dispatch at a time, in
 *    `seq` order (dispatches queue per document key);
 *  - no double publish from this process: an entry being published or already published (listed in
 *    PublishedEntries, or removed since: the copy of the document dispatched may predate the removal)
 *    is skipped;
 *  - only this write's own events go out on the fast path: entries another instance staged in the
 *    same document are its own to publish (or the recovery pass's);
 *  - a failed publish is tried again by this process with backoff (200 ms doubling to RETRY_MAX_MS,
 *    1 s, so what was written while the broker was away goes out within about a second of its
 *    return; a publish attempt itself waits out the producer's own retries, so an outage costs no
 *    more than one attempt a second per document) while the outbox runs; after a stop, the next
 *    start's recovery pass finds it;
 *  - an entry that can never be published is parked instead of retried for ever: marked `parked` in
 *    its document (kept there, visible, with the problems and a reason), counted in
 *    `omnimall_outbox_parked_total{topic,collection,reason}` (alert on it) and logged once, and never
 *    tried again; the document's other entries, and other documents, are published as usual. Reasons:
 *    `schema` (its topic's schema refuses it: committed before the write-time check, or by an older
 *    version), `too_large` (over the publisher's record limit: at once) or the broker's error type
 *    (a record the broker refuses: after MAX_REFUSALS attempts with the retry backoff, about 0.6 s,
 *    since some refusals pass later, such as a topic created late). The publisher isolates such a
 *    record from the rest of its request, so the entries published with it are recorded as published;
 *  - repeated dispatch failures are logged at most once per 10 s per kind (counted on every one).
 */
import type { Model } from 'mongoose';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../observability/logger';
import { RecordsRefusedError, type EventPublisher } from '../../kafka/publisher';
import { failureKind, RateLimitedLog } from '../../kafka/publisher/failures';
import { KeyedQueue } from '../../concurrency/keyed-queue';
import type { OutgoingEvent } from '../envelope';
import { documentKey, type EventCheck, type OutboxDoc, type OutboxEntry } from './entries';
import type { PublishedEntries } from './published';

const PARKED_METRIC = 'omnimall_outbox_parked_total';

/** The parked-entries counter of a registry (one per registry, however many outboxes share it). */
/** Publish attempts of an entry the broker refuses before it is parked. */
const MAX_REFUSALS = 3;

type ParkedLabels = 'topic' | 'collection' | 'reason';

function parkedCounter(registry: Registry): Counter<ParkedLabels> {
  return (
    (registry.getSingleMetric(PARKED_METRIC) as Counter<ParkedLabels> | undefined) ??
    new Counter({
      name: PARKED_METRIC,
      help: 'Outbox entries parked because they can never be published (schema refuses, too large, broker refuses); kept in the document',
      labelNames: ['topic', 'collection', 'reason'],
      registers: [registry],
    })
  );
}

/** The longest wait between two attempts to publish a document's entries. */
const RETRY_MAX_MS = 1_000;

export class OutboxRelay {
  private readonly relays = new KeyedQueue();
  private readonly inFlight = new Set<string>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Between the outbox's start and stop: failed publishes are retried only then. */
  private running = false;
  /** Entries parked by this process (their documents may not show the marker to a copy read earlier). */
  private readonly parkedIds = new LRUCache<string, true>({ max: 10_000 });
  private readonly parkedTotal: Counter<ParkedLabels>;
  /** How many times the broker refused an entry not parked yet. */
  private readonly refusals = new LRUCache<string, number>({ max: 10_000 });
  private readonly failures: RateLimitedLog;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly published: PublishedEntries,
    private readonly logger: Logger,
    registry: Registry,
    /** The schema check run before each publish (absent: none, every entry is sent). */
    private readonly check?: EventCheck,
  ) {
    this.parkedTotal = parkedCounter(registry);
    this.failures = new RateLimitedLog(logger, registry);
  }

  start(): void {
    this.running = true;
  }

  /** Stops retrying; what is being published is left to finish (see drain). */
  stop(): void {
    this.running = false;
    this.retryTimers.forEach(clearTimeout);
    this.retryTimers.clear();
  }

  /** Settles once every dispatch queued so far has settled. */
  drain(): Promise<void> {
    return this.relays.drain();
  }

  /** Publishes this write's events from the document it returned; awaits Kafka only with `awaitPublish`. */
  async afterWrite<T>(model: Model<T>, doc: OutboxDoc, events: readonly OutgoingEvent[], awaitPublish: boolean): Promise<void> {
    const mine: Record<string, OutboxEntry> = {};
    for (const e of events) {
      const entry = doc.outbox?.[e.value.envelope.eventId];
      if (entry) mine[e.value.envelope.eventId] = entry;
    }
    const p = this.dispatch(model, { _id: doc._id, outbox: mine });
    p.catch(() => this.retryLater(model, { _id: doc._id, outbox: mine }));
    if (awaitPublish) await p;
  }

  /** A failed publish is tried again by this process (backoff up to RETRY_MAX_MS); after a stop, the next start's poll finds it. */
  retryLater<T>(model: Model<T>, doc: OutboxDoc, delayMs = 200): void {
    if (!this.running) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.dispatch(model, doc).catch(() => this.retryLater(model, doc, Math.min(delayMs * 2, RETRY_MAX_MS)));
    }, delayMs);
    this.retryTimers.add(timer);
  }

  /** Publishes the pending entries of one document, serialised per document. */
  dispatch<T>(model: Model<T>, doc: OutboxDoc): Promise<void> {
    return this.relays.run(documentKey(model.collection.collectionName, doc._id), () => this.publishEntries(model, doc));
  }

  private async publishEntries<T>(model: Model<T>, doc: OutboxDoc): Promise<void> {
    const collection = model.collection.collectionName;
    const candidates = Object.entries(doc.outbox ?? {})
      .filter(
        ([id, e]) =>
          !this.inFlight.has(id) && !this.published.wasPublished(collection, doc._id, id) && !e.parked && !this.parkedIds.has(id),
      )
      .sort(([, a], [, b]) => a.seq - b.seq);
    const pending = await this.parkUnencodable(model, doc._id, candidates);
    if (!pending.length) return;
    const ids = pending.map(([id]) => id);
    ids.forEach((id) => this.inFlight.add(id));
    try {
      await this.publisher.publish(pending.map(([, e]) => ({ topic: e.topic as OutgoingEvent['topic'], key: e.key, value: e.value })));
      this.published.record(collection, doc._id, ids, Date.now());
    } catch (err) {
      if (err instanceof RecordsRefusedError && (await this.afterRefusal(model, doc._id, pending, err))) return;
      this.failures.note('warn', 'outbox dispatch failed; it will be retried', failureKind(err), 'dispatch', {
        err: String(err),
        collection,
        eventIds: ids,
      });
      throw err;
    } finally {
      ids.forEach((id) => this.inFlight.delete(id));
    }
  }

  /**
   * Some entries were refused: records the others as published (unless they failed too), parks the
   * refused ones that cannot pass (see the header). True when nothing is left to retry.
   */
  private async afterRefusal<T>(
    model: Model<T>,
    docId: unknown,
    pending: [string, OutboxEntry][],
    err: RecordsRefusedError,
  ): Promise<boolean> {
    const collection = model.collection.collectionName;
    const refused = new Map(err.refused.map((r) => [r.eventId, r.error]));
    if (!err.othersFailed)
      this.published.record(
        collection,
        docId,
        pending.map(([id]) => id).filter((id) => !refused.has(id)),
        Date.now(),
      );
    let retry = err.othersFailed;
    for (const [id, entry] of pending) {
      const error = refused.get(id);
      if (!error) continue;
      const attempts = (this.refusals.get(id) ?? 0) + 1;
      if (!error.permanent && attempts < MAX_REFUSALS) {
        this.refusals.set(id, attempts);
        retry = true;
        continue;
      }
      this.refusals.delete(id);
      await this.park(model, docId, id, entry, error.reason, [error.message]);
    }
    return !retry;
  }

  /** Parks one entry: marked in its document, counted, logged once, never tried again by this process. */
  private async park<T>(
    model: Model<T>,
    docId: unknown,
    id: string,
    entry: OutboxEntry,
    reason: string,
    problems: string[],
  ): Promise<void> {
    this.parkedIds.set(id, true);
    const collection = model.collection.collectionName;
    this.parkedTotal.labels(entry.topic, collection, reason).inc();
    this.logger.error('outbox entry parked: it cannot be published and will not be tried again', {
      collection,
      docId: String(docId),
      eventId: id,
      topic: entry.topic,
      reason,
      problems,
    });
    await model.collection
      .updateOne(
        { _id: docId, [`outbox.${id}`]: { $exists: true } } as never,
        {
          $set: { [`outbox.${id}.parked`]: { at: new Date(), problems, reason } },
        } as never,
      )
      .catch((err: unknown) => this.logger.warn('could not mark the parked outbox entry', { eventId: id, err: String(err) }));
  }

  /** Parks the entries the schema check refuses (see the header) and returns the others. */
  private async parkUnencodable<T>(model: Model<T>, docId: unknown, entries: [string, OutboxEntry][]): Promise<[string, OutboxEntry][]> {
    if (!this.check) return entries;
    const ok: [string, OutboxEntry][] = [];
    for (const [id, entry] of entries) {
      const problems = this.check(entry.topic, entry.value);
      if (!problems.length) {
        ok.push([id, entry]);
        continue;
      }
      await this.park(model, docId, id, entry, 'schema', problems);
    }
    return ok;
  }
}
