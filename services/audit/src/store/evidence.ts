/**
 * The evidence log on disk: one document per record (`_id` its index, written once, never updated
 * except to drop its payload), the head (size and chain value, written after each appended batch),
 * and the last offset recorded per topic partition. Append order: records, then the head, then the
 * positions; `recover` mends what a crash between them left (see LogRepository.recover).
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
}

type EvidenceDoc = Omit<StoredEvidence, 'index'> & { _id: number };

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

export interface LogRepository {
  head(): Promise<Head | null>;
  positions(): Promise<Position[]>;
  /** Appends records (their indices continue the head), then the head, then the partition's position. */
  append(records: readonly StoredEvidence[], head: Head, position: Position): Promise<void>;
  /** Records from index `from` (inclusive) in index order, at most `limit`. */
  range(from: number, limit: number, opts?: { withPayload?: boolean }): Promise<StoredEvidence[]>;
  /** Leaf hashes of records [from, to), in order, through `each` in pages. */
  leaves(from: number, to: number, each: (page: Buffer[]) => void): Promise<void>;
  get(index: number): Promise<StoredEvidence | null>;
  find(q: TrailQuery, limit: number): Promise<StoredEvidence[]>;
  /** Records of a topic partition with offsets in [fromOffset, toOffset) (reports). */
  byOffsets(
    topic: string,
    partition: number,
    fromOffset: string,
    toOffset: string,
  ): Promise<Array<Pick<StoredEvidence, 'index' | 'offset' | 'eventId' | 'occurredAt' | 'ts'>>>;
  /**
   * Reports: records of a topic partition with offsets in [fromOffset, toOffset), with channel, type and payload,
   * among those whose Kafka timestamp is within [tsFrom, tsTo) (the caller widens the period by a skew margin).
   */
  inOffsets(
    topic: string,
    partition: number,
    fromOffset: string,
    toOffset: string,
    tsFrom: number,
    tsTo: number,
  ): Promise<Array<Pick<StoredEvidence, 'index' | 'offset' | 'eventId' | 'occurredAt' | 'ts' | 'channel' | 'type' | 'payload'>>>;
  /** Reports: the records of `topics` (`.dlq` / `.retry` siblings) written at or after `sinceTs`, without payload except its headers; at most `limit`. */
  copies(
    topics: readonly string[],
    sinceTs: number,
    limit: number,
  ): Promise<Array<Pick<StoredEvidence, 'index' | 'topic' | 'offset' | 'kind'> & { headers: Record<string, string> }>>;
  /** Reports: whether any index strictly between `before` and `after` is missing from the store (a record removed). */
  holeBetween(before: number, after: number): Promise<boolean>;
  /** Drops the payloads of records matching `filter` facts (kept: every hashed field). Returns how many. */
  prune(
    match: { indices?: number[]; subject?: SubjectRef; kinds?: EvidenceKind[]; recordedBefore?: number; exceptSubjects?: SubjectRef[] },
    reason: string,
    at: number,
  ): Promise<number>;
  /** Test and tamper-drill access to the raw collection (a test rewrites a record to prove the verifier sees it). */
  collection(): Collection;
}

const HEAD_ID = 'head';

export function evidenceModel(db: Connection): Model<EvidenceDoc> {
  return (
    (db.models.Evidence as Model<EvidenceDoc> | undefined) ??
    db.model<EvidenceDoc>('Evidence', new Schema({ _id: Number }, { versionKey: false, minimize: false, strict: false }), 'evidence')
  );
}

/** A subject as one searchable string (`customer:cus_1`): FerretDB matches array elements by value, not by $elemMatch on fields. */
export const refOf = (s: SubjectRef): string => `${s.kind}:${s.ref}`;

const toStored = ({ _id, refs: _refs, ...rest }: EvidenceDoc & { refs?: string[] }): StoredEvidence => ({
  index: _id,
  ...(rest as Omit<StoredEvidence, 'index'>),
});

/** Mongo filter of a trail query. */
function filterOf(q: TrailQuery): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (q.subject) f.refs = refOf(q.subject);
  if (q.channel) f.channel = q.channel;
  if (q.kinds?.length) f.kind = q.kinds.length === 1 ? q.kinds[0] : { $in: q.kinds };
  if (q.topic) f.topic = q.topic;
  if (q.type) f.type = q.type;
  if (q.eventId) f.eventId = q.eventId;
  if (q.from !== undefined || q.to !== undefined)
    f.recordedAt = { ...(q.from !== undefined ? { $gte: q.from } : {}), ...(q.to !== undefined ? { $lt: q.to } : {}) };
  if (q.after !== undefined) f._id = { $gt: q.after };
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

  static async create(db: Connection): Promise<MongoLog> {
    const log = new MongoLog(db);
    await Promise.all([
      log.evidence.createIndex({ refs: 1, _id: 1 }),
      log.evidence.createIndex({ channel: 1, recordedAt: 1 }),
      log.evidence.createIndex({ kind: 1, recordedAt: 1 }),
      log.evidence.createIndex({ topic: 1, partition: 1, offset: 1 }),
      log.evidence.createIndex({ eventId: 1 }),
      log.evidence.createIndex({ recordedAt: 1 }),
      log.evidence.createIndex({ topic: 1, partition: 1, ts: 1 }),
      log.evidence.createIndex({ topic: 1, ts: 1 }),
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
        records.map(({ index, ...rest }) => ({ _id: index, ...rest, refs: rest.subjects.map(refOf) }) as EvidenceDoc),
        { ordered: true },
      );
    }
    await this.heads.updateOne({ _id: HEAD_ID }, { $set: head }, { upsert: true });
    await this.offsets.updateOne({ _id: `${position.topic}|${position.partition}` }, { $set: position }, { upsert: true });
  }

  async range(from: number, limit: number, opts: { withPayload?: boolean } = {}): Promise<StoredEvidence[]> {
    const docs = await this.evidence
      .find({ _id: { $gte: from } }, opts.withPayload === false ? { projection: { payload: 0 } } : {})
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => toStored(d as EvidenceDoc));
  }

  async leaves(from: number, to: number, each: (page: Buffer[]) => void): Promise<void> {
    const PAGE = 5000;
    for (let start = from; start < to; start += PAGE) {
      const end = Math.min(start + PAGE, to);
      const docs = await this.evidence
        .find({ _id: { $gte: start, $lt: end } }, { projection: { leaf: 1 } })
        .sort({ _id: 1 })
        .toArray();
      if (docs.length !== end - start) throw new Error(`the evidence log lacks records between ${start} and ${end}: ${docs.length} found`);
      docs.forEach((d, i) => {
        if (d._id !== start + i) throw new Error(`the evidence log lacks record ${start + i}`);
      });
      each(docs.map((d) => Buffer.from(d.leaf, 'hex')));
    }
  }

  async get(index: number): Promise<StoredEvidence | null> {
    const doc = await this.evidence.findOne({ _id: index });
    return doc ? toStored(doc as EvidenceDoc) : null;
  }

  async find(q: TrailQuery, limit: number): Promise<StoredEvidence[]> {
    const docs = await this.evidence.find(filterOf(q)).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map((d) => toStored(d as EvidenceDoc));
  }

  async byOffsets(topic: string, partition: number, fromOffset: string, toOffset: string) {
    // offsets are decimal text: compared as numbers after the fetch (a partition's records in a period are bounded by the caller)
    const lo = BigInt(fromOffset);
    const hi = BigInt(toOffset);
    const docs = await this.evidence
      .find({ topic, partition }, { projection: { offset: 1, eventId: 1, occurredAt: 1, ts: 1 } })
      .sort({ _id: 1 })
      .toArray();
    return docs
      .filter((d) => BigInt(d.offset) >= lo && BigInt(d.offset) < hi)
      .map((d) => ({ index: d._id, offset: d.offset, eventId: d.eventId, occurredAt: d.occurredAt, ts: d.ts }));
  }

  async inOffsets(topic: string, partition: number, fromOffset: string, toOffset: string, tsFrom: number, tsTo: number) {
    const lo = BigInt(fromOffset);
    const hi = BigInt(toOffset);
    const docs = await this.evidence
      .find(
        { topic, partition, ts: { $gte: tsFrom, $lt: tsTo } },
        { projection: { offset: 1, eventId: 1, occurredAt: 1, ts: 1, channel: 1, type: 1, payload: 1 } },
      )
      .sort({ _id: 1 })
      .toArray();
    return docs
      .filter((d) => BigInt(d.offset) >= lo && BigInt(d.offset) < hi)
      .map((d) => ({
        index: d._id,
        offset: d.offset,
        eventId: d.eventId,
        occurredAt: d.occurredAt,
        ts: d.ts,
        channel: d.channel ?? null,
        type: d.type,
        ...(d.payload ? { payload: d.payload } : {}),
      }));
  }

  async copies(topics: readonly string[], sinceTs: number, limit: number) {
    if (!topics.length) return [];
    const docs = await this.evidence
      .find({ topic: { $in: [...topics] }, ts: { $gte: sinceTs } }, { projection: { topic: 1, offset: 1, kind: 1, 'payload.headers': 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => ({
      index: d._id,
      topic: d.topic,
      offset: d.offset,
      kind: d.kind,
      headers: ((d.payload as { headers?: Record<string, string> } | undefined)?.headers ?? {}) as Record<string, string>,
    }));
  }

  async holeBetween(before: number, after: number): Promise<boolean> {
    if (after - before <= 1) return false;
    const n = await this.evidence.countDocuments({ _id: { $gt: before, $lt: after } });
    return n < after - before - 1;
  }

  async prune(
    match: { indices?: number[]; subject?: SubjectRef; kinds?: EvidenceKind[]; recordedBefore?: number; exceptSubjects?: SubjectRef[] },
    reason: string,
    at: number,
  ): Promise<number> {
    const f: Record<string, unknown> = { payload: { $exists: true } };
    if (match.indices) f._id = { $in: match.indices };
    if (match.subject) f.refs = refOf(match.subject);
    if (match.kinds?.length) f.kind = { $in: match.kinds };
    if (match.recordedBefore !== undefined) f.recordedAt = { $lt: match.recordedBefore };
    if (match.exceptSubjects?.length) {
      f.refs = { $nin: match.exceptSubjects.map(refOf) };
    }
    const r = await this.evidence.updateMany(f, { $unset: { payload: '' }, $set: { pruned: { at, reason } } });
    return r.modifiedCount;
  }

  collection(): Collection {
    return this.evidence as unknown as Collection;
  }
}
