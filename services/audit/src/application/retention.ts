/**
 * Retention and legal hold. Pruning drops payloads only: every hashed field stays, so the chain, the
 * tree, every checkpoint and every proof still verify (the payload's hash stays in the leaf). A legal
 * hold on a subject stops pruning and erasure of every record naming it until the hold is released.
 * An erasure carried out by identity (identity.data-request, kind erasure) drops the payloads of the
 * customer's records at once, unless held.
 */
import { randomUUID } from 'node:crypto';
import type { SubjectRef } from '@omnimall/evidence';
import { ConflictError, NotFoundError } from '@omnimall/service-kit/errors';
import { EVIDENCE_KINDS, type EvidenceKind } from '../domain/records';
import type { Hold, HoldRepository } from '../store/checkpoints';
import type { LogRepository, StoredEvidence } from '../store/evidence';

const DAY_MS = 86_400_000;

export interface PruneResult {
  at: number;
  pruned: Partial<Record<EvidenceKind, number>>;
  held: number;
}

export class Retention {
  constructor(
    private readonly log: LogRepository,
    private readonly holds: HoldRepository,
    private readonly daysByKind: Record<EvidenceKind, number>,
  ) {}

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

  /** Drops the payloads of a customer's records (an erasure), unless a hold names the customer. */
  async erase(customerId: string, requestId: string, now = Date.now()): Promise<number> {
    const subject = { kind: 'customer', ref: customerId };
    if ((await this.holds.active()).some((h) => sameSubject(h.subject, subject))) return 0;
    return this.log.prune({ subject }, `erasure ${requestId}`, now);
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
