/**
 * Reading the evidence: trails by subject, channel, time and kind; one record with its inclusion
 * proof; the log exported in pages for an auditor's own verification; and the verification run here.
 */
import { verifyLog, type Checkpoint, type EvidenceRecord, type LogProblem } from '@omnimall/evidence';
import { NotFoundError, UnprocessableError } from '@omnimall/service-kit/errors';
import type { CheckpointRepository } from '../store/checkpoints';
import type { LogRepository, StoredEvidence, TrailQuery } from '../store/evidence';
import type { KeyRepository } from '../store/checkpoints';
import type { AuditLog } from './log';

/** A record as exported: the chained fields and the payload (what `verifyLog` and the CLI read), plus its kind and prune note. */
export type ExportedRecord = EvidenceRecord & Pick<StoredEvidence, 'kind' | 'pruned'>;

export function exported(r: StoredEvidence): ExportedRecord {
  const { leaf: _leaf, ts: _ts, ...rest } = r;
  return rest;
}

export interface VerifyReport {
  ok: boolean;
  records: number;
  checkpoints: number;
  /** The tree's root over the records read (hex), and the latest checkpoint it was compared with. */
  root: string | null;
  latestCheckpoint: Checkpoint | null;
  problems: LogProblem[];
  verifiedAt: number;
}

export class Trails {
  constructor(
    private readonly log: LogRepository,
    private readonly tree: AuditLog,
    private readonly checkpointsRepo: CheckpointRepository,
    private readonly keys: KeyRepository,
    private readonly verifyMax: number,
  ) {}

  find(q: TrailQuery, limit: number): Promise<StoredEvidence[]> {
    return this.log.find(q, limit, this.tree.size);
  }

  async get(index: number): Promise<StoredEvidence> {
    const r = await this.log.get(index);
    if (!r) throw new NotFoundError('record_not_found', `no evidence record ${index}`, `records are numbered 0..${this.tree.size - 1}`);
    return r;
  }

  /** A page of the log in index order, for export. */
  page(from: number, limit: number): Promise<StoredEvidence[]> {
    return this.log.range(from, limit);
  }

  checkpoints(limit: number, before?: number): Promise<Checkpoint[]> {
    return this.checkpointsRepo.list(limit, before);
  }

  async publicKeys(): Promise<Array<{ keyId: string; publicPem: string; createdAt: number }>> {
    return this.keys.publicKeys();
  }

  /**
   * Verifies the stored log as an outside auditor would (records, their chain, their payloads against
   * their hashes, offsets per partition, every checkpoint's signature and root), with the public keys
   * this service ever signed with. The whole log up to AUDIT_VERIFY_MAX records; a larger log is
   * verified with the CLI, which pages through the export.
   */
  async verify(): Promise<VerifyReport> {
    const size = this.tree.size;
    if (size > this.verifyMax)
      throw new UnprocessableError(
        'log_too_large',
        `the log holds ${size} records, more than one verification here reads (${this.verifyMax})`,
        'run `npm run audit:verify` (it pages through GET /audit/log), or raise AUDIT_VERIFY_MAX',
        { size, max: this.verifyMax },
      );
    const records: EvidenceRecord[] = [];
    const PAGE = 5000;
    for (let from = 0; from < size; from += PAGE) {
      const page = await this.log.range(from, Math.min(PAGE, size - from));
      records.push(...page.map(exported));
      if (page.length < Math.min(PAGE, size - from)) break;
    }
    const checkpoints = (await this.checkpointsRepo.all()).filter((c) => c.treeSize <= size);
    const keys = (await this.keys.publicKeys()).map((k) => k.publicPem);
    const problems = verifyLog(records, checkpoints, keys);
    const latest = checkpoints.length ? checkpoints[checkpoints.length - 1] : null;
    return {
      ok: problems.length === 0,
      records: records.length,
      checkpoints: checkpoints.length,
      root: records.length && this.tree.ready ? this.tree.root(records.length) : null,
      latestCheckpoint: latest
        ? { treeSize: latest.treeSize, root: latest.root, at: latest.at, keyId: latest.keyId, signature: latest.signature }
        : null,
      problems,
      verifiedAt: Date.now(),
    };
  }
}
