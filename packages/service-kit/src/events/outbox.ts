import type { FilterQuery, Model, UpdateQuery } from 'mongoose';
import type { Logger } from '../observability/logger';
import type { ServiceMetrics } from '../observability/metrics';
import { isDuplicateKeyError } from '../errors';
import type { OutgoingEvent } from './envelope';
import { KeyedQueue } from '../concurrency/keyed-queue';
import type { EventPublisher } from '../kafka/publisher';

/**
 * Transactional outbox kept inside the aggregate's own document.
 *
 * FerretDB (and MongoDB without a replica set) has no multi-document transactions, but one document
 * is written whole. So the events of a change are written in the same update as the change, under
 * `outbox.<eventId>`, with `outboxCount` counting them: the state change and its events are
 * committed together or not at all.
 *
 * Concurrency: a write reads the document, lets the domain decide, and writes only if the document's
 * `writeRev` is still the one it read (a compare-and-set, atomic on MongoDB and on the locally
 * patched FerretDB); on a conflict it reads again and decides again. Writers of one document inside
 * one process queue behind each other, so conflicts only come from other processes.
 *
 * A relay then publishes them:
 *   - fast path: right after the write, from the document the write returned (no extra read);
 *     a failed publish is retried by this process with backoff until it succeeds or the process stops;
 *   - recovery: a bounded poll of documents with `outboxCount > 0` whose entries are older than
 *     `graceMs`, which catches what a crash left between commit and publish. On FerretDB such a
 *     filter reads the whole collection, so the poll runs once `graceMs` after start (a restarted
 *     process finds its own leftovers) and then every `pollIntervalMs` (default 60 s: another
 *     instance's leftovers, if it never comes back).
 * Published entries are removed lazily: the next write of the same document drops them in the same
 * update (it has just read the document, so this costs nothing), and a background pass removes,
 * after `cleanupAfterMs` (default 15 s), those of documents that were not written again, up to 50
 * documents in one bulk write. The longer the wait, the more removals ride on a later write for free
 * (a cart edited every few seconds never needs a removal of its own); entries wait in the document
 * meanwhile, one per write at most.
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
  /** Bumped by every outbox write: the compare-and-set token. */
  writeRev: { type: Number },
};

/** A document kept changing under a writer for more than `maxAttempts` read-decide-write rounds. */
export class WriteConflictError extends Error {
  constructor(key: string, attempts: number) {
    super(`${key} changed under ${attempts} consecutive writes`);
  }
}

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
/** The fields the outbox owns: never written by a caller's `$set`, never shown to clients. */
export const OUTBOX_FIELDS = ['outbox', 'outboxCount', 'writeRev'] as const;
type OutboxField = (typeof OUTBOX_FIELDS)[number];

/** A read projection that leaves the outbox's fields out (for what is answered to clients). */
export const WITHOUT_OUTBOX: Readonly<Record<OutboxField, 0>> = { outbox: 0, outboxCount: 0, writeRev: 0 };

/** A copy of a document (or of a `$set` made from one) without the outbox's fields. */
export function withoutOutbox<T extends object>(doc: T): Omit<T, OutboxField> {
  const out = { ...doc } as Record<string, unknown>;
  for (const f of OUTBOX_FIELDS) delete out[f];
  return out as Omit<T, OutboxField>;
}

export function withOutbox<T>(update: UpdateQuery<T>, events: readonly OutgoingEvent[]): UpdateQuery<T> {
  if (update.$set) update = { ...update, $set: withoutOutbox(update.$set as object) } as UpdateQuery<T>;
  if (!events.length) return update;
  const entries = entriesOf(events);
  const set: Record<string, unknown> = { ...((update.$set as object) ?? {}) };
  for (const [id, entry] of Object.entries(entries)) set[`outbox.${id}`] = entry;
  const inc: Record<string, number> = { ...((update.$inc as Record<string, number>) ?? {}) };
  inc.outboxCount = (inc.outboxCount ?? 0) + events.length;
  return { ...update, $set: set, $inc: inc } as UpdateQuery<T>;
}

export interface OutboxDoc {
  _id: unknown;
  outbox?: Record<string, OutboxEntry>;
  outboxCount?: number;
  writeRev?: number;
}

/** The compare-and-set condition: the document as read (a missing document must still be missing). */
function unchangedSince(id: unknown, current: OutboxDoc | null): Record<string, unknown> {
  return { _id: id, writeRev: current?.writeRev ?? { $exists: false } };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Documents one cleanup write covers. */
const CLEANUP_BATCH = 50;

/** Published entries of one document that a cleanup pass removes. */
interface Removal {
  docId: unknown;
  key: string;
  wanted: string[];
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
  /** How long a published entry may stay in a document that is not written again (default 15,000 ms). */
  cleanupAfterMs?: number;
  /** How many last-written documents of exclusive collections to keep (default 10,000). */
  keepLastWritten?: number;
  /** Read-decide-write rounds before a write gives up with WriteConflictError (default 20). */
  maxAttempts?: number;
}

export interface WriteOptions {
  upsert?: boolean;
  /** Wait for Kafka's acknowledgement before resolving (default: publish in the background). */
  awaitPublish?: boolean;
  /** Skip the fast path (tests use it to simulate a crash between commit and publish). */
  dispatch?: boolean;
  /**
   * The document most likely does not exist yet (a new event's tracking, say): when this process has
   * no copy of it, decide on "absent" and write without reading first. If it does exist, the write
   * matches nothing and the usual read-decide-write follows: one wasted call instead of one saved.
   * `decide` must accept null. Ignored with `upsert: false`.
   */
  assumeNew?: boolean;
}

export class Outbox {
  private readonly models = new Map<string, Model<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Collections declared written only through this outbox, whose last written documents are kept. */
  private readonly exclusive = new Set<string>();
  /** key → the document as this process last wrote it (exclusive collections only; bounded, oldest first out). */
  private readonly lastWritten = new Map<string, OutboxDoc>();
  private readonly lastWrittenMax: number;
  /** collection → the _id after which the next recovery pass continues. */
  private readonly pollFrom = new Map<string, unknown>();
  private readonly writers = new KeyedQueue();
  private readonly relays = new KeyedQueue();
  private readonly inFlight = new Set<string>();
  /** Published but not yet removed from their document: collection → doc id → event id → published at. */
  private readonly published = new Map<string, Map<string, { id: unknown; ids: Map<string, number> }>>();
  private pollTimer?: NodeJS.Timeout;
  private cleanupTimer?: NodeJS.Timeout;
  private polling?: Promise<unknown>;
  private cleaning?: Promise<unknown>;
  private readonly pollIntervalMs: number;
  private readonly graceMs: number;
  private readonly batchSize: number;
  private readonly cleanupIntervalMs: number;
  private readonly cleanupAfterMs: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly metrics: ServiceMetrics,
    private readonly logger: Logger,
    opts: OutboxOptions = {},
  ) {
    // The fast path publishes nearly everything; the poll only catches crash leftovers, and on
    // FerretDB every non-_id filter scans the collection, so it runs rarely. Its grace must exceed
    // cleanupAfterMs + cleanupIntervalMs by a margin, or it would republish what another instance
    // published and has not removed yet.
    this.pollIntervalMs = opts.pollIntervalMs ?? 60000;
    this.graceMs = opts.graceMs ?? 30000;
    this.batchSize = opts.batchSize ?? 100;
    this.cleanupIntervalMs = opts.cleanupIntervalMs ?? 1000;
    this.cleanupAfterMs = opts.cleanupAfterMs ?? 15000;
    this.lastWrittenMax = opts.keepLastWritten ?? 10000;
    this.maxAttempts = opts.maxAttempts ?? 20;
  }

  /**
   * Declares a model whose documents carry an outbox, so the recovery poll covers it.
   * `exclusive`: every write of these documents goes through this outbox (no direct updates
   * anywhere). Then a write decides on the document as this process last wrote it, without reading
   * it first; the compare-and-set on `writeRev` still catches a write by another process, and the
   * write is decided again on a fresh read. One database call per write instead of two.
   */
  track<T>(model: Model<T>, opts: { exclusive?: boolean } = {}): Model<T> {
    this.models.set(model.collection.collectionName, model);
    if (opts.exclusive) this.exclusive.add(model.collection.collectionName);
    return model;
  }

  /** Keeps a private copy: the caller owns the document it was handed and may change it. */
  private remember(collection: string, key: string, doc: OutboxDoc): void {
    this.lastWritten.delete(key);
    if (!this.exclusive.has(collection)) return;
    this.lastWritten.set(key, structuredClone(doc));
    if (this.lastWritten.size > this.lastWrittenMax) this.lastWritten.delete(this.lastWritten.keys().next().value as string);
  }

  /** The key of one document (for logs, and for DocumentLocks around multi-document work). */
  lockKey(model: { collection: { collectionName: string } }, id: unknown): string {
    return `${model.collection.collectionName}:${String(id)}`;
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
    decide: (current: T | null) => Change<T> | null | Promise<Change<T> | null>,
    opts: WriteOptions = {},
  ): Promise<{ doc: T | null; events: readonly OutgoingEvent[] }> {
    const key = this.lockKey(model, id);
    const { doc, events } = await this.writers.run(key, () => this.writeWhenUnchanged(model, id, decide, opts, key));
    if (doc && events.length && opts.dispatch !== false) await this.afterWrite(model, doc as unknown as OutboxDoc, events, opts);
    return { doc, events };
  }

  private async writeWhenUnchanged<T>(
    model: Model<T>,
    id: unknown,
    decide: (current: T | null) => Change<T> | null | Promise<Change<T> | null>,
    opts: WriteOptions,
    key: string,
  ): Promise<{ doc: T | null; events: readonly OutgoingEvent[] }> {
    const collection = model.collection.collectionName;
    for (let attempt = 1; ; attempt++) {
      const known = attempt === 1 ? this.lastWritten.get(key) : undefined;
      const guessed = attempt === 1 && !known && opts.assumeNew === true && opts.upsert !== false;
      const current = (known ? structuredClone(known) : guessed ? null : await model.findById(id).lean()) as T | null;
      const change = await decide(current);
      if (!change) return { doc: current, events: [] };
      const { update, dropped } = this.dropPublished(model, current as OutboxDoc | null, withOutbox(change.update, change.events));
      const upsert = opts.upsert ?? current === null;
      const guarded = { ...update, $inc: { ...((update.$inc as object) ?? {}), writeRev: 1 } } as UpdateQuery<T>;
      try {
        const updated = (await model
          .findOneAndUpdate(unchangedSince(id, current as OutboxDoc | null) as FilterQuery<T>, guarded, { new: true, upsert })
          .lean()) as T | null;
        if (updated) {
          this.forget(collection, id, dropped);
          this.remember(collection, key, updated as unknown as OutboxDoc);
          return { doc: updated, events: change.events };
        }
        if (current === null && !upsert) return { doc: null, events: change.events }; // nothing to update, as asked
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // a duplicate _id: another writer created it first
      }
      this.lastWritten.delete(key);
      if (known || guessed) continue; // what this process wrote last (or guessed) is not the latest: read it
      this.metrics.writeConflicts.labels(collection).inc();
      if (attempt >= this.maxAttempts) throw new WriteConflictError(key, attempt);
      await sleep(Math.random() * Math.min(2 ** attempt, 50));
    }
  }

  /**
   * Adds to an update (conditional on `current`, just read) the removal of the entries this process
   * already published.
   */
  private dropPublished<T>(
    model: Model<T>,
    current: OutboxDoc | null,
    update: UpdateQuery<T>,
  ): { update: UpdateQuery<T>; dropped: string[] } {
    const done = current ? this.published.get(model.collection.collectionName)?.get(String(current._id)) : undefined;
    if (!current || !done) return { update, dropped: [] };
    const dropped = [...done.ids.keys()];
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

  /** Inserts a new document together with its events (an insert is atomic). */
  async create<T>(model: Model<T>, doc: Partial<T>, events: readonly OutgoingEvent[], opts: WriteOptions = {}): Promise<T> {
    const [created] = await model.create([{ ...doc, outbox: entriesOf(events), outboxCount: events.length, writeRev: 1 }]);
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
    p.catch(() => this.retryLater(model, { _id: doc._id, outbox: mine }));
    if (opts.awaitPublish) await p;
  }

  private readonly retryTimers = new Set<NodeJS.Timeout>();

  /** A failed publish is tried again by this process (backoff up to 5 s); after a stop, the next start's poll finds it. */
  private retryLater<T>(model: Model<T>, doc: OutboxDoc, delayMs = 200): void {
    if (!this.pollTimer) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.dispatch(model, doc).catch(() => this.retryLater(model, doc, Math.min(delayMs * 2, 5000)));
    }, delayMs);
    this.retryTimers.add(timer);
  }

  /** Publishes the pending entries of one document, serialised per document. */
  dispatch<T>(model: Model<T>, doc: OutboxDoc): Promise<void> {
    return this.relays.run(this.lockKey(model, doc._id), () => this.publishEntries(model, doc));
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
      const entry = byDoc.get(String(doc._id)) ?? { id: doc._id, ids: new Map<string, number>() };
      const at = Date.now();
      ids.forEach((id) => entry.ids.set(id, at));
      byDoc.set(String(doc._id), entry);
    } catch (err) {
      this.logger.warn('outbox dispatch failed; it will be retried', { err: String(err), eventIds: ids });
      throw err;
    } finally {
      ids.forEach((id) => this.inFlight.delete(id));
    }
  }

  private cleanupChain: Promise<void> = Promise.resolve();

  /** Removes published entries from documents not written since (one pass at a time). */
  cleanup(olderThanMs = this.cleanupAfterMs): Promise<void> {
    this.cleanupChain = this.cleanupChain.then(() => this.cleanupPass(olderThanMs));
    return this.cleanupChain;
  }

  private async cleanupPass(olderThanMs: number): Promise<void> {
    const due = Date.now() - olderThanMs;
    for (const [collection, byDoc] of this.published) {
      const model = this.models.get(collection);
      if (!model) continue;
      const work: Removal[] = [];
      for (const { id: docId, ids } of [...byDoc.values()]) {
        const wanted = [...ids].filter(([, at]) => at <= due).map(([id]) => id);
        if (wanted.length) work.push({ docId, key: this.lockKey(model, docId), wanted });
      }
      // A pass must keep up with the write rate, or entries outlive graceMs: one write per batch.
      for (let i = 0; i < work.length; i += CLEANUP_BATCH) {
        const batch = work.slice(i, i + CLEANUP_BATCH);
        await this.holding(
          batch.map((r) => r.key),
          () => this.removeEntries(model, collection, batch),
        ).catch((err) => {
          this.logger.warn('outbox cleanup failed; the next pass retries', { err: String(err), collection, documents: batch.length });
        });
      }
    }
  }

  /** Runs `task` holding the writer turn of every key (each taken behind that key's queued writes). */
  private async holding<R>(keys: string[], task: () => Promise<R>): Promise<R> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await Promise.all(keys.map((k) => new Promise<void>((taken) => void this.writers.run(k, () => (taken(), released)))));
    try {
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Conditional removals, one bulk write for the batch. For an exclusive collection the document
   * this process last wrote is current unless another process wrote since, which the
   * compare-and-set detects; other documents are read first (one read for the batch). The server
   * reports how many statements matched, not which: when one did not (a document changed
   * meanwhile), every document of the batch is read again by the next pass, which retries.
   */
  private async removeEntries<T>(model: Model<T>, collection: string, batch: Removal[]): Promise<void> {
    const unknown = batch.filter((r) => !this.lastWritten.has(r.key)).map((r) => r.docId);
    const read = unknown.length
      ? ((await model.collection
          .find({ _id: { $in: unknown } } as never, { projection: { outbox: 1, writeRev: 1 } })
          .toArray()) as unknown as OutboxDoc[])
      : [];
    const fresh = new Map(read.map((d) => [String(d._id), d]));
    const plans = batch.map((r) => {
      const known = this.lastWritten.get(r.key);
      const doc = known ?? fresh.get(String(r.docId)) ?? null;
      return { ...r, known, doc, present: r.wanted.filter((id) => doc?.outbox && id in doc.outbox) };
    });
    const writes = plans.filter((p) => p.present.length);
    if (writes.length) {
      const res = await model.collection.bulkWrite(
        writes.map((p) => ({
          updateOne: {
            filter: unchangedSince(p.docId, p.doc) as never,
            update: {
              $unset: Object.fromEntries(p.present.map((id) => [`outbox.${id}`, ''])),
              $inc: { outboxCount: -p.present.length, writeRev: 1 },
            } as never,
          },
        })),
        { ordered: false },
      );
      if (res.matchedCount < writes.length) {
        for (const p of writes) this.lastWritten.delete(p.key);
        for (const p of plans) if (!p.present.length) this.forget(collection, p.docId, p.wanted);
        return;
      }
      for (const p of writes) {
        if (!p.known) continue;
        const outbox = { ...p.known.outbox };
        for (const id of p.present) delete outbox[id];
        this.remember(collection, p.key, {
          ...p.known,
          outbox,
          outboxCount: (p.known.outboxCount ?? 0) - p.present.length,
          writeRev: (p.known.writeRev ?? 0) + 1,
        });
      }
    }
    for (const p of plans) this.forget(collection, p.docId, p.wanted);
  }

  /** One recovery pass over every tracked collection; returns how many events it published. */
  async recover(): Promise<number> {
    let published = 0;
    for (const [name, model] of this.models) {
      // In _id order, resuming where the previous pass stopped: documents whose entries are published
      // and only wait for their cleanup must not hide, batch after batch, one a crash left unpublished.
      const from = this.pollFrom.get(name);
      const docs = (await model.collection
        .find({ outboxCount: { $gt: 0 }, ...(from === undefined ? {} : { _id: { $gt: from } }) } as never, {
          projection: { outbox: 1, outboxCount: 1 },
        })
        .sort({ _id: 1 })
        .limit(this.batchSize)
        .toArray()) as unknown as OutboxDoc[];
      if (docs.length < this.batchSize) this.pollFrom.delete(name);
      else this.pollFrom.set(name, docs[docs.length - 1]._id);
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
          this.retryLater(model, { _id: doc._id, outbox: due }); // logged in dispatch
        }
      }
      this.metrics.outboxDepth.labels(name).set(depth);
      this.metrics.outboxOldestAge.labels(name).set(oldest / 1000);
    }
    return published;
  }

  start(): void {
    if (this.pollTimer) return;
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
  }

  async stop(): Promise<void> {
    clearTimeout(this.pollTimer);
    clearTimeout(this.cleanupTimer);
    this.pollTimer = undefined;
    this.cleanupTimer = undefined;
    this.retryTimers.forEach(clearTimeout);
    this.retryTimers.clear();
    await this.polling;
    await this.cleaning;
    await this.relays.drain();
    await this.cleanup(0);
  }
}
