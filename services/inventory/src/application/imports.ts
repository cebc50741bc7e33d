import { randomUUID } from 'node:crypto';
import { JOB_NOT_FOUND_HINT, progressOf, type JobProgress, type JobProgressSink } from '@omnimall/service-kit';
import { AppError, ForbiddenError, NotFoundError, ValidationError } from '@omnimall/service-kit/errors';
import type { ImportError, ImportJob, ImportRepository } from '../store';
import type { ImportLine } from '../store/schemas';
import type { StockService } from './stock';

/** The most lines one import takes (split a larger file). */
export const IMPORT_MAX_LINES = 20_000;
const LEASE_MS = 30_000;
const BATCH = 50;

/**
 * Parses a stock file: CSV with a header naming `sku`, `location` and `quantity` (and optionally
 * `reason`), or JSON lines of `{ sku, location, quantity, reason? }`. Each line sets the on-hand
 * quantity of a SKU at a location. Lines that cannot be read are returned as errors (the rest is
 * imported); a file with no usable header, or too many lines, is refused as a whole.
 */
export function parseStockFile(text: string, format: 'csv' | 'jsonl'): { lines: ImportLine[]; errors: ImportError[] } {
  const raw = text.split(/\r?\n/);
  const lines: ImportLine[] = [];
  const errors: ImportError[] = [];
  const push = (n: number, v: { sku?: unknown; location?: unknown; quantity?: unknown; reason?: unknown }): void => {
    const quantity = typeof v.quantity === 'string' && v.quantity.trim() !== '' ? Number(v.quantity) : v.quantity;
    if (typeof v.sku !== 'string' || !v.sku.trim() || typeof v.location !== 'string' || !v.location.trim())
      errors.push({ line: n, code: 'missing_field', message: 'sku and location are required' });
    else if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 0)
      errors.push({ line: n, code: 'invalid_quantity', message: `quantity must be a whole number ≥ 0, not ${JSON.stringify(v.quantity)}` });
    else
      lines.push({
        n,
        sku: v.sku.trim(),
        location: v.location.trim(),
        quantity,
        reason: typeof v.reason === 'string' && v.reason.trim() ? v.reason.trim().slice(0, 200) : 'stock import',
      });
  };
  if (format === 'csv') {
    const header = (raw[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
    const col = (name: string): number => header.indexOf(name);
    if (col('sku') < 0 || col('location') < 0 || col('quantity') < 0)
      throw new ValidationError(
        'invalid_stock_file',
        'the CSV header must name sku, location and quantity',
        'first line e.g. `sku,location,quantity,reason`',
      );
    raw.slice(1).forEach((row, i) => {
      if (!row.trim()) return;
      const cells = row.split(',');
      push(i + 2, {
        sku: cells[col('sku')],
        location: cells[col('location')],
        quantity: cells[col('quantity')],
        reason: col('reason') >= 0 ? cells[col('reason')] : undefined,
      });
    });
  } else {
    raw.forEach((row, i) => {
      if (!row.trim()) return;
      try {
        const v = JSON.parse(row) as Record<string, unknown>;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        push(i + 1, v);
      } catch {
        errors.push({ line: i + 1, code: 'invalid_json', message: 'not a JSON object' });
      }
    });
  }
  if (lines.length + errors.length > IMPORT_MAX_LINES)
    throw new ValidationError(
      'stock_file_too_large',
      `a stock file takes at most ${IMPORT_MAX_LINES} lines`,
      'split the file and import each part',
    );
  return { lines, errors };
}

/** A job as its submitter sees it (the parsed lines left out). */
export type ImportView = Omit<ImportJob, 'lines' | 'leaseUntil'> & { progress: number };

export const importView = (j: ImportJob): ImportView => {
  const { lines, leaseUntil, ...rest } = j; // eslint-disable-line @typescript-eslint/no-unused-vars
  return {
    ...rest,
    errors: [...j.errors].sort((a, b) => a.line - b.line),
    progress: j.total ? Math.round(((j.done + j.failed) / j.total) * 1000) / 1000 : 1,
  };
};

/**
 * An import as the kit's JobProgress view at `now`: a line is a unit, done once applied or failed (so
 * done reaches total), its errors the lines that could not be read or applied, first ones by line.
 */
export function importProgress(j: ImportJob, now: number = Date.now()): JobProgress {
  return progressOf(
    {
      id: j.id,
      kind: 'stock-import',
      service: 'inventory',
      state: j.state,
      done: j.done + j.failed,
      total: j.total,
      errors: j.failed,
      firstErrors: [...j.errors].sort((a, b) => a.line - b.line).map((e) => ({ unit: `line ${e.line}`, code: e.code, message: e.message })),
      startedAt: j.startedAt ?? null,
      updatedAt: j.updatedAt,
      finishedAt: j.finishedAt ?? null,
      location: `/imports/${j.id}`,
    },
    now,
  );
}

/**
 * Bulk imports: a file is parsed at once (bad lines are reported, the rest is queued) and applied in
 * the background by whichever instance claims the job, line by line through the same operation as
 * the HTTP API (one compare-and-set per SKU, an adjustment per line), each line with an idempotency
 * key of its own so a job resumed after a crash applies nothing twice.
 */
export class StockImports {
  constructor(
    private readonly imports: ImportRepository,
    private readonly stock: Pick<StockService, 'operate'>,
    /** Refuses (throws) when the actor may not change the SKU's stock (a seller, another seller's SKU). */
    private readonly mayWrite: (actor: { sub: string; roles: readonly string[] }, sku: string) => Promise<void>,
    /** Where the jobs' progress is published (the runtime's `jobs`; none: not published). */
    private readonly progressSink?: JobProgressSink,
  ) {}

  async submit(text: string, format: 'csv' | 'jsonl', actor: { sub: string; roles: readonly string[] }): Promise<ImportJob> {
    const parsed = parseStockFile(text, format);
    const errors = [...parsed.errors];
    const refused = new Map<string, AppError>();
    for (const sku of new Set(parsed.lines.map((l) => l.sku)))
      await this.mayWrite(actor, sku).catch((err: unknown) => {
        if (!(err instanceof AppError)) throw err;
        refused.set(sku, err);
      });
    const lines = parsed.lines.filter((l) => {
      const err = refused.get(l.sku);
      if (err) errors.push({ line: l.n, code: err.code, message: err.message });
      return !err;
    });
    errors.sort((a, b) => a.line - b.line);
    const now = Date.now();
    const job: ImportJob = {
      id: randomUUID(),
      state: 'queued',
      format,
      total: lines.length + errors.length,
      done: 0,
      failed: errors.length,
      errors,
      createdBy: actor.sub,
      createdAt: now,
      updatedAt: now,
      lines,
      cursor: 0,
      leaseUntil: 0,
    };
    await this.imports.create(job);
    return job;
  }

  async get(id: string, actor: { sub: string; roles: readonly string[] }): Promise<ImportJob> {
    const job = await this.imports.get(id);
    if (!job) throw new NotFoundError('import_not_found', `no import job ${id}`, 'check the id the import answered in its Location header');
    return this.readable(job, actor);
  }

  /** `GET /jobs/:id`: the JobProgress view of an import the actor may read (as `get` decides); 404 `job_not_found` otherwise. */
  async progress(id: string, actor: { sub: string; roles: readonly string[] }): Promise<JobProgress> {
    const job = await this.imports.get(id);
    if (!job) throw new NotFoundError('job_not_found', `no stock import job ${id}`, JOB_NOT_FOUND_HINT);
    return importProgress(this.readable(job, actor));
  }

  private readable(job: ImportJob, actor: { sub: string; roles: readonly string[] }): ImportJob {
    if (job.createdBy !== actor.sub && !actor.roles.includes('admin'))
      throw new ForbiddenError('not_job_owner', `import job ${job.id} belongs to someone else`, 'only its submitter and admins read a job');
    return job;
  }

  /** Runs one job (if one is waiting) to its end; returns whether there was one. */
  async runOne(): Promise<boolean> {
    const job = await this.imports.claim(Date.now(), LEASE_MS);
    if (!job) return false;
    let { cursor, done, failed } = job;
    const errors = [...job.errors];
    while (cursor < job.lines.length) {
      for (const line of job.lines.slice(cursor, cursor + BATCH)) {
        try {
          await this.stock.operate(line.sku, {
            op: { kind: 'set', location: line.location, bucket: 'onHand', quantity: line.quantity },
            provenance: {
              operation: 'import',
              reason: line.reason,
              actor: `staff:${job.createdBy}`,
              actorKind: 'staff',
              reference: `import:${job.id}`,
              channel: null,
            },
            origin: { correlationId: `import-${job.id}` },
            opKey: `import:${job.id}:${line.n}`,
          });
          done++;
        } catch (err) {
          if (!(err instanceof AppError)) throw err; // the database or broker: the job resumes from its cursor
          failed++;
          errors.push({ line: line.n, code: err.code, message: err.message });
        }
        cursor++;
      }
      const finished = cursor >= job.lines.length;
      await this.imports.progress(job.id, { cursor, done, failed, errors, leaseUntil: Date.now() + LEASE_MS, finished });
      if (!finished)
        void this.progressSink?.report(importProgress({ ...job, state: 'running', done, failed, errors, updatedAt: Date.now() }));
    }
    if (job.lines.length === 0) await this.imports.progress(job.id, { cursor, done, failed, errors, leaseUntil: 0, finished: true });
    // the end, as stored, through the outbox (never lost once committed)
    const ended = this.progressSink ? await this.imports.get(job.id) : null;
    if (ended) await this.progressSink!.report(importProgress(ended));
    return true;
  }
}
