/**
 * Reconciled reports (issue 23): for a period, a set of channels and the topics the audit reads, what
 * Kafka's own offsets say was written against what the log recorded, each difference classified and
 * explained record by record (domain/reconcile.ts), the control totals, the start and end checkpoints
 * with the consistency proof between them; the document canonical (RFC 8785) and signed with the
 * checkpoint key (Ed25519 over the canonical bytes).
 *
 * Asking checks the period and reads Kafka's offsets at once (so a report too large is refused with 422
 * before any work); the reading and reconciling then run as a job whose status and progress are stored
 * with the report. Its progress is also the kit's JobProgress view (kind `report`, `GET /jobs/:id`): the
 * records Kafka's offsets expect in the period are the units (all of them done once the report is made:
 * a missing one is a difference the report explains, not an error of the job); published on
 * platform.job-progress at most once a second while it runs and once when it ends.
 */
import { randomUUID, sign } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { canonicalBytes } from '@omnimall/evidence';
import { JOB_NOT_FOUND_HINT, progressOf, type JobProgress, type JobProgressSink, type Logger } from '@omnimall/service-kit';
import { NotFoundError, UnprocessableError, ValidationError } from '@omnimall/service-kit/errors';
import { DLQ_SUFFIX, RETRY_SUFFIX } from '../domain/records';
import {
  controlTotals,
  MAX_PERIOD_MS,
  periodProblem,
  reconcile,
  type CopyOf,
  type Difference,
  type PartitionRange,
  type Period,
  type RangeRecord,
} from '../domain/reconcile';
import type { StoredCheckpoint } from '../store/checkpoints';
import type { AuditStore, StoredEvidence } from '../store';
import type { ReportProgress, StoredReport } from '../store/reports';
import type { Signer } from './keys';
import type { AuditLog } from './log';

export interface ReportLimits {
  /** The longest period one report covers (ms). */
  maxPeriodMs: number;
  /** The most Kafka offsets one report reconciles. */
  maxRecords: number;
  /** An event that occurred this long before the period and was written inside it is `late` (ms). */
  lateToleranceMs: number;
  /** The most differences listed record by record (counts stay complete). */
  maxListed: number;
  /** How far around the period record timestamps are read (producer clocks, ms). */
  skewMs: number;
  /** The most `.dlq` / `.retry` copies read. */
  maxCopies: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = {
  maxPeriodMs: MAX_PERIOD_MS,
  maxRecords: 500_000,
  lateToleranceMs: 5 * 60_000,
  maxListed: 10_000,
  skewMs: 3_600_000,
  maxCopies: 100_000,
};

export interface ReportsDeps {
  kafka: Pick<Kafka, 'admin'>;
  log: Pick<AuditLog, 'lastOffset' | 'checkpoint' | 'consistency' | 'size'>;
  store: Pick<AuditStore, 'log' | 'checkpoints' | 'reports'>;
  signer: Pick<Signer, 'keyId' | 'privateKey'>;
  /** The topics the reader reads (the report's default and allowed set). */
  topics: () => readonly string[];
  logger: Logger;
  limits?: Partial<ReportLimits>;
  now?: () => number;
  /** Where the reports' progress is published (the runtime's `jobs`; none: not published). */
  progress?: JobProgressSink;
}

export interface ReportAsk {
  from: number;
  to: number;
  channels: string[];
  topics?: string[];
  requestedBy: string;
}

interface Offsets {
  topic: string;
  partition: number;
  start: string;
  end: string;
}

/**
 * What the progress of a report also keeps (stored with it: the store writes the progress object whole):
 * the records Kafka's offsets expect in the period, and when the progress was last written.
 */

/** A report as the kit's JobProgress view at `now` (see the header). */
export function reportProgress(r: StoredReport, now: number): JobProgress {
  const p = r.progress as ReportProgress;
  const total = p.expected ?? p.recordsRead;
  const state = r.status === 'running' ? 'running' : r.status;
  return progressOf(
    {
      id: r.id,
      kind: 'report',
      service: 'audit',
      state,
      done: state === 'done' ? total : p.recordsRead,
      total,
      errors: state === 'failed' ? 1 : 0,
      firstErrors: state === 'failed' ? [{ unit: r.id, code: 'report_failed', message: r.error ?? 'unknown error' }] : [],
      startedAt: r.requestedAt,
      updatedAt: r.finishedAt ?? p.at ?? r.requestedAt,
      finishedAt: r.finishedAt ?? null,
      location: `/audit/reports/${r.id}`,
    },
    now,
  );
}

const checkpointFacts = (c: StoredCheckpoint | null): Record<string, unknown> | null =>
  c ? { treeSize: c.treeSize, root: c.root, at: c.at, keyId: c.keyId, signature: c.signature, chainHead: c.chainHead } : null;

export class Reports {
  private readonly limits: ReportLimits;
  private readonly now: () => number;
  private readonly jobs = new Set<Promise<void>>();

  constructor(private readonly deps: ReportsDeps) {
    this.limits = { ...DEFAULT_REPORT_LIMITS, ...deps.limits };
    this.now = deps.now ?? Date.now;
  }

  /** Reports a stopped instance left running are failed (asked again, they run anew). */
  async recover(): Promise<void> {
    const n = await this.deps.store.reports.failRunning('interrupted: the audit stopped while the report was made; ask again', this.now());
    if (n) this.deps.logger.warn('reports left running were marked failed', { reports: n });
  }

  /** Checks the ask, reads Kafka's offsets for the period and starts the job; returns the report as stored (running). */
  async generate(ask: ReportAsk): Promise<StoredReport> {
    const period: Period = { from: ask.from, to: ask.to };
    const problem = periodProblem(period, this.now(), this.limits.maxPeriodMs);
    if (problem) {
      const Err = problem.code === 'bad_period' ? ValidationError : UnprocessableError;
      throw new Err(problem.code, problem.message, problem.hint, { from: ask.from, to: ask.to });
    }
    const readable = [...this.deps.topics()];
    const unknown = (ask.topics ?? []).filter((t) => !readable.includes(t));
    if (unknown.length)
      throw new ValidationError(
        'topic_not_read',
        `the audit does not read ${unknown.join(', ')}`,
        'name topics the audit reads, or none for all',
        {
          unknown,
          topics: readable,
        },
      );
    const topics = [...new Set(ask.topics?.length ? ask.topics : readable)].sort();
    const offsets = await this.offsetsOf(topics, period);
    const expected = offsets.reduce((n, o) => n + Number(BigInt(o.end) - BigInt(o.start)), 0);
    if (expected > this.limits.maxRecords)
      throw new UnprocessableError(
        'period_too_long',
        `Kafka holds ${expected} records of these topics in the period, more than one report reads (${this.limits.maxRecords})`,
        'shorten the period or name fewer topics',
        { records: expected, max: this.limits.maxRecords },
      );
    const requestedAt = this.now();
    const progress: ReportProgress = { topics: topics.length, topicsDone: 0, recordsRead: 0, expected, at: requestedAt };
    const stored: StoredReport = {
      id: `rep_${randomUUID()}`,
      status: 'running',
      progress,
      request: { from: ask.from, to: ask.to, channels: [...new Set(ask.channels)].sort(), topics },
      requestedBy: ask.requestedBy,
      requestedAt,
    };
    await this.deps.store.reports.create(stored);
    void this.announce(stored);
    const job = this.run(stored, offsets)
      .catch(async (err) => {
        this.deps.logger.error('report not made', { id: stored.id, err: String(err) });
        await this.deps.store.reports.fail(stored.id, String((err as Error)?.message ?? err), this.now()).catch(() => undefined);
      })
      .then(() => this.announceEnd(stored.id));
    this.jobs.add(job);
    void job.finally(() => this.jobs.delete(job));
    return stored;
  }

  async get(id: string): Promise<StoredReport> {
    const r = await this.deps.store.reports.get(id);
    if (!r) throw new NotFoundError('report_not_found', `no report ${id}`, 'POST /audit/reports answers the id of the report it makes');
    return r;
  }

  /** The report behind `GET /jobs/:id` (404 `job_not_found` when there is none; the caller's scope is the route's to check). */
  async job(id: string): Promise<StoredReport> {
    const r = await this.deps.store.reports.get(id);
    if (!r) throw new NotFoundError('job_not_found', `no report job ${id}`, JOB_NOT_FOUND_HINT);
    return r;
  }

  /** The JobProgress view of a stored report, now. */
  jobProgress(r: StoredReport): JobProgress {
    return reportProgress(r, this.now());
  }

  /** Publishes a running report's progress (at most once a second: the sink throttles). */
  private announce(r: StoredReport): Promise<boolean> {
    return this.deps.progress?.report(reportProgress(r, this.now())) ?? Promise.resolve(false);
  }

  /** Publishes the end of a report as stored (done or failed), through the outbox. Never rejects. */
  private async announceEnd(id: string): Promise<void> {
    if (!this.deps.progress) return;
    const r = await this.deps.store.reports.get(id).catch(() => null);
    if (r && r.status !== 'running') await this.deps.progress.report(reportProgress(r, this.now()));
  }

  /** Resolves once every running job has ended (stop, tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.jobs]);
  }

  private async offsetsOf(topics: readonly string[], period: Period): Promise<Offsets[]> {
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const out: Offsets[] = [];
      for (const topic of topics) {
        const [starts, ends] = await Promise.all([
          admin.fetchTopicOffsetsByTimestamp(topic, period.from),
          admin.fetchTopicOffsetsByTimestamp(topic, period.to),
        ]);
        for (const s of starts) {
          const end = ends.find((e) => e.partition === s.partition)?.offset ?? s.offset;
          out.push({ topic, partition: s.partition, start: s.offset, end: BigInt(end) < BigInt(s.offset) ? s.offset : end });
        }
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  private async run(stored: StoredReport, offsets: readonly Offsets[]): Promise<void> {
    const { store, log } = this.deps;
    const { from, to, channels, topics } = stored.request;
    const period = { from, to };
    const progress: ReportProgress = { ...stored.progress };
    const written = async (): Promise<void> => {
      progress.at = this.now();
      await store.reports.progress(stored.id, progress);
      void this.announce({ ...stored, progress });
    };
    // One pass over the log's window: from the first record recorded at the period's start (less the
    // clock skew allowed) until records are recorded more than the skew after its end. Each record of
    // a partition in the period (by its offsets) goes to its range; each .dlq / .retry copy to the copies.
    const wanted = new Map<string, Offsets & { records: RangeRecord[] }>();
    for (const o of offsets) if (BigInt(o.start) < BigInt(o.end)) wanted.set(`${o.topic}|${o.partition}`, { ...o, records: [] });
    const siblings = new Set(
      topics.filter((t) => !t.endsWith(DLQ_SUFFIX) && !t.endsWith(RETRY_SUFFIX)).flatMap((t) => [t + DLQ_SUFFIX, t + RETRY_SUFFIX]),
    );
    const copies: CopyOf[] = [];
    const size = log.size;
    const first = await store.log.indexAt(from - this.limits.skewMs, size);
    const until = to + this.limits.skewMs;
    await store.log.scan(first, size, async (page) => {
      for (const r of page) {
        if (r.recordedAt > until) return false;
        const range = wanted.get(`${r.topic}|${r.partition}`);
        if (range && BigInt(r.offset) >= BigInt(range.start) && BigInt(r.offset) < BigInt(range.end)) {
          range.records.push({
            index: r.index,
            offset: r.offset,
            eventId: r.eventId,
            occurredAt: r.occurredAt,
            ts: r.ts,
            channel: r.channel ?? null,
            type: r.type,
            ...(r.payload !== undefined ? { payload: r.payload } : {}),
          });
          progress.recordsRead++;
        }
        if (siblings.has(r.topic) && copies.length < this.limits.maxCopies) {
          const copy = copyOf(r);
          if (copy) copies.push(copy);
        }
      }
      await written();
      return true;
    });
    const ranges: PartitionRange[] = offsets.map((o) => ({
      ...o,
      lastOffset: log.lastOffset(o.topic, o.partition),
      records: wanted.get(`${o.topic}|${o.partition}`)?.records ?? [],
    }));
    progress.topicsDone = topics.length;
    await written();
    const rec = reconcile({
      period,
      channels,
      ranges,
      copies,
      lateToleranceMs: this.limits.lateToleranceMs,
      maxListed: this.limits.maxListed,
    });
    await this.causes(rec.differences);
    const totals = controlTotals(rec.inScope);
    const { start, end } = await this.checkpoints(period);
    const consistencyProof = start && end && start.treeSize <= end.treeSize ? log.consistency(start.treeSize, end.treeSize) : null;
    const generatedAt = this.now();
    const report = {
      id: stored.id,
      period: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), fromMs: from, toMs: to },
      channels,
      generatedAt: new Date(generatedAt).toISOString(),
      requestedBy: stored.requestedBy,
      topics: rec.topics,
      differences: rec.differences,
      differencesUnlisted: rec.unlisted,
      controlTotals: totals,
      checkpoints: {
        start: checkpointFacts(start),
        end: checkpointFacts(end),
        consistencyProof,
        note: !start
          ? 'no checkpoint was signed at or before the period’s start: the end checkpoint covers the log from its first record'
          : 'the start checkpoint’s tree is a prefix of the end checkpoint’s (RFC 6962 consistency proof, verifiable with verifyConsistency)',
        recordsAfterEnd: end ? rec.inScope.filter((r) => r.index >= end.treeSize).length : rec.inScope.length,
      },
      unexplained: rec.unexplained,
      ok: rec.unexplained === 0,
      method: rec.method,
    };
    const data = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
    const signature = sign(null, canonicalBytes(data), this.deps.signer.privateKey).toString('base64');
    await store.reports.finish(stored.id, data, { algorithm: 'Ed25519', keyId: this.deps.signer.keyId, signature }, this.now());
  }

  /** Says of each gap whether the store lacks a record between its neighbours (removed) or Kafka never delivered one. */
  private async causes(differences: Difference[]): Promise<void> {
    let checked = 0;
    for (const d of differences) {
      if (d.class !== 'unexplained' || !d.between || checked >= 200) continue;
      checked++;
      const { before, after } = d.between;
      if (before === null || after === null) continue;
      const hole = await this.deps.store.log.holeBetween(before, after);
      d.explanation += hole
        ? `; the log lacks a record between indices ${before} and ${after}: a record was removed from the store (POST /audit/verify reports it)`
        : `; the log is continuous between indices ${before} and ${after}: Kafka never delivered the record to the audit (compaction or retention before it was read)`;
    }
  }

  /** The latest checkpoint at or before the start; the earliest at or after the end, or a fresh one. */
  private async checkpoints(period: Period): Promise<{ start: StoredCheckpoint | null; end: StoredCheckpoint | null }> {
    const { checkpoints } = this.deps.store;
    const start = await checkpoints.atOrBefore(period.from);
    const existing = period.to < this.now() ? await checkpoints.atOrAfter(period.to) : null;
    const end = existing ?? (await this.deps.log.checkpoint(this.now(), true)) ?? (await checkpoints.latest());
    return { start, end };
  }
}

/** The record a `.dlq` or `.retry` record copies, by the kit's x-source-* headers (null when they do not say). */
function copyOf(r: StoredEvidence): CopyOf | null {
  const h = (r.payload as { headers?: Record<string, string> } | undefined)?.headers ?? {};
  const partition = Number(h['x-source-partition']);
  if (!h['x-source-topic'] || !Number.isSafeInteger(partition) || !/^\d+$/.test(h['x-source-offset'] ?? '')) return null;
  return {
    kind: r.topic.endsWith(DLQ_SUFFIX) ? 'dead_letter' : 'retry',
    topic: r.topic,
    index: r.index,
    offset: r.offset,
    sourceTopic: h['x-source-topic'],
    sourcePartition: partition,
    sourceOffset: h['x-source-offset'],
    reason: h['x-dlq-reason'] ?? h['x-error'] ?? null,
  };
}
