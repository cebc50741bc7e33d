/**
 * The evidence log on disk: one document per record (written once, never updated except to drop its
 * payload), the head (size and chain value, written after each appended batch), and the last offset
 * recorded per topic partition. Append order: records, then the head, then the positions (AuditLog.open
 * mends what a crash between them left).
 *
 * A record's `_id` is its index as fixed-width text (`e000000000042`), `i` the index as a number.
 * FerretDB (the local stand-in for MongoDB) answers a lookup of string `_id`s from its primary key and
 * scans the collection for anything else, a numeric `_id` included (measured on 30,000 records: one
 * string `_id` 2 ms, a thousand by `$in` 73 ms; one numeric `_id` 1 s). So everything that goes by
 * index — pages of the log, the tree's leaves, time windows (recordedAt grows with the index: a binary
 * search finds a window's first index) — reads by `_id`; only trail queries without a time window
 * filter the collection (served by the secondary indexes on MongoDB, scanned on FerretDB).
 */
import { Schema, type Collection, type Connection, type Model } from 'mongoose';
import type { EvidenceRecord, SubjectRef } from '@omnimall/evidence';
import type { EvidenceKind } from '../domain/records';

/** A stored record: the chained fields, its kind, its Merkle leaf hash, the broker timestamp, and the payload until it is erased or pruned. */
export interface StoredEvidence extends EvidenceRecord {
  kind: EvidenceKind;
  /** Hex RFC 6962 leaf hash (kept so the tree is rebuilt without rehashing). */
  leaf: string;
  /** The Kafka record's timestamp (epoch ms). */
  ts: number;
  /** When and why the payload was dropped (erasure, retention). */
  pruned?: { at: number; reason: string };
  /** Keyed hashes (`pid:<hex>`) of the personal identifiers the payload carried (not hashed into the log; an erasure finds them). */
  pids?: string[];
}

type EvidenceDoc = Omit<StoredEvidence, 'index'> & { _id: string; i: number; refs: string[] };

export interface Head {
  size: number;
  /** Hex chain value of the last record (GENESIS_HASH for an empty log). */
  chainHead: string;
}

export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

/** What a trail query names; every field optional. */
export interface TrailQuery {
  subject?: SubjectRef;
  channel?: string;
  kinds?: EvidenceKind[];
  topic?: string;
  type?: string;
  eventId?: string;
  /** recordedAt range (epoch ms, from inclusive, to exclusive). */
  from?: number;
  to?: number;
  /** Records after this index (paging forward). */
  after?: number;
}

/** Which records' payloads a prune drops (every field given must hold). */
export interface PruneMatch {
  indices?: number[];
  subject?: SubjectRef;
  pids?: string[];
  kinds?: EvidenceKind[];
  recordedBefore?: number;
  exceptSubjects?: SubjectRef[];
}

export interface LogRepository {
  head(): Promise<Head | null>;
  positions(): Promise<Position[]>;
  /** Appends records (their indices continue the head), then the head, then the partition's position. */
  append(records: readonly StoredEvidence[], head: Head, position: Position): Promise<void>;
  /** The records stored with indices in [from, from + limit), in index order (a removed one is simply absent). */
  range(from: number, limit: number, opts?: { withPayload?: boolean }): Promise<StoredEvidence[]>;
  /** Leaf hashes of records [from, to), in order, through `each` in pages; throws naming a missing record. */
  leaves(from: number, to: number, each: (page: Buffer[]) => void): Promise<void>;
  get(index: number): Promise<StoredEvidence | null>;
  /** The first index in [0, size) recorded at or after `at` (size when none): recordedAt never decreases along the log. */
  indexAt(at: number, size: number): Promise<number>;
  /** Streams the records of [from, to) in index order, a page at a time; `each` returns false to stop. */
  scan(
    from: number,
    to: number,
    each: (page: StoredEvidence[]) => boolean | Promise<boolean>,
    opts?: { withPayload?: boolean },
  ): Promise<void>;
  /** A trail: records matching `q` in index order, at most `limit` (`size`: the log's, for a time window). */
  find(q: TrailQuery, limit: number, size: number): Promise<StoredEvidence[]>;
  /** Reports: whether any index strictly between `before` and `after` is missing from the store (a record removed). */
  holeBetween(before: number, after: number): Promise<boolean>;
  /** Drops the payloads of records matching the facts given (kept: every hashed field). Returns how many. */
  prune(match: PruneMatch, reason: string, at: number): Promise<number>;
  /** Test and tamper-drill access to the raw collection (a test rewrites a record to prove the verifier sees it). */
  collection(): Collection;
}

const HEAD_ID = 'head';
/** Ids per `$in` read (FerretDB narrows up to 1,000 string ids to its primary key). */
const PAGE = 1000;

/** A record's `_id`: its index as fixed-width text, so that the ids sort as the indices do. */
export const idOf = (index: number): string => `e${String(index).padStart(13, '0')}`;
const idsOf = (from: number, to: number): string[] => Array.from({ length: Math.max(0, to - from) }, (_, k) => idOf(from + k));

export function evidenceModel(db: Connection): Model<EvidenceDoc> {
  return (
    (db.models.Evidence as Model<EvidenceDoc> | undefined) ??
    db.model<EvidenceDoc>('Evidence', new Schema({ _id: String }, { versionKey: false, minimize: false, strict: false }), 'evidence')
  );
}

/** A subject as one searchable string (`customer:cus_1`): FerretDB matches array elements by value, not by $elemMatch on fields. */
export const refOf = (s: SubjectRef): string => `${s.kind}:${s.ref}`;

const toStored = ({ _id: _id, i, refs: _refs, ...rest }: EvidenceDoc): StoredEvidence => ({
  index: i,
  ...(rest as Omit<StoredEvidence, 'index'>),
});

/** Whether a record matches a trail query (the in-memory filter of a time window). */
function matches(r: StoredEvidence & { refs?: string[] }, q: TrailQuery): boolean {
  if (q.subject && !r.subjects.some((s) => s.kind === q.subject!.kind && s.ref === q.subject!.ref)) return false;
  if (q.channel && r.channel !== q.channel) return false;
  if (q.kinds?.length && !q.kinds.includes(r.kind)) return false;
  if (q.topic && r.topic !== q.topic) return false;
  if (q.type && r.type !== q.type) return false;
  if (q.eventId && r.eventId !== q.eventId) return false;
  if (q.from !== undefined && r.recordedAt < q.from) return false;
  if (q.to !== undefined && r.recordedAt >= q.to) return false;
  return true;
}

/** Mongo filter of a trail query without a time window. */
function filterOf(q: TrailQuery): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (q.subject) f.refs = refOf(q.subject);
  if (q.channel) f.channel = q.channel;
  if (q.kinds?.length) f.kind = q.kinds.length === 1 ? q.kinds[0] : { $in: q.kinds };
  if (q.topic) f.topic = q.topic;
  if (q.type) f.type = q.type;
  if (q.eventId) f.eventId = q.eventId;
  if (q.after !== undefined) f._id = { $gt: idOf(q.after) };
  return f;
}

export class MongoLog implements LogRepository {
  private readonly evidence: Collection<EvidenceDoc>;
  private readonly heads: Collection<{ _id: string } & Head>;
  private readonly offsets: Collection<{ _id: string } & Position>;

  private constructor(db: Connection) {
    this.evidence = evidenceModel(db).collection as unknown as Collection<EvidenceDoc>;
    this.heads = db.collection('head');
    this.offsets = db.collection('positions');
  }

  /**
   * The secondary indexes serve MongoDB's trail queries (subject, channel, kind and time, event id);
   * everything by index or time window reads by `_id` (see the header).
   */
  static async create(db: Connection): Promise<MongoLog> {
    const log = new MongoLog(db);
    await Promise.all([
      log.evidence.createIndex({ refs: 1, _id: 1 }),
      log.evidence.createIndex({ channel: 1, _id: 1 }),
      log.evidence.createIndex({ kind: 1, recordedAt: 1 }),
      log.evidence.createIndex({ eventId: 1 }),
    ]);
    return log;
  }

  async head(): Promise<Head | null> {
    const doc = await this.heads.findOne({ _id: HEAD_ID });
    return doc ? { size: doc.size, chainHead: doc.chainHead } : null;
  }

  async positions(): Promise<Position[]> {
    const docs = await this.offsets.find({}).toArray();
    return docs.map((d) => ({ topic: d.topic, partition: d.partition, offset: d.offset }));
  }

  async append(records: readonly StoredEvidence[], head: Head, position: Position): Promise<void> {
    if (records.length) {
      await this.evidence.insertMany(
        records.map(({ index, ...rest }) => ({ _id: idOf(index), i: index, ...rest, refs: rest.subjects.map(refOf) }) as EvidenceDoc),
        { ordered: true },
      );
    }
    await this.heads.updateOne({ _id: HEAD_ID }, { $set: head }, { upsert: true });
    await this.offsets.updateOne({ _id: `${position.topic}|${position.partition}` }, { $set: position }, { upsert: true });
  }

  private async page(from: number, to: number, withPayload = true): Promise<StoredEvidence[]> {
    if (to <= from) return [];
    const docs = await this.evidence.find({ _id: { $in: idsOf(from, to) } }, withPayload ? {} : { projection: { payload: 0 } }).toArray();
    return docs.map((d) => toStored(d as EvidenceDoc)).sort((a, b) => a.index - b.index);
  }

  async range(from: number, limit: number, opts: { withPayload?: boolean } = {}): Promise<StoredEvidence[]> {
    const out: StoredEvidence[] = [];
    for (let start = from; start < from + limit; start += PAGE)
      out.push(...(await this.page(start, Math.min(start + PAGE, from + limit), opts.withPayload !== false)));
    return out;
  }

  async leaves(from: number, to: number, each: (page: Buffer[]) => void): Promise<void> {
    for (let start = from; start < to; start += PAGE) {
      const end = Math.min(start + PAGE, to);
      const docs = (await this.evidence.find({ _id: { $in: idsOf(start, end) } }, { projection: { leaf: 1, i: 1 } }).toArray()).sort(
        (a, b) => a.i - b.i,
      );
      docs.forEach((d, k) => {
        if (d.i !== start + k) throw new Error(`the evidence log lacks record ${start + k}`);
      });
      if (docs.length !== end - start) throw new Error(`the evidence log lacks records between ${start} and ${end}: ${docs.length} found`);
      each(docs.map((d) => Buffer.from(d.leaf, 'hex')));
    }
  }

  async get(index: number): Promise<StoredEvidence | null> {
    const doc = await this.evidence.findOne({ _id: idOf(index) });
    return doc ? toStored(doc as EvidenceDoc) : null;
  }

  async indexAt(at: number, size: number): Promise<number> {
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const doc = await this.evidence.findOne({ _id: idOf(mid) }, { projection: { recordedAt: 1 } });
      // a removed record (tampering) reads as "before": the search stays within the log
      if (!doc || doc.recordedAt < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async scan(
    from: number,
    to: number,
    each: (page: StoredEvidence[]) => boolean | Promise<boolean>,
    opts: { withPayload?: boolean } = {},
  ): Promise<void> {
    for (let start = from; start < to; start += PAGE) {
      const page = await this.page(start, Math.min(start + PAGE, to), opts.withPayload !== false);
      if (!(await each(page))) return;
    }
  }

  async find(q: TrailQuery, limit: number, size: number): Promise<StoredEvidence[]> {
    if (q.from === undefined && q.to === undefined) {
      const docs = await this.evidence.find(filterOf(q)).sort({ _id: 1 }).limit(limit).toArray();
      return docs.map((d) => toStored(d as EvidenceDoc));
    }
    // a time window: its first index by binary search, then its records by _id, filtered here
    const first = Math.max(q.from === undefined ? 0 : await this.indexAt(q.from, size), q.after === undefined ? 0 : q.after + 1);
    const out: StoredEvidence[] = [];
    await this.scan(first, size, (page) => {
      for (const r of page) {
        if (q.to !== undefined && r.recordedAt >= q.to) return false;
        if (matches(r, q)) out.push(r);
        if (out.length >= limit) return false;
      }
      return true;
    });
    return out;
  }

  async holeBetween(before: number, after: number): Promise<boolean> {
    for (let start = before + 1; start < after; start += PAGE) {
      const end = Math.min(start + PAGE, after);
      if ((await this.evidence.countDocuments({ _id: { $in: idsOf(start, end) } })) < end - start) return true;
    }
    return false;
  }

  async prune(match: PruneMatch, reason: string, at: number): Promise<number> {
    const all: Record<string, unknown>[] = [{ payload: { $exists: true } }];
    if (match.indices) all.push({ _id: { $in: match.indices.map(idOf) } });
    if (match.subject) all.push({ refs: refOf(match.subject) });
    if (match.pids) all.push({ pids: { $in: match.pids } });
    if (match.kinds?.length) all.push({ kind: { $in: match.kinds } });
    if (match.recordedBefore !== undefined) all.push({ recordedAt: { $lt: match.recordedBefore } });
    if (match.exceptSubjects?.length) all.push({ refs: { $nin: match.exceptSubjects.map(refOf) } });
    const r = await this.evidence.updateMany({ $and: all }, { $unset: { payload: '' }, $set: { pruned: { at, reason } } });
    return r.modifiedCount;
  }

  collection(): Collection {
    return this.evidence as unknown as Collection;
  }
}
