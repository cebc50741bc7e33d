import { randomUUID } from 'node:crypto';
import type { Model } from 'mongoose';
import { LRUCache } from 'lru-cache';
import { mapLimit } from '@omnimall/service-kit';
import type { LocalItem } from '../domain/records';
import { collectionOf } from './models';

/** An item write: the next state, decided on `cur` (null: the item did not exist). */
export interface ItemWrite {
  cur: LocalItem | null;
  item: LocalItem;
}

/** Local items (one variant in one channel, `_id` = `<channel>:<sku>`). */
export interface ItemRepository {
  /** The items by id: as last written or read by this process, else read (`fresh`: always read). Items carry their write token. */
  get(ids: readonly string[], fresh?: boolean): Promise<Map<string, LocalItem | null>>;
  /**
   * Writes the items in one round trip (unordered), each only if it is still as decided on. Returns
   * the ids whose write did not apply; the others are remembered as written.
   */
  write(writes: readonly ItemWrite[]): Promise<Set<string>>;
  /** Writes new items (unordered, each atomic); returns the ids that existed already (nothing of theirs written). */
  insertNew(items: readonly LocalItem[]): Promise<Set<string>>;
  /** Forgets what this process knows of the items (after a write outside this repository). */
  forget(ids: readonly string[]): void;
  /** One item as stored, without its write token (what the API shows). */
  shown(id: string): Promise<LocalItem | null>;
  /** Up to `limit` items of a channel, without their write tokens (a scan). */
  inChannel(channel: string, limit: number): Promise<LocalItem[]>;
}

/** Internal fields items do not show. */
const HIDDEN = { writeToken: 0 } as const;

/** How many items a process remembers (least recently written or read from the database first out). */
const KNOWN_ITEMS = 10_000;

/**
 * Local items as this process last wrote or read them. Every item write is conditional on the
 * item's `writeToken` being the one the change was decided on (a compare-and-set; a fresh token per
 * write), so an item another process wrote since is never overwritten: its write does not apply, the
 * remembered copy is dropped, and the caller reads it and decides again. Writers of one product's
 * items also hold the product lock, so within a process the copy is current; the token covers writes
 * by other instances between two holdings of the lock. FerretDB answers only `_id` lookups quickly:
 * items are read by id (six in flight), never by another filter on a hot path.
 */
export class MongoItemRepository implements ItemRepository {
  /** Refreshed when an item is written or read from the database, not when it is served from here. */
  private readonly known: LRUCache<string, LocalItem>;

  constructor(
    private readonly model: Model<LocalItem>,
    max = KNOWN_ITEMS,
  ) {
    this.known = new LRUCache<string, LocalItem>({ max });
  }

  async get(ids: readonly string[], fresh = false): Promise<Map<string, LocalItem | null>> {
    const out = new Map<string, LocalItem | null>();
    const missing: string[] = [];
    for (const id of ids) {
      const k = fresh ? undefined : this.known.peek(id);
      if (k) out.set(id, structuredClone(k));
      else missing.push(id);
    }
    await mapLimit(missing, 6, async (id) => {
      const doc = await this.model.findById(id).lean<LocalItem | null>();
      if (doc) this.known.set(doc._id, doc);
      else this.known.delete(id);
      out.set(id, doc);
    });
    return out;
  }

  async write(writes: readonly ItemWrite[]): Promise<Set<string>> {
    const failed = new Set<string>();
    if (!writes.length) return failed;
    const docs = writes.map(({ cur, item }) => ({ cur, doc: { ...item, writeToken: randomUUID() } }));
    const ops = docs.map(({ cur, doc }) => {
      const { _id, ...rest } = doc;
      // A new item: inserted, or (when it exists without a token) written over, as a plain insert
      // racing an equal one would; an item with a token was written by someone else since the read.
      return {
        updateOne: { filter: { _id, writeToken: cur?.writeToken ?? { $exists: false } }, update: { $set: rest }, upsert: !cur },
      };
    });
    let applied = 0;
    let uncertain = false;
    try {
      const res = await collectionOf(this.model).bulkWrite(ops, { ordered: false });
      applied = res.matchedCount + res.upsertedCount;
    } catch (err) {
      const writeErrors = (err as { writeErrors?: { code?: number; index: number }[] }).writeErrors;
      if (!writeErrors?.every((w) => w.code === 11000)) throw err;
      uncertain = true; // an upsert lost to an insert: another writer created that item
    }
    if (uncertain || applied < docs.length) {
      // Which ones applied: those that carry this write's token.
      await mapLimit(docs, 6, async ({ doc }) => {
        const now = await this.model.findById(doc._id, { writeToken: 1 }).lean<{ writeToken?: string } | null>();
        if (now?.writeToken !== doc.writeToken) failed.add(doc._id);
      });
    }
    for (const { doc } of docs) {
      if (failed.has(doc._id)) this.known.delete(doc._id);
      else this.known.set(doc._id, doc);
    }
    return failed;
  }

  async insertNew(items: readonly LocalItem[]): Promise<Set<string>> {
    return insertNew(this.model, items);
  }

  forget(ids: readonly string[]): void {
    for (const id of ids) this.known.delete(id);
  }

  async shown(id: string): Promise<LocalItem | null> {
    return this.model.findById(id, HIDDEN).lean<LocalItem | null>();
  }

  async inChannel(channel: string, limit: number): Promise<LocalItem[]> {
    return this.model.find({ channel }, HIDDEN).limit(limit).lean<LocalItem[]>();
  }
}

/**
 * insertMany, unordered (each document atomic on its own); returns the `_id`s that already existed,
 * of which nothing was written. Any other failure throws.
 */
export async function insertNew<T extends { _id: string }>(model: Model<T>, docs: readonly T[]): Promise<Set<string>> {
  const clashed = new Set<string>();
  if (!docs.length) return clashed;
  try {
    // The driver's own insertMany (mongoose's would cast and validate each document first). Its
    // parameter type cannot be resolved for a generic T; every document here has its string _id.
    await collectionOf(model).insertMany(docs as never[], { ordered: false });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: { code?: number; index?: number; err?: { index?: number; code?: number } }[] }).writeErrors;
    if (!writeErrors) throw err;
    for (const w of writeErrors) {
      const code = w.code ?? w.err?.code;
      const index = w.index ?? w.err?.index;
      if (code !== 11000 || index === undefined) throw err;
      clashed.add(docs[index]._id);
    }
  }
  return clashed;
}
