/**
 * The outbox's writer: read the document, let the domain decide, write the change with its events
 * if the document is still as read.
 *
 * Guarantees:
 *  - no lost update: the write is a compare-and-set on the document's `writeRev` (atomic on MongoDB
 *    and on the locally patched FerretDB); on a conflict the document is read again and `decide` runs
 *    again, so `decide` must have no side effects. After `maxAttempts` lost rounds the write gives
 *    up with WriteConflictError, having written nothing;
 *  - writers of one document inside one process queue behind each other (KeyedQueue), so conflicts
 *    come only from other processes;
 *  - the change and its events commit in one update (see entries.ts), and the same update drops the
 *    entries this process already published (see published.ts);
 *  - an event its topic's schema would refuse fails the write with 422 `event_not_encodable` before
 *    anything is written (a committed one could never be published);
 *  - on an exclusive collection the first round decides on the document as this process last wrote
 *    it (see last-written.ts); `assumeNew` decides on "absent" without reading. Such a decision
 *    stands only if its write lands: one that writes nothing (null) or refuses (throws) is made again
 *    on a fresh read, since another instance may have changed the document since — so `decide`
 *    returning null or throwing always speaks of the document as stored.
 */
import type { FilterQuery, Model, UpdateQuery } from 'mongoose';
import type { ServiceMetrics } from '../../observability/metrics';
import type { KeyedQueue } from '../../concurrency/keyed-queue';
import { isDuplicateKeyError } from '../../errors';
import type { OutgoingEvent } from '../envelope';
import {
  documentKey,
  entriesOf,
  refuseUnencodable,
  unchangedSince,
  withOutbox,
  type Change,
  type EventCheck,
  type OutboxDoc,
} from './entries';
import type { LastWritten } from './last-written';
import type { PublishedEntries } from './published';
import type { OutboxRelay } from './relay';

/** A document kept changing under a writer for more than `maxAttempts` read-decide-write rounds. */
export class WriteConflictError extends Error {
  constructor(key: string, attempts: number) {
    super(`${key} changed under ${attempts} consecutive writes`);
  }
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

export type Decide<T> = (current: T | null) => Change<T> | null | Promise<Change<T> | null>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class OutboxWriter {
  constructor(
    /** Writers per document key; the cleanup pass takes its turn in the same queues. */
    private readonly writers: KeyedQueue,
    private readonly lastWritten: LastWritten,
    private readonly published: PublishedEntries,
    private readonly relay: OutboxRelay,
    private readonly metrics: ServiceMetrics,
    private readonly maxAttempts: number,
    /** The schema check of each event before it is committed (absent: none). */
    private readonly check?: EventCheck,
  ) {}

  async transact<T>(
    model: Model<T>,
    id: unknown,
    decide: Decide<T>,
    opts: WriteOptions = {},
  ): Promise<{ doc: T | null; events: readonly OutgoingEvent[] }> {
    const key = documentKey(model.collection.collectionName, id);
    const { doc, events } = await this.writers.run(key, () => this.writeWhenUnchanged(model, id, decide, opts, key));
    if (doc && events.length && opts.dispatch !== false)
      await this.relay.afterWrite(model, doc as unknown as OutboxDoc, events, opts.awaitPublish === true);
    return { doc, events };
  }

  /** Inserts a new document together with its events (an insert is atomic). */
  async create<T>(model: Model<T>, doc: Partial<T>, events: readonly OutgoingEvent[], opts: WriteOptions = {}): Promise<T> {
    refuseUnencodable(events, this.check);
    const [created] = await model.create([{ ...doc, outbox: entriesOf(events), outboxCount: events.length, writeRev: 1 }]);
    const lean = created.toObject() as T & OutboxDoc;
    if (events.length && opts.dispatch !== false) await this.relay.afterWrite(model, lean, events, opts.awaitPublish === true);
    return lean;
  }

  private async writeWhenUnchanged<T>(
    model: Model<T>,
    id: unknown,
    decide: Decide<T>,
    opts: WriteOptions,
    key: string,
  ): Promise<{ doc: T | null; events: readonly OutgoingEvent[] }> {
    const collection = model.collection.collectionName;
    for (let attempt = 1; ; attempt++) {
      const known = attempt === 1 ? this.lastWritten.get(key) : undefined;
      const guessed = attempt === 1 && !known && opts.assumeNew === true && opts.upsert !== false;
      const current = (known ? structuredClone(known) : guessed ? null : await model.findById(id).lean()) as T | null;
      // A decision on a copy this process remembers (or guesses) is only final when its write lands: one
      // that writes nothing or refuses may rest on a copy another instance has since changed, so it is
      // made again on what the database holds (a hold's release, say, must see the hold another wrote).
      let change: Change<T> | null;
      try {
        change = await decide(current);
      } catch (err) {
        if (!known && !guessed) throw err;
        this.lastWritten.forget(key);
        continue;
      }
      if (!change) {
        if (!known && !guessed) return { doc: current, events: [] };
        this.lastWritten.forget(key);
        continue;
      }
      refuseUnencodable(change.events, this.check);
      const { update, dropped } = this.published.dropFrom(
        collection,
        current as OutboxDoc | null,
        withOutbox(change.update, change.events),
      );
      const upsert = opts.upsert ?? current === null;
      const guarded = { ...update, $inc: { ...((update.$inc as object) ?? {}), writeRev: 1 } } as UpdateQuery<T>;
      try {
        const updated = (await model
          .findOneAndUpdate(unchangedSince(id, current as OutboxDoc | null) as FilterQuery<T>, guarded, { new: true, upsert })
          .lean()) as T | null;
        if (updated) {
          this.published.forget(collection, id, dropped);
          this.lastWritten.remember(collection, key, updated as unknown as OutboxDoc);
          return { doc: updated, events: change.events };
        }
        if (current === null && !upsert) return { doc: null, events: change.events }; // nothing to update, as asked
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // a duplicate _id: another writer created it first
      }
      this.lastWritten.forget(key);
      if (known || guessed) continue; // what this process wrote last (or guessed) is not the latest: read it
      this.metrics.writeConflicts.labels(collection).inc();
      if (attempt >= this.maxAttempts) throw new WriteConflictError(key, attempt);
      await sleep(Math.random() * Math.min(2 ** attempt, 50));
    }
  }
}
