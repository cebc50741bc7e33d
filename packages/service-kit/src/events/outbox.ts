import type { FilterQuery, Model, UpdateQuery } from 'mongoose';
import type { Logger } from '../logger';
import type { ServiceMetrics } from '../metrics';
import type { DocumentLocks } from './document-lock';
import type { OutgoingEvent } from './envelope';
import type { EventPublisher } from './publisher';

/**
 * Transactional outbox kept inside the aggregate's own document.
 *
 * FerretDB (and MongoDB without a replica set) has no multi-document transactions, but one document
 * is written whole. So the events of a change are written in the same update as the change, under
 * `outbox.<eventId>`, with `outboxCount` counting them: the state change and its events are
 * committed together or not at all. Every write runs under the document's lock (document-lock.ts).
 *
 * A relay then publishes them:
 *   - fast path: right after the write, from the document the write returned (no extra read);
 *   - recovery: a bounded poll of documents with `outboxCount > 0` whose entries are older than
 *     `graceMs`, which catches what a crash left between commit and publish.
 * Published entries are removed lazily: the next write of the same document drops them in the same
 * update (it holds the lock and has just read the document, so this costs nothing), and a slower
 * background pass removes those of documents that are not written again.
 *
 * Guarantee: every committed event is published at least once; a crash after the publish but before
 * the removal republishes it, and consumers drop the duplicate by eventId. Within one process the
 * entries of one document are published one dispatch at a time in `seq` order, so per-aggregate
 * order holds; across instances, consumers compare aggregateVersion.
 */
export interface OutboxEntry {
  topic: string;
  key: string;
  value: OutgoingEvent['value'];
  seq: number;
  createdAt: Date;
}

/** Schema paths every outbox-bearing model adds (spread into the mongoose schema definition). */
export const outboxPaths = {
  outbox: { type: Object, default: {} },
  outboxCount: { type: Number, default: 0, index: true },
};

let seqCounter = 0;
function nextSeq(): number {
  seqCounter = (seqCounter + 1) % 1000;
  return Date.now() * 1000 + seqCounter;
}

function entriesOf(events: readonly OutgoingEvent[]): Record<string, OutboxEntry> {
  const out: Record<string, OutboxEntry> = {};
  for (const e of events) {
    out[e.value.envelope.eventId] = { topic: e.topic, key: e.key, value: e.value, seq: nextSeq(), createdAt: new Date() };
  }
  return out;
}

/** Adds the events to an update so they commit atomically with it. */
export function withOutbox<T>(update: UpdateQuery<T>, events: readonly OutgoingEvent[]): UpdateQuery<T> {
  if (!events.length) return update;
  const entries = entriesOf(events);
  const set: Record<string, unknown> = { ...((update.$set as object) ?? {}) };
  for (const [id, entry] of Object.entries(entries)) set[`outbox.${id}`] = entry;
  const inc: Record<string, number> = { ...((update.$inc as Record<string, number>) ?? {}) };
  inc.outboxCount = (inc.outboxCount ?? 0) + events.length;
  return { ...update, $set: set, $inc: inc } as UpdateQuery<T>;
}

interface OutboxDoc {
  _id: unknown;
  outbox?: Record<string, OutboxEntry>;
  outboxCount?: number;
}

/** What a decision on the current document wants to do: an update and the events it causes. */
export interface Change<T> {
  update: UpdateQuery<T>;
  events: readonly OutgoingEvent[];
}

export interface OutboxOptions {
  pollIntervalMs?: number;
  graceMs?: number;
  batchSize?: number;
  cleanupIntervalMs?: number;
}

export interface WriteOptions {
  upsert?: boolean;
  /** Wait for Kafka's acknowledgement before resolving (default: publish in the background). */
  awaitPublish?: boolean;
  /** Skip the fast path (tests use it to simulate a crash between commit and publish). */
  dispatch?: boolean;
}

export class Outbox {
  private readonly models = new Map<string, Model<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<string>();
  /** Published but not yet removed from their document: collection → doc id → event ids. */
  private readonly published = new Map<string, Map<string, { id: unknown; ids: Set<string> }>>();
  private pollTimer?: NodeJS.Timeout;
  private cleanupTimer?: NodeJS.Timeout;
  private polling?: Promise<unknown>;
  private cleaning?: Promise<unknown>;
  private readonly pollIntervalMs: number;
  private readonly graceMs: number;
  private readonly batchSize: number;
  private readonly cleanupIntervalMs: number;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly locks: DocumentLocks,
    private readonly metrics: ServiceMetrics,
    private readonly logger: Logger,
    opts: OutboxOptions = {},
  ) {
    // The fast path publishes nearly everything; the poll only catches crash leftovers, and on
    // FerretDB every non-_id filter scans the collection, so it runs rarely.
    this.pollIntervalMs = opts.pollIntervalMs ?? 5000;
    this.graceMs = opts.graceMs ?? 3000;
    this.batchSize = opts.batchSize ?? 100;
    this.cleanupIntervalMs = opts.cleanupIntervalMs ?? 1000;
  }

  /** Declares a model whose documents carry an outbox, so the recovery poll covers it. */
  track<T>(model: Model<T>): Model<T> {
    this.models.set(model.collection.collectionName, model);
    return model;
  }

  /** The lock key of one document; use it to run other read-modify-writes of that document. */
  lockKey(model: { collection: { collectionName: string } }, id: unknown): string {
    return `${model.collection.collectionName}:${String(id)}`;
  }

  /**
   * Reads the document, lets `decide` (domain rules) turn it into a change, and writes the change
   * with its events, all under the document's lock. `decide` may throw a domain error (nothing is
   * written) or return null (nothing to do). Returns the document after the change.
   */
  async transact<T>(
    model: Model<T>,
    id: unknown,
    decide: (current: T | null) => Change<T> | null | Promise<Change<T> | null>,
    opts: WriteOptions = {},
  ): Promise<{ doc: T | null; events: readonly OutgoingEvent[] }> {
    const { doc, events } = await this.locks.run(this.lockKey(model, id), async () => {
      const current = (await model.findById(id).lean()) as T | null;
      const change = await decide(current);
      if (!change) return { doc: current, events: [] as readonly OutgoingEvent[] };
      const { update, dropped } = this.dropPublished(model, current as OutboxDoc | null, withOutbox(change.update, change.events));
      const updated = (await model
        .findOneAndUpdate({ _id: id } as FilterQuery<T>, update, {
          new: true,
          upsert: opts.upsert ?? current === null,
        })
        .lean()) as T | null;
      this.forget(model.collection.collectionName, id, dropped);
      return { doc: updated, events: change.events };
    });
    if (doc && events.length && opts.dispatch !== false) await this.afterWrite(model, doc as unknown as OutboxDoc, events, opts);
    return { doc, events };
  }

  /**
   * Adds to an update (made under the document's lock, right after reading `current`) the removal
   * of the entries this process already published.
   */
  private dropPublished<T>(
    model: Model<T>,
    current: OutboxDoc | null,
    update: UpdateQuery<T>,
  ): { update: UpdateQuery<T>; dropped: string[] } {
    const done = current ? this.published.get(model.collection.collectionName)?.get(String(current._id)) : undefined;
    if (!current || !done) return { update, dropped: [] };
    const dropped = [...done.ids];
    const present = dropped.filter((id) => current.outbox && id in current.outbox);
    if (!present.length) return { update, dropped };
    const unset: Record<string, ''> = { ...((update.$unset as Record<string, ''>) ?? {}) };
    for (const id of present) unset[`outbox.${id}`] = '';
    const inc: Record<string, number> = { ...((update.$inc as Record<string, number>) ?? {}) };
    inc.outboxCount = (inc.outboxCount ?? 0) - present.length;
    return { update: { ...update, $unset: unset, $inc: inc } as UpdateQuery<T>, dropped };
  }

  /** Stops tracking published entries once their removal is committed (not before: the recovery poll would republish them). */
  private forget(collection: string, docId: unknown, ids: string[]): void {
    if (!ids.length) return;
    const byDoc = this.published.get(collection);
    const entry = byDoc?.get(String(docId));
    if (!entry) return;
    ids.forEach((id) => entry.ids.delete(id));
    if (!entry.ids.size) byDoc!.delete(String(docId));
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

  /** Inserts a new document together with its events (an insert is atomic: no lock needed). */
  async create<T>(model: Model<T>, doc: Partial<T>, events: readonly OutgoingEvent[], opts: WriteOptions = {}): Promise<T> {
    const [created] = await model.create([{ ...doc, outbox: entriesOf(events), outboxCount: events.length }]);
    const lean = created.toObject() as T & OutboxDoc;
    if (events.length && opts.dispatch !== false) await this.afterWrite(model, lean, events, opts);
    return lean;
  }

  /**
   * The fast path publishes only the events of this write: entries another instance staged in the
   * same document are its own to publish (or the recovery poll's), so nothing goes out twice.
   */
  private async afterWrite<T>(model: Model<T>, doc: OutboxDoc, events: readonly OutgoingEvent[], opts: WriteOptions): Promise<void> {
    const mine: Record<string, OutboxEntry> = {};
    for (const e of events) {
      const entry = doc.outbox?.[e.value.envelope.eventId];
      if (entry) mine[e.value.envelope.eventId] = entry;
    }
    const p = this.dispatch(model, { _id: doc._id, outbox: mine });
    if (opts.awaitPublish) await p;
    else p.catch(() => undefined); // logged in dispatch; the recovery poll retries
  }

  /** Publishes the pending entries of one document, serialised per document. */
  dispatch<T>(model: Model<T>, doc: OutboxDoc): Promise<void> {
    const key = this.lockKey(model, doc._id);
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.publishEntries(model, doc));
    this.chains.set(key, next);
    void next
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      })
      .catch(() => undefined);
    return next;
  }

  private async publishEntries<T>(model: Model<T>, doc: OutboxDoc): Promise<void> {
    const collection = model.collection.collectionName;
    const done = this.published.get(collection)?.get(String(doc._id))?.ids;
    const pending = Object.entries(doc.outbox ?? {})
      .filter(([id]) => !this.inFlight.has(id) && !done?.has(id))
      .sort(([, a], [, b]) => a.seq - b.seq);
    if (!pending.length) return;
    const ids = pending.map(([id]) => id);
    ids.forEach((id) => this.inFlight.add(id));
    try {
      await this.publisher.publish(pending.map(([, e]) => ({ topic: e.topic as OutgoingEvent['topic'], key: e.key, value: e.value })));
      if (!this.published.has(collection)) this.published.set(collection, new Map());
      const byDoc = this.published.get(collection)!;
      const entry = byDoc.get(String(doc._id)) ?? { id: doc._id, ids: new Set<string>() };
      ids.forEach((id) => entry.ids.add(id));
      byDoc.set(String(doc._id), entry);
    } catch (err) {
      this.logger.warn('outbox dispatch failed; the recovery poll will retry', { err: String(err), eventIds: ids });
      throw err;
    } finally {
      ids.forEach((id) => this.inFlight.delete(id));
    }
  }

  private cleanupChain: Promise<void> = Promise.resolve();

  /** Removes published entries from their documents, under each document's lock (one pass at a time). */
  cleanup(): Promise<void> {
    this.cleanupChain = this.cleanupChain.then(() => this.cleanupPass());
    return this.cleanupChain;
  }

  private async cleanupPass(): Promise<void> {
    for (const [collection, byDoc] of this.published) {
      const model = this.models.get(collection);
      if (!model) continue;
      for (const { id: docId, ids } of [...byDoc.values()]) {
        const wanted = [...ids];
        await this.locks
          .run(this.lockKey(model, docId), async () => {
            const doc = (await model.collection.findOne({ _id: docId } as never, { projection: { outbox: 1 } })) as OutboxDoc | null;
            const present = wanted.filter((id) => doc?.outbox && id in doc.outbox);
            if (present.length) {
              await model.collection.updateOne(
                { _id: docId } as never,
                { $unset: Object.fromEntries(present.map((id) => [`outbox.${id}`, ''])), $inc: { outboxCount: -present.length } } as never,
              );
            }
            this.forget(collection, docId, wanted);
          })
          .catch((err) => this.logger.warn('outbox cleanup failed; the next pass retries', { err: String(err), collection, docId }));
      }
    }
  }

  /** One recovery pass over every tracked collection; returns how many events it published. */
  async recover(): Promise<number> {
    let published = 0;
    for (const [name, model] of this.models) {
      const docs = (await model.collection
        .find({ outboxCount: { $gt: 0 } } as never, { projection: { outbox: 1, outboxCount: 1 } })
        .limit(this.batchSize)
        .toArray()) as unknown as OutboxDoc[];
      const now = Date.now();
      let depth = 0;
      let oldest = 0;
      for (const doc of docs) {
        const done = this.published.get(name)?.get(String(doc._id))?.ids;
        const entries = Object.entries(doc.outbox ?? {}).filter(([id]) => !done?.has(id));
        depth += entries.length;
        for (const [, e] of entries) oldest = Math.max(oldest, now - new Date(e.createdAt).getTime());
        const due = Object.fromEntries(entries.filter(([, e]) => now - new Date(e.createdAt).getTime() >= this.graceMs));
        if (!Object.keys(due).length) continue;
        try {
          await this.dispatch(model, { _id: doc._id, outbox: due });
          published += Object.keys(due).length;
        } catch {
          /* logged in dispatch; next pass retries */
        }
      }
      this.metrics.outboxDepth.labels(name).set(depth);
      this.metrics.outboxOldestAge.labels(name).set(oldest / 1000);
    }
    return published;
  }

  start(): void {
    if (this.pollTimer) return;
    const loop = (every: number, work: () => Promise<unknown>, slot: 'polling' | 'cleaning', timer: 'pollTimer' | 'cleanupTimer'): void => {
      const tick = (): void => {
        this[slot] = work()
          .catch((err) => {
            this.logger.warn(`outbox ${slot} pass failed`, { err: String(err) });
          })
          .finally(() => {
            if (this[timer]) this[timer] = setTimeout(tick, every);
          });
      };
      this[timer] = setTimeout(tick, every);
    };
    loop(this.pollIntervalMs, () => this.recover(), 'polling', 'pollTimer');
    loop(this.cleanupIntervalMs, () => this.cleanup(), 'cleaning', 'cleanupTimer');
  }

  async stop(): Promise<void> {
    clearTimeout(this.pollTimer);
    clearTimeout(this.cleanupTimer);
    this.pollTimer = undefined;
    this.cleanupTimer = undefined;
    await this.polling;
    await this.cleaning;
    await Promise.allSettled([...this.chains.values()]);
    await this.cleanup();
  }
}
