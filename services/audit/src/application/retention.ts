/**
 * Retention and legal hold. Pruning drops payloads only: every hashed field stays, so the chain, the
 * tree, every checkpoint and every proof still verify (the payload's hash stays in the leaf). A legal
 * hold on a subject stops pruning and erasure of every record naming it until the hold is released.
 * An erasure carried out by identity (identity.data-request, kind erasure) drops the payloads of the
 * customer's records at once, unless held: those naming the customer, and those carrying one of the
 * customer's personal identifiers without naming the customer (a partner's record names its own
 * customer id only) — found by the keyed hashes (`pids`) each record keeps of the identifiers it
 * carried, learnt from the customer's own records and from the records they were made from
 * (`sourceEventId`: channels' mapped partner status names the partner's record). A record naming an erased customer or identifier
 * that arrives later is stored without its payload (`prepare`).
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { SubjectRef } from '@omnimall/evidence';
import { ConflictError, NotFoundError } from '@omnimall/service-kit/errors';
import { EVIDENCE_KINDS, personalIdsOf, type EvidenceKind } from '../domain/records';
import type { Hold, HoldRepository } from '../store/checkpoints';
import type { ErasureRepository } from '../store/erasures';
import { refOf, type LogRepository, type StoredEvidence } from '../store/evidence';

const DAY_MS = 86_400_000;

export interface PruneResult {
  at: number;
  pruned: Partial<Record<EvidenceKind, number>>;
  held: number;
}

/** How many of a customer's records an erasure reads to learn their personal identifiers. */
const ERASURE_READ_MAX = 100_000;

export class Retention {
  private key: Buffer | null = null;
  private readonly erased = new Set<string>();

  constructor(
    private readonly log: LogRepository,
    private readonly holds: HoldRepository,
    private readonly daysByKind: Record<EvidenceKind, number>,
    private readonly erasures: ErasureRepository,
    private readonly size: () => number,
  ) {}

  /** Loads the identifiers' key and what was erased before. */
  async open(): Promise<void> {
    this.key = await this.erasures.key();
    for (const ref of await this.erasures.erased()) this.erased.add(ref);
  }

  /** The keyed hash of a personal identifier (`pid:<hex>`): the same value always gives the same, and it cannot be read back. */
  pidOf(value: string): string {
    if (!this.key) throw new Error('Retention.open() first');
    return `pid:${createHmac('sha256', this.key).update(value).digest('hex')}`;
  }

  /**
   * A record about to be stored: keeps the keyed hashes of its personal identifiers, and drops its
   * payload when it names an erased customer or identifier (its hashes stay in the log).
   */
  prepare(record: StoredEvidence): StoredEvidence {
    const pids = personalIdsOf(record.payload as Record<string, unknown> | undefined).map((v) => this.pidOf(v));
    const named = [...record.subjects.map(refOf), ...pids];
    const withPids = pids.length ? { ...record, pids } : record;
    if (!named.some((ref) => this.erased.has(ref)) || record.payload === undefined) return withPids;
    const { payload: _dropped, ...kept } = withPids;
    return { ...kept, pruned: { at: record.recordedAt, reason: 'names an erased customer' } };
  }

  policy(): Record<EvidenceKind, number> {
    return { ...this.daysByKind };
  }

  /** One retention pass: per kind, payloads recorded before its period are dropped, except of held subjects. */
  async prune(now = Date.now()): Promise<PruneResult> {
    const held = (await this.holds.active()).map((h) => h.subject);
    const pruned: Partial<Record<EvidenceKind, number>> = {};
    for (const kind of EVIDENCE_KINDS) {
      const n = await this.log.prune(
        { kinds: [kind], recordedBefore: now - this.daysByKind[kind] * DAY_MS, exceptSubjects: held },
        `retention: ${kind} kept ${this.daysByKind[kind]} days`,
        now,
      );
      if (n) pruned[kind] = n;
    }
    return { at: now, pruned, held: held.length };
  }

  /** Drops the payloads of a customer's records and of records carrying their personal identifiers (an erasure), unless held. */
  async erase(customerId: string, requestId: string, now = Date.now()): Promise<number> {
    const subject = { kind: 'customer', ref: customerId };
    if ((await this.holds.active()).some((h) => sameSubject(h.subject, subject))) return 0;
    // the identifiers the customer's own records carried (before their payloads go)
    const own = await this.log.find({ subject }, ERASURE_READ_MAX, this.size());
    // and those of the records the customer's records were made from (a partner's status names only the partner's customer id;
    // channels' mapped status of it names the customer and the partner record's event id)
    const sources = [...new Set(own.map((r) => (r.payload as { sourceEventId?: unknown } | undefined)?.sourceEventId))].filter(
      (id): id is string => typeof id === 'string' && id.length > 0,
    );
    const origins = (await Promise.all(sources.map((eventId) => this.log.find({ eventId }, 10, this.size())))).flat();
    const pids = [...new Set([...own, ...origins].flatMap((r) => r.pids ?? []))];
    const reason = `erasure ${requestId}`;
    await this.erasures.add([refOf(subject), ...pids], requestId, now);
    this.erased.add(refOf(subject));
    for (const pid of pids) this.erased.add(pid);
    const named = await this.log.prune({ subject }, reason, now);
    const identified = pids.length ? await this.log.prune({ pids }, reason, now) : 0;
    return named + identified;
  }

  /** Acts on records as they are chained: an erasure carried out by identity. */
  async onRecorded(records: readonly StoredEvidence[]): Promise<void> {
    for (const r of records) {
      if (r.topic !== 'identity.data-request' || !r.payload) continue;
      const p = r.payload as { kind?: string; customerId?: string; requestId?: string };
      if (p.kind === 'erasure' && p.customerId) await this.erase(p.customerId, p.requestId ?? r.eventId);
    }
  }

  async place(subject: SubjectRef, reason: string, by: string): Promise<Hold> {
    const active = await this.holds.active();
    const existing = active.find((h) => sameSubject(h.subject, subject));
    if (existing)
      throw new ConflictError(
        'hold_exists',
        `${subject.kind} ${subject.ref} is on hold already (${existing.id})`,
        'release that hold first, or keep it',
        {
          hold: existing.id,
        },
      );
    const hold: Hold = { id: `hold_${randomUUID()}`, subject, reason, placedBy: by, placedAt: Date.now() };
    await this.holds.place(hold);
    return hold;
  }

  async release(id: string, by: string): Promise<Hold> {
    const hold = await this.holds.get(id);
    if (!hold) throw new NotFoundError('hold_not_found', `no hold ${id}`, 'list the holds with GET /audit/holds');
    if (hold.releasedAt !== undefined) throw new ConflictError('hold_released', `hold ${id} was released already`, 'nothing to do');
    return (await this.holds.release(id, by, Date.now()))!;
  }

  list(limit: number): Promise<Hold[]> {
    return this.holds.all(limit);
  }
}

const sameSubject = (a: SubjectRef, b: SubjectRef): boolean => a.kind === b.kind && a.ref === b.ref;
