import { AppError, ConflictError, NotFoundError, UnprocessableError, ValidationError } from '@omnimall/service-kit/errors';
import { requestHash, type OutgoingEvent } from '@omnimall/service-kit';
import { commitPoints, holdPoints, releasePoints, revertPoints, type Ledger, type LedgerResult } from '../domain/loyalty';
import {
  checkKey,
  committed,
  expiredHolds,
  holdBudget,
  holdCode,
  normaliseCode,
  released,
  reverted,
  settledCampaign,
  type CampaignRecord,
  type Counter,
} from '../domain/usage';
import { loyaltyEntry } from '../events/out/promotions.loyalty-entry';
import type { EventOrigin } from '../events/out/origin';
import { usageChanged } from '../events/out/promotions.usage';
import type { CampaignRepository } from '../store/campaigns';
import type { CodeRepository } from '../store/codes';
import type { CampaignUse, HoldRecord, HoldRepository, HoldState } from '../store/holds';
import type { LedgerRepository } from '../store/ledgers';

export interface HoldRequest {
  holdId: string;
  customerId: string;
  channel: string;
  reference: string;
  codes: readonly string[];
  campaigns: readonly CampaignUse[];
  points: number;
  expiresAt: number;
}

/** Who asked and why: `staff:<id>`, `customer:<id>`, `command:<producer>`; the command answered, if any. */
export interface UsageMeta {
  caller: string;
  commandId: string | null;
  origin: EventOrigin;
}

/** What a hold, commit, release or revert led to: the hold, its refusal (a refused hold), and whether this call moved it. */
export interface HoldOutcome {
  hold: HoldRecord;
  refusal: AppError | null;
  changed: boolean;
}

/** Called when a campaign's budget becomes used up, or stops being so (the definitions service republishes its promotions). */
export type BudgetListener = (campaignId: string, exhausted: boolean) => Promise<void>;

export const holdNotFound = (id: string): NotFoundError =>
  new NotFoundError('hold_not_found', `no usage hold ${id}`, 'hold first (POST /holds), or check the id');

/** A hold's items, normalised: codes upper case, deduplicated, sorted; campaigns merged by id, sorted. */
export function normaliseRequest(req: HoldRequest): HoldRequest {
  checkKey('hold_id', req.holdId);
  checkKey('customer_id', req.customerId);
  const codes = [...new Set(req.codes.map(normaliseCode))].sort();
  const byCampaign = new Map<string, number>();
  for (const c of req.campaigns) byCampaign.set(checkKey('campaign_id', c.campaignId), (byCampaign.get(c.campaignId) ?? 0) + c.amountMinor);
  const campaigns = [...byCampaign.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([campaignId, amountMinor]) => ({ campaignId, amountMinor }));
  if (!Number.isSafeInteger(req.points) || req.points < 0)
    throw new ValidationError('invalid_points', 'points is a whole number, 0 or more', 'send points ≥ 0');
  if (!codes.length && !campaigns.length && !req.points)
    throw new ValidationError(
      'nothing_to_hold',
      'a hold names at least one code, campaign or some points',
      'send codes, campaigns or points',
    );
  return { ...req, codes, campaigns };
}

const bump = <R extends { version: number; updatedAt: number }>(r: R): R => ({ ...r, version: r.version + 1, updatedAt: Date.now() });

/**
 * Usage holds across codes, campaign budgets and loyalty points. Each item is held in the document
 * it limits by one compare-and-set (codes, then campaigns, then the ledger, each in a fixed order),
 * so concurrent holds on any number of instances never together pass a limit: the loser decides
 * again on the winner's write and is refused. When one item is refused, what was taken is given
 * back and the hold is refused with the reason. Every item carries the hold's expiry, so a crash
 * mid-way leaks nothing: the sweeper gives back what expired. The hold's record is written once
 * concluded, then on every move, each time with its promotions.usage event.
 */
export class HoldService {
  constructor(
    private readonly codes: CodeRepository,
    private readonly campaigns: CampaignRepository,
    private readonly ledgers: LedgerRepository,
    private readonly holds: HoldRepository,
    private readonly opts: {
      /** How long past its expiry a hold's items are given back (a commit just before the expiry is never undone). */
      graceMs: number;
      /** How long earned points live (a revert gives burnt points back to their lots, which expire by it). */
      pointsTtlMs: number;
    },
    private onBudgetState: BudgetListener = () => Promise.resolve(),
  ) {}

  /** Sets who hears of campaign budgets used up (the definitions service, once it is built). */
  listenToBudgets(listener: BudgetListener): void {
    this.onBudgetState = listener;
  }

  async get(id: string): Promise<HoldRecord> {
    const h = await this.holds.get(id);
    if (!h) throw holdNotFound(id);
    return h;
  }

  async hold(request: HoldRequest, meta: UsageMeta): Promise<HoldOutcome> {
    const req = normaliseRequest(request);
    const hash = requestHash([req.customerId, req.channel, req.reference, req.codes, req.campaigns, req.points]);
    const seen = await this.holds.get(req.holdId);
    if (seen) {
      sameRequest(seen, hash, meta.caller);
      return { hold: seen, refusal: refusalOf(seen), changed: false };
    }
    const now = Date.now();
    const h: HoldRecord = {
      id: req.holdId,
      customerId: req.customerId,
      channel: req.channel,
      reference: req.reference,
      caller: meta.caller,
      requestHash: hash,
      codes: [...req.codes],
      codePromotions: [],
      campaigns: [...req.campaigns],
      points: req.points,
      state: 'held',
      expiresAt: req.expiresAt,
      reason: null,
      hint: null,
      createdAt: now,
      updatedAt: now,
      version: 0,
    };
    let refusal: AppError | null = null;
    try {
      await this.take(h);
    } catch (err) {
      if (!(err instanceof ConflictError || (err instanceof AppError && err.status === 400))) throw err;
      refusal = err;
      await this.giveBack(h, meta);
    }
    const set: Partial<HoldRecord> = refusal ? { state: 'refused', reason: refusal.code, hint: refusal.hint } : {};
    let changed = false;
    const concluded = await this.holds.transact(
      h.id,
      (cur) => {
        changed = !cur;
        if (cur) {
          sameRequest(cur, hash, meta.caller);
          return null;
        }
        const record = bump({ ...h, ...set });
        return { record, events: [usageChanged(record, meta.commandId, meta.origin)] };
      },
      true,
    );
    return { hold: concluded!, refusal: concluded!.state === 'refused' ? (refusal ?? refusalOf(concluded!)) : null, changed };
  }

  /** Takes every item of the hold in a fixed order; throws the first refusal (what was taken stays until given back). */
  private async take(h: HoldRecord): Promise<void> {
    for (const code of h.codes)
      await this.codes.transact(code, (cur) => {
        if (!cur) throw new ConflictError('code_unknown', `no code ${code}`, 'check the code entered', { code });
        const next = holdCode(cur, h.id, h.customerId, h.expiresAt);
        if (!h.codePromotions.some((c) => c.code === code)) h.codePromotions.push({ code, promotionId: cur.promotionId });
        return next === cur ? null : { record: bump(next), events: [] };
      });
    for (const use of h.campaigns)
      await this.campaigns.transact(use.campaignId, (cur) => {
        if (!cur) throw new ConflictError('campaign_unknown', `no campaign ${use.campaignId}`, 'check the campaign id', { ...use });
        const next = holdBudget(cur, h.id, h.customerId, use.amountMinor, h.expiresAt);
        return next === cur ? null : { record: bump(next), events: [] };
      });
    if (h.points > 0)
      await this.ledgers.transact(h.customerId, (cur) => {
        if (!cur)
          throw new ConflictError('insufficient_points', `0 points are available, not ${h.points}`, 'redeem no points', { available: 0 });
        const next = holdPoints(cur, h.id, h.points, h.expiresAt);
        return next === cur ? null : { record: bump(next), events: [] };
      });
  }

  async commit(id: string, meta: UsageMeta): Promise<HoldOutcome> {
    const h = await this.get(id);
    if (h.state === 'committed') return { hold: h, refusal: null, changed: false };
    if (h.state !== 'held') throw notActive(h);
    if (h.expiresAt <= Date.now())
      throw new ConflictError('hold_expired', `hold ${id} expired`, 'hold again', { holdId: id, expiresAt: h.expiresAt });
    for (const code of h.codes) await this.codes.transact(code, (cur) => counterChange(cur, (c) => committed(c, id)));
    await this.settleCampaigns(h, (c) => committed(c, id));
    if (h.points > 0) await this.ledgerChange(h, (l) => commitPoints(l, id, h.channel, Date.now()), meta);
    return this.finish(h, 'committed', meta);
  }

  async release(id: string, meta: UsageMeta): Promise<HoldOutcome> {
    const h = await this.get(id);
    if (h.state === 'released' || h.state === 'expired' || h.state === 'refused') return { hold: h, refusal: null, changed: false };
    if (h.state !== 'held') throw notActive(h);
    await this.giveBack(h, meta);
    return this.finish(h, 'released', meta);
  }

  /** Gives committed usage back (a cancelled or returned order): codes and budgets counted again, points returned. */
  async revert(id: string, meta: UsageMeta): Promise<HoldOutcome> {
    const h = await this.get(id);
    if (h.state === 'reverted') return { hold: h, refusal: null, changed: false };
    if (h.state !== 'committed') throw notActive(h);
    for (const code of h.codes) await this.codes.transact(code, (cur) => counterChange(cur, (c) => reverted(c, id)));
    await this.settleCampaigns(h, (c) => reverted(c, id));
    if (h.points > 0) await this.ledgerChange(h, (l) => revertPoints(l, id, h.channel, Date.now(), this.opts.pointsTtlMs), meta);
    return this.finish(h, 'reverted', meta);
  }

  /**
   * Answers a command that changed nothing (a retry with a new command id) or that was refused (an
   * unknown or finished hold): a promotions.usage event naming the command, in the hold's state, or
   * `refused` with the refusal's code and hint (a hold never seen is recorded as refused).
   */
  async answer(id: string, base: Omit<HoldRequest, 'expiresAt' | 'holdId'>, err: AppError | null, meta: UsageMeta): Promise<void> {
    await this.holds.transact(id, (cur) => {
      const now = Date.now();
      const known: HoldRecord = cur ?? {
        ...base,
        id,
        codes: [...base.codes],
        codePromotions: [],
        campaigns: [...base.campaigns],
        caller: meta.caller,
        requestHash: '',
        state: 'refused',
        expiresAt: now,
        reason: err?.code ?? null,
        hint: err?.hint ?? null,
        createdAt: now,
        updatedAt: now,
        version: 0,
      };
      const record = bump(known);
      const shown = err ? { ...record, state: 'refused' as const, reason: err.code, hint: err.hint } : record;
      return { record, events: [usageChanged(shown, meta.commandId, meta.origin)] };
    });
  }

  /**
   * One sweep: holds still `held` past their expiry (and the grace) give their items back and are
   * marked expired; codes and campaigns holding an expired hold with no record (a crash before it
   * was concluded) give it back too. Points held by such holds go back with the loyalty worker.
   * Returns how many holds it ended.
   */
  async sweep(now: number, limit = 100): Promise<number> {
    const before = now - this.opts.graceMs;
    const meta: UsageMeta = { caller: 'system:sweeper', commandId: null, origin: {} };
    const ended = await this.holds.expired(before, limit);
    for (const h of ended) {
      await this.giveBack(h, meta);
      await this.finishIf(h.id, ['held'], 'expired', meta);
    }
    const dropExpired = <C extends Counter>(c: C): C | null => {
      const ids = expiredHolds(c, before);
      return ids.length ? ids.reduce((acc, id) => released(acc, id) ?? acc, c) : null;
    };
    for (const code of await this.codes.due(before, limit)) await this.codes.transact(code, (cur) => counterChange(cur, dropExpired));
    const stray = await this.campaigns.due(before, limit);
    for (const id of stray) await this.settleCampaign(id, dropExpired);
    return ended.length;
  }

  /** Gives back whatever the hold holds in its codes, campaigns and ledger (each a no-op where it holds nothing). */
  private async giveBack(h: HoldRecord, meta: UsageMeta): Promise<void> {
    for (const code of h.codes) await this.codes.transact(code, (cur) => counterChange(cur, (c) => released(c, h.id)));
    await this.settleCampaigns(h, (c) => released(c, h.id));
    if (h.points > 0)
      await this.ledgerChange(
        h,
        (l) => {
          const next = releasePoints(l, h.id);
          return next && { ledger: next, entries: [], tierChange: null };
        },
        meta,
      );
  }

  private async settleCampaigns(h: HoldRecord, change: (c: CampaignRecord) => CampaignRecord | null): Promise<void> {
    for (const use of h.campaigns) await this.settleCampaign(use.campaignId, change);
  }

  /** Changes a campaign and re-decides whether its budget is used up; tells the listener when that flipped. */
  private async settleCampaign(id: string, change: (c: CampaignRecord) => CampaignRecord | null): Promise<void> {
    let flipped: boolean | null = null;
    await this.campaigns.transact(id, (cur) => {
      const next = cur && change(cur);
      if (!cur || !next) return null;
      const record = bump(settledCampaign(next));
      flipped = record.exhausted !== cur.exhausted ? record.exhausted : null;
      return { record, events: [] };
    });
    if (flipped !== null) await this.onBudgetState(id, flipped);
  }

  private async ledgerChange(h: HoldRecord, change: (l: Ledger) => LedgerResult | null, meta: UsageMeta): Promise<void> {
    await this.ledgers.transact(h.customerId, (cur) => {
      const made = cur && change(cur);
      if (!made) return null;
      const record = bump(made.ledger);
      return { record, events: made.entries.map((e) => loyaltyEntry(record, e, { ...meta.origin, sourceChannel: h.channel })) };
    });
  }

  private async finish(h: HoldRecord, state: HoldState, meta: UsageMeta): Promise<HoldOutcome> {
    const after = await this.finishIf(h.id, null, state, meta);
    return { hold: after ?? h, refusal: null, changed: after !== null };
  }

  /** Moves the hold to `state` (when it is in one of `from`, or any when null), with its event. */
  private async finishIf(id: string, from: readonly HoldState[] | null, state: HoldState, meta: UsageMeta): Promise<HoldRecord | null> {
    let moved = false;
    const after = await this.holds.transact(id, (cur) => {
      if (!cur || (from && !from.includes(cur.state)) || cur.state === state) return null;
      moved = true;
      const record = bump({ ...cur, state });
      return { record, events: [usageChanged(record, meta.commandId, meta.origin)] };
    });
    return moved ? after : null;
  }
}

/** A counter change as a write (null: nothing to do here). */
function counterChange<C extends Counter & { version: number; updatedAt: number }>(
  cur: C | null,
  change: (c: C) => C | null,
): { record: C; events: OutgoingEvent[] } | null {
  const next = cur && change(cur);
  return next ? { record: bump(next), events: [] } : null;
}

/** Refuses a hold id (an Idempotency-Key) used before for another request, or by another caller. */
function sameRequest(h: HoldRecord, hash: string, caller: string): void {
  const same = h.requestHash === hash && h.caller === caller;
  if (same) return;
  const hint = 'use a new Idempotency-Key (hold id) for a new hold';
  throw new UnprocessableError('idempotency_key_reused', `hold ${h.id} was asked for with other content`, hint, { holdId: h.id });
}

const notActive = (h: HoldRecord): ConflictError =>
  new ConflictError(
    'hold_not_active',
    `hold ${h.id} is ${h.state}`,
    h.state === 'held' ? 'commit it first' : h.state === 'committed' ? 'revert it to give its usage back' : 'hold again',
    { holdId: h.id, state: h.state },
  );

/** A refused hold's refusal, rebuilt for a replay of the request. */
function refusalOf(h: HoldRecord): AppError | null {
  if (h.state !== 'refused') return null;
  return new ConflictError(h.reason ?? 'refused', `hold ${h.id} was refused`, h.hint ?? 'change the order', { holdId: h.id });
}
