/**
 * Reconciled reports: one document per report (`_id` its id), written when it is asked for (running),
 * its progress while it is made, then the signed report (done) or why it could not be made (failed).
 */
import type { Collection, Connection } from 'mongoose';

export type ReportStatus = 'running' | 'done' | 'failed';

export interface ReportProgress {
  topics: number;
  topicsDone: number;
  recordsRead: number;
  /** Records Kafka's offsets expect in the period (the job's total). */
  expected?: number;
  /** When the progress was last written (epoch ms). */
  at?: number;
}

export interface ReportSignature {
  algorithm: 'Ed25519';
  keyId: string;
  /** Base64 signature over the RFC 8785 canonical JSON bytes of `report`. */
  signature: string;
}

export interface ReportRequest {
  from: number;
  to: number;
  channels: string[];
  topics: string[];
}

export interface StoredReport {
  id: string;
  status: ReportStatus;
  progress: ReportProgress;
  request: ReportRequest;
  requestedBy: string;
  requestedAt: number;
  finishedAt?: number;
  /** The report document (canonical JSON data), once done. */
  report?: Record<string, unknown>;
  signature?: ReportSignature;
  error?: string;
}

export interface ReportRepository {
  create(r: StoredReport): Promise<void>;
  progress(id: string, p: ReportProgress): Promise<void>;
  finish(id: string, report: Record<string, unknown>, signature: ReportSignature, at: number): Promise<void>;
  fail(id: string, error: string, at: number): Promise<void>;
  get(id: string): Promise<StoredReport | null>;
  /** Marks reports left running (by a stopped instance) failed; returns how many. */
  failRunning(error: string, at: number): Promise<number>;
}

type Doc = Omit<StoredReport, 'id'> & { _id: string };

export class MongoReports implements ReportRepository {
  constructor(private readonly c: Collection<Doc>) {}

  static async create(db: Connection): Promise<MongoReports> {
    const c = db.collection<Doc>('reports');
    await c.createIndex({ status: 1 });
    return new MongoReports(c);
  }

  async create(r: StoredReport): Promise<void> {
    const { id, ...rest } = r;
    await this.c.insertOne({ _id: id, ...rest });
  }

  async progress(id: string, p: ReportProgress): Promise<void> {
    await this.c.updateOne({ _id: id, status: 'running' }, { $set: { progress: p } });
  }

  async finish(id: string, report: Record<string, unknown>, signature: ReportSignature, at: number): Promise<void> {
    await this.c.updateOne({ _id: id }, { $set: { status: 'done', report, signature, finishedAt: at } });
  }

  async fail(id: string, error: string, at: number): Promise<void> {
    await this.c.updateOne({ _id: id }, { $set: { status: 'failed', error: error.slice(0, 2000), finishedAt: at } });
  }

  async get(id: string): Promise<StoredReport | null> {
    const doc = await this.c.findOne({ _id: id });
    if (!doc) return null;
    const { _id, ...rest } = doc;
    return { id: _id, ...rest };
  }

  async failRunning(error: string, at: number): Promise<number> {
    const r = await this.c.updateMany({ status: 'running' }, { $set: { status: 'failed', error, finishedAt: at } });
    return r.modifiedCount;
  }
}
