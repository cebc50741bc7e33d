/**
 * The relay: publishes the entries a write staged, right after the write, from the document the
 * write returned (no extra read).
 *
 * Guarantees:
 *  - per-aggregate order: the entries of one document are published one dispatch at a time, in
 *    `seq` order (dispatches queue per document key);
 *  - no double publish from this process: an entry being published or already published (listed in
 *    PublishedEntries) is skipped;
 *  - only this write's own events go out on the fast path: entries another instance staged in the
 *    same document are its own to publish (or the recovery pass's);
 *  - a failed publish is tried again by this process with backoff (up to 5 s) while the outbox runs;
 *    after a stop, the next start's recovery pass finds it.
 */
import type { Model } from 'mongoose';
import type { Logger } from '../../observability/logger';
import type { EventPublisher } from '../../kafka/publisher';
import { KeyedQueue } from '../../concurrency/keyed-queue';
import type { OutgoingEvent } from '../envelope';
import { documentKey, type OutboxDoc, type OutboxEntry } from './entries';
import type { PublishedEntries } from './published';

export class OutboxRelay {
  private readonly relays = new KeyedQueue();
  private readonly inFlight = new Set<string>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Between the outbox's start and stop: failed publishes are retried only then. */
  private running = false;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly published: PublishedEntries,
    private readonly logger: Logger,
  ) {}

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

  /** A failed publish is tried again by this process (backoff up to 5 s); after a stop, the next start's poll finds it. */
  retryLater<T>(model: Model<T>, doc: OutboxDoc, delayMs = 200): void {
    if (!this.running) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.dispatch(model, doc).catch(() => this.retryLater(model, doc, Math.min(delayMs * 2, 5000)));
    }, delayMs);
    this.retryTimers.add(timer);
  }

  /** Publishes the pending entries of one document, serialised per document. */
  dispatch<T>(model: Model<T>, doc: OutboxDoc): Promise<void> {
    return this.relays.run(documentKey(model.collection.collectionName, doc._id), () => this.publishEntries(model, doc));
  }

  private async publishEntries<T>(model: Model<T>, doc: OutboxDoc): Promise<void> {
    const collection = model.collection.collectionName;
    const done = this.published.of(collection, doc._id);
    const pending = Object.entries(doc.outbox ?? {})
      .filter(([id]) => !this.inFlight.has(id) && !done?.has(id))
      .sort(([, a], [, b]) => a.seq - b.seq);
    if (!pending.length) return;
    const ids = pending.map(([id]) => id);
    ids.forEach((id) => this.inFlight.add(id));
    try {
      await this.publisher.publish(pending.map(([, e]) => ({ topic: e.topic as OutgoingEvent['topic'], key: e.key, value: e.value })));
      this.published.record(collection, doc._id, ids, Date.now());
    } catch (err) {
      this.logger.warn('outbox dispatch failed; it will be retried', { err: String(err), eventIds: ids });
      throw err;
    } finally {
      ids.forEach((id) => this.inFlight.delete(id));
    }
  }
}
