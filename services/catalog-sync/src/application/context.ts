import { randomUUID } from 'node:crypto';
import type { Model } from 'mongoose';
import { mapLimit, type OutgoingEvent, type ServiceRuntime } from '@omnimall/service-kit';
import type { CatalogModels, ChannelDoc, JournalDoc, LocalItemDoc, PendingDoc } from '../store/models';
import type { RateEntry } from '../domain/rates';
import type { SyncRule } from '../domain/rules';

/**
 * What the use cases share: the runtime, the models, and three small services over them —
 * the journal (events leave through it), intents (crash recovery) and cached reads.
 *
 * Why a journal rather than an outbox in each local item: the kit's recovery poll scans every
 * tracked collection for pending events, and on FerretDB a scan reads the whole collection; local
 * items number in the tens of thousands, the journal in the few. A change to local items therefore
 * writes (1) an intent naming them, (2) the items, (3) one journal document carrying every event of
 * the change (atomic: published by the kit's outbox relay), (4) removes the intent. After a crash
 * between (1) and (4) the recovery sweep re-derives the events from the items' current state (all
 * events are full state, so re-emitting is always correct; consumers dedupe by version).
 * A journal document is deleted as soon as its events are published: left in place, it would be read
 * by the relay's recovery poll, rewritten by its cleanup and scanned by the recovery sweep's prune.
 */
/** Events per journal document. */
export const JOURNAL_EVENTS = 200;

/** How long a cached table (channels, rules, rates) is used before it is read again: writes by other instances show within this. */
export const TABLE_TTL_MS = 1000;

/**
 * A value read on demand and kept for `ttlMs`; `invalidate` drops it, and a read that started before
 * an invalidation is not kept (it may predate the write that invalidated). Concurrent gets share one read.
 */
export class Cached<T> {
  private value?: { at: number; v: T };
  private loading?: { gen: number; p: Promise<T> };
  private gen = 0;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs = TABLE_TTL_MS,
  ) {}

  async get(): Promise<T> {
    if (this.value && Date.now() - this.value.at < this.ttlMs) return this.value.v;
    if (this.loading?.gen === this.gen) return this.loading.p;
    const gen = this.gen;
    const at = Date.now();
    const p = this.load();
    this.loading = { gen, p };
    try {
      const v = await p;
      if (gen === this.gen) this.value = { at, v };
      return v;
    } finally {
      if (this.loading?.p === p) this.loading = undefined;
    }
  }

  invalidate(): void {
    this.gen++;
    this.value = undefined;
  }
}

/** An item write: the next state, decided on `cur` (null: the item did not exist). */
export interface ItemWrite {
  cur: LocalItemDoc | null;
  item: LocalItemDoc;
}

/**
 * Local items as this process last wrote or read them. Every item write is conditional on the
 * item's `writeToken` being the one the change was decided on (a compare-and-set; a fresh token per
 * write), so an item another process wrote since is never overwritten: its write does not apply, the
 * cached copy is dropped, and the caller reads it and decides again. Writers of one product's items
 * also hold the product lock, so within a process the copy is current; the token covers writes by
 * other instances between two holdings of the lock.
 */
export class ItemStore {
  private readonly known = new Map<string, LocalItemDoc>();

  constructor(
    private readonly model: Model<LocalItemDoc>,
    private readonly max = 10_000,
  ) {}

  /** The items by id: as last written or read here, else read (`fresh`: always read). */
  async get(ids: readonly string[], fresh = false): Promise<Map<string, LocalItemDoc | null>> {
    const out = new Map<string, LocalItemDoc | null>();
    const missing: string[] = [];
    for (const id of ids) {
      const k = fresh ? undefined : this.known.get(id);
      if (k) out.set(id, structuredClone(k));
      else missing.push(id);
    }
    await mapLimit(missing, 6, async (id) => {
      const doc = (await this.model.findById(id).lean()) as LocalItemDoc | null;
      if (doc) this.remember(doc);
      else this.known.delete(id);
      out.set(id, doc);
    });
    return out;
  }

  /**
   * Writes the items in one round trip (unordered), each only if it is still as decided on. Returns
   * the ids whose write did not apply; the others are remembered as written.
   */
  async write(writes: readonly ItemWrite[]): Promise<Set<string>> {
    const failed = new Set<string>();
    if (!writes.length) return failed;
    const docs = writes.map(({ cur, item }) => ({ cur, doc: { ...item, writeToken: randomUUID() } }));
    const ops = docs.map(({ cur, doc }) => {
      const { _id, ...rest } = doc;
      // A new item: inserted, or (when it exists without a token) written over, as a plain insert
      // racing an equal one would; an item with a token was written by someone else since the read.
      return { updateOne: { filter: { _id, writeToken: cur?.writeToken ?? { $exists: false } }, update: { $set: rest }, upsert: !cur } };
    });
    let applied = 0;
    let uncertain = false;
    try {
      const res = await this.model.collection.bulkWrite(ops as never, { ordered: false });
      applied = res.matchedCount + res.upsertedCount;
    } catch (err) {
      const writeErrors = (err as { writeErrors?: { code?: number; index: number }[] }).writeErrors;
      if (!writeErrors?.every((w) => w.code === 11000)) throw err;
      uncertain = true; // an upsert lost to an insert: another writer created that item
    }
    if (uncertain || applied < docs.length) {
      // Which ones applied: those that carry this write's token.
      await mapLimit(docs, 6, async ({ doc }) => {
        const now = (await this.model.findById(doc._id, { writeToken: 1 }).lean()) as { writeToken?: string } | null;
        if (now?.writeToken !== doc.writeToken) failed.add(doc._id);
      });
    }
    for (const { doc } of docs) {
      if (failed.has(doc._id)) this.known.delete(doc._id);
      else this.remember(doc);
    }
    return failed;
  }

  /** Forgets what this process knows of the items (after a write outside this store). */
  forget(ids: readonly string[]): void {
    for (const id of ids) this.known.delete(id);
  }

  private remember(doc: LocalItemDoc): void {
    this.known.delete(doc._id);
    this.known.set(doc._id, doc);
    if (this.known.size > this.max) this.known.delete(this.known.keys().next().value as string);
  }
}

export class CatalogContext {
  private readonly channelTable: Cached<Map<string, ChannelDoc>>;
  private readonly ruleTable: Cached<Map<string, SyncRule[]>>;
  private readonly rateTable: Cached<RateEntry[]>;
  readonly items: ItemStore;
  readonly activeIntents = new Set<string>();

  constructor(
    readonly rt: ServiceRuntime,
    readonly m: CatalogModels,
  ) {
    this.items = new ItemStore(m.LocalItem);
    this.channelTable = new Cached(async () => {
      const docs = (await m.Channel.find({}).lean()) as ChannelDoc[];
      return new Map(docs.map((d) => [d._id, d]));
    });
    this.ruleTable = new Cached(async () => {
      const sets = await m.RuleSet.find({}, { rules: 1 }).lean();
      return new Map(sets.map((s) => [s._id, s.rules ?? []]));
    });
    this.rateTable = new Cached(async () => ((await m.RateTable.findById('table', { entries: 1 }).lean())?.entries ?? []) as RateEntry[]);
  }

  /**
   * Writes the events of one change in journal documents, published by the outbox relay. A change
   * with many events (a bulk sync) is split into documents of at most JOURNAL_EVENTS events: one
   * huge document is slow to write, to publish from and to clean up. Each document is published from
   * the document the insert returned and then deleted; `awaitPublish` waits for both.
   */
  async emit(kind: string, events: readonly OutgoingEvent[], awaitPublish = false): Promise<void> {
    const parts: Promise<void>[] = [];
    for (let i = 0; i < events.length; i += JOURNAL_EVENTS) {
      const part = events.slice(i, i + JOURNAL_EVENTS);
      parts.push(
        this.rt.outbox.create(this.m.Journal, { _id: randomUUID(), kind, createdAt: new Date() }, part, { dispatch: false }).then((doc) => {
          const published = this.publishJournal(doc);
          if (!awaitPublish) published.catch(() => undefined); // logged by the relay; its recovery poll retries
          return awaitPublish ? published : undefined;
        }),
      );
    }
    await Promise.all(parts);
  }

  private async publishJournal(doc: JournalDoc): Promise<void> {
    await this.rt.outbox.dispatch(this.m.Journal, doc as never);
    // Published (acknowledged by Kafka): nothing in the document is needed any more. Should the
    // delete fail, the relay's cleanup and the recovery sweep's prune remove it later.
    await this.m.Journal.collection.deleteOne({ _id: doc._id } as never).catch(() => undefined);
  }

  /** Runs `fn` with a recorded intent, removed when `fn` completed (kept after a throw for recovery only when `keepOnError`). */
  async withIntent<R>(intent: Omit<PendingDoc, '_id' | 'createdAt'>, fn: () => Promise<R>): Promise<R> {
    const _id = randomUUID();
    this.activeIntents.add(_id);
    await this.m.Pending.collection.insertOne({ _id, ...intent, createdAt: new Date() } as never);
    try {
      const out = await fn();
      await this.m.Pending.collection.deleteOne({ _id } as never);
      return out;
    } catch (err) {
      // Domain refusals wrote nothing worth recovering; other failures leave the intent to the sweep.
      if ((err as { status?: number }).status !== undefined)
        await this.m.Pending.collection.deleteOne({ _id } as never).catch(() => undefined);
      throw err;
    } finally {
      this.activeIntents.delete(_id);
    }
  }

  /** Every known channel (projection of channels.channel-changed); the projection invalidates on every change it applies. */
  channels(): Promise<Map<string, ChannelDoc>> {
    return this.channelTable.get();
  }

  invalidateChannels(): void {
    this.channelTable.invalidate();
  }

  /** The rules of the given channels (one small document per channel, all read at once); rule writes here invalidate. */
  async rulesOf(codes: readonly string[]): Promise<Map<string, SyncRule[]>> {
    const all = await this.ruleTable.get();
    return new Map(codes.map((c) => [c, all.get(c) ?? []]));
  }

  /** The rate table; an added rate invalidates it. */
  rates(): Promise<RateEntry[]> {
    return this.rateTable.get();
  }

  invalidateRules(): void {
    this.ruleTable.invalidate();
  }

  invalidateRates(): void {
    this.rateTable.invalidate();
  }

  /**
   * Serialises every write of one product and of its local items: master edits, assignments,
   * propagation, and channel managers' curation of the product's items. One lock per product (not per
   * item) keeps a fan-out to many channels to one bulk write of its items.
   */
  productLock<R>(productId: string, fn: () => Promise<R>): Promise<R> {
    return this.rt.locks.run(`product:${productId}`, fn);
  }

  /** Runs `fn` under the lock of the product an existing local item belongs to. */
  async itemProductLock<R>(itemId: string, fn: () => Promise<R>): Promise<R> {
    const item = (await this.items.get([itemId])).get(itemId); // an item's product never changes: a cached copy will do
    if (!item) return fn(); // fn reports the missing item
    return this.productLock(item.productId, fn);
  }
}
