/**
 * Snapshots of the in-memory tracking: `snapshots` (one head per snapshot: when, how many chunks,
 * how many bytes) and `snapshot_chunks` (the compressed image cut into chunks well under the 16 MB
 * document limit). A snapshot counts once its head is written, after all its chunks, so a crash in
 * the middle of a write leaves the previous snapshot the latest. Loading reads one head (by the
 * `at` index) and its chunks by id: a start costs the same whatever the history.
 * Retention: the newest KEPT snapshots stay; older ones are removed after each write.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface SnapshotRepository {
  /** Stores a snapshot's bytes; returns its id. */
  save(at: number, data: Buffer): Promise<string>;
  /** The latest complete snapshot's bytes, or null. */
  latest(): Promise<{ id: string; at: number; data: Buffer } | null>;
  /** Removes every snapshot but the newest `keep`; returns how many were removed. */
  prune(keep: number): Promise<number>;
  /** Bytes the snapshots hold (heads' figures). */
  bytes(): Promise<number>;
}

interface HeadDoc {
  _id: string;
  at: number;
  chunks: number;
  bytes: number;
}
interface ChunkDoc {
  _id: string;
  snapshot: string;
  data: Buffer;
}

/** Bytes per chunk document. */
const CHUNK_BYTES = 4 * 1024 * 1024;

const headSchema = new Schema<HeadDoc>(
  { _id: String, at: { type: Number, index: true }, chunks: Number, bytes: Number },
  { versionKey: false },
);
const chunkSchema = new Schema<ChunkDoc>({ _id: String, snapshot: { type: String, index: true }, data: Buffer }, { versionKey: false });

export class MongoSnapshotRepository implements SnapshotRepository {
  constructor(
    private readonly heads: Model<HeadDoc>,
    private readonly chunks: Model<ChunkDoc>,
  ) {}

  static create(db: Connection): MongoSnapshotRepository {
    return new MongoSnapshotRepository(
      db.model<HeadDoc>('SnapshotHead', headSchema, 'snapshots'),
      db.model<ChunkDoc>('SnapshotChunk', chunkSchema, 'snapshot_chunks'),
    );
  }

  async init(): Promise<void> {
    await Promise.all([this.heads.init(), this.chunks.init()]);
  }

  async save(at: number, data: Buffer): Promise<string> {
    const id = `${at.toString().padStart(15, '0')}-${Math.random().toString(36).slice(2, 8)}`;
    const parts: ChunkDoc[] = [];
    for (let i = 0; i * CHUNK_BYTES < data.length || i === 0; i++)
      parts.push({ _id: `${id}:${i}`, snapshot: id, data: data.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES) });
    for (const part of parts) await this.chunks.collection.insertOne(part as never);
    await this.heads.collection.insertOne({ _id: id, at, chunks: parts.length, bytes: data.length } as never);
    return id;
  }

  async latest(): Promise<{ id: string; at: number; data: Buffer } | null> {
    const head = await this.heads.findOne().sort({ at: -1 }).lean<HeadDoc>();
    if (!head) return null;
    const ids = Array.from({ length: head.chunks }, (_, i) => `${head._id}:${i}`);
    const rows = await this.chunks.find({ _id: { $in: ids } }).lean<Array<{ _id: string; data: Buffer | { buffer: Buffer } }>>();
    const byId = new Map(rows.map((r) => [r._id, Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data.buffer)]));
    if (ids.some((i) => !byId.has(i))) return null; // a head without its chunks (removed by a prune racing this read)
    return { id: head._id, at: head.at, data: Buffer.concat(ids.map((i) => byId.get(i)!)) };
  }

  async prune(keep: number): Promise<number> {
    const old = await this.heads.find({}, { _id: 1 }).sort({ at: -1 }).skip(keep).lean<Array<{ _id: string }>>();
    if (!old.length) return 0;
    const ids = old.map((h) => h._id);
    await this.heads.deleteMany({ _id: { $in: ids } });
    await this.chunks.deleteMany({ snapshot: { $in: ids } });
    return ids.length;
  }

  async bytes(): Promise<number> {
    const rows = await this.heads.find({}, { bytes: 1 }).lean<Array<{ bytes: number }>>();
    return rows.reduce((n, r) => n + r.bytes, 0);
  }
}
