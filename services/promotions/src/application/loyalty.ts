import { AppError, UnprocessableError } from '@omnimall/service-kit/errors';
import { idempotentId, type Logger } from '@omnimall/service-kit';
import {
  adjust,
  checkTierPolicy,
  earn,
  emptyLedger,
  expireLots,
  pointsFor,
  qualifyingPoints,
  releaseExpiredHolds,
  reverseEarn,
  review,
  type EarnRules,
  type Ledger,
  type LedgerResult,
  type TierPolicy,
} from '../domain/loyalty';
import { checkKey } from '../domain/usage';
import { loyaltyEntry } from '../events/out/promotions.loyalty-entry';
import { tierChanged } from '../events/out/promotions.tier-changed';
import type { EventOrigin } from '../events/out/origin';
import type { LedgerRepository, LoyaltyConfigRepository } from '../store/ledgers';
import type { HoldService, UsageMeta } from './usage';

/** What the ledger of a customer shows (points owned, held, available, tier, entries newest last). */
export const ledgerView = (l: Ledger, policy: TierPolicy | null, now = Date.now()) => ({
  customerId: l.customerId,
  balance: l.balance,
  held: l.held,
  available: l.balance - l.held,
  tier: l.tier,
  qualifyingPoints: policy ? qualifyingPoints(l, policy, now) : null,
  tierReviewAt: l.tierReviewAt,
  lots: l.lots,
  entries: l.entries.map(({ lots: _lots, ...e }) => e),
});

/** An order status as loyalty reads it (from orders.order-status). */
export interface OrderStatus {
  orderId: string;
  customerId: string;
  channel: string;
  status: 'placed' | 'paid' | 'shipped' | 'delivered' | 'cancelled' | 'returned';
  occurredAt: number;
  totalMinor: number | null;
  promotionIds: readonly string[];
  usageHoldId: string | null;
}

const DAY_MS = 86_400_000;

/**
 * The loyalty ledger: points earned once per order when it is paid (by the earn rules), taken back
 * when it is cancelled or returned (with the order's usage hold reverted), adjusted by staff, burnt
 * by usage holds (HoldService), expired lot by lot, and the tier: upgraded at once on earning,
 * reviewed for a downgrade at the end of each customer's period. Every entry is a
 * promotions.loyalty-entry event, every tier change a promotions.tier-changed event, written with
 * the ledger.
 */
export class LoyaltyService {
  constructor(
    private readonly ledgers: LedgerRepository,
    private readonly config: LoyaltyConfigRepository,
    private readonly holds: HoldService,
    private readonly opts: { pointsTtlDays: number; holdGraceMs: number },
    private readonly logger: Logger,
  ) {}

  private get ttlMs(): number {
    return this.opts.pointsTtlDays * DAY_MS;
  }

  async ledger(customerId: string): Promise<ReturnType<typeof ledgerView>> {
    const policy = await this.config.tierPolicy();
    return ledgerView((await this.ledgers.get(customerId)) ?? emptyLedger(customerId, policy), policy);
  }

  earnRules(): Promise<EarnRules | null> {
    return this.config.earnRules();
  }

  tierPolicy(): Promise<TierPolicy | null> {
    return this.config.tierPolicy();
  }

  putEarnRules(rules: EarnRules, by: string): Promise<void> {
    return this.config.putEarnRules(rules, by);
  }

  putTierPolicy(policy: TierPolicy, by: string): Promise<void> {
    return this.config.putTierPolicy(checkTierPolicy(policy), by);
  }

  /**
   * An order's status: `paid` earns (once per order, the order id kept in the ledger); `cancelled` and
   * `returned` take the earn back and give the order's usage hold back (released if still held,
   * reverted if committed). Other statuses change nothing.
   */
  async orderStatus(o: OrderStatus, origin: EventOrigin): Promise<void> {
    if (o.status === 'paid') {
      const [rules, policy] = await Promise.all([this.config.earnRules(), this.config.tierPolicy()]);
      const points = rules && o.totalMinor !== null ? pointsFor(rules, o.totalMinor, o.channel, o.promotionIds) : 0;
      await this.write(
        o.customerId,
        policy,
        (l) => earn(l, { orderId: o.orderId, points, channel: o.channel, at: o.occurredAt }, this.ttlMs, policy),
        origin,
      );
      return;
    }
    if (o.status !== 'cancelled' && o.status !== 'returned') return;
    // the hold first: points it burnt are back before the earn is taken back from what is available
    if (o.usageHoldId) await this.giveBackHold(o.usageHoldId, origin);
    const policy = await this.config.tierPolicy();
    await this.write(o.customerId, policy, (l) => reverseEarn(l, o.orderId, o.channel, Date.now()), origin);
  }

  private async giveBackHold(holdId: string, origin: EventOrigin): Promise<void> {
    const meta: UsageMeta = { caller: 'system:orders', commandId: null, origin };
    try {
      const h = await this.holds.get(holdId);
      if (h.state === 'held') await this.holds.release(holdId, meta);
      else if (h.state === 'committed') await this.holds.revert(holdId, meta);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      this.logger.warn('order’s usage hold not given back', { holdId, code: err.code });
    }
  }

  /** A staff adjustment, once per Idempotency-Key (the same key with other points or reason: 422). */
  async adjust(customerId: string, a: { key: string; points: number; reason: string; actor: string }, origin: EventOrigin) {
    checkKey('customer_id', customerId);
    const entryId = idempotentId('adjust:', a.actor, a.key);
    const policy = await this.config.tierPolicy();
    const after = await this.write(
      customerId,
      policy,
      (l) => {
        const seen = l.entries.find((e) => e.id === entryId);
        if (seen && (seen.points !== a.points || seen.reason !== a.reason))
          throw new UnprocessableError(
            'idempotency_key_reused',
            'this Idempotency-Key was used for another adjustment',
            'use a new key for a new adjustment',
          );
        return adjust(l, { entryId, points: a.points, source: a.actor, reason: a.reason, at: Date.now() }, this.ttlMs);
      },
      origin,
    );
    return { ledger: ledgerView(after, policy), entry: after.entries.find((e) => e.id === entryId)! };
  }

  /**
   * One pass of the loyalty worker over the ledgers with something due by `now`: point holds past their
   * expiry (and the grace) given back, lots past their date expired, tiers at the end of their period reviewed.
   */
  async tick(now: number, limit = 100): Promise<number> {
    const policy = await this.config.tierPolicy();
    const ids = await this.ledgers.due(now, limit);
    for (const id of ids)
      await this.write(
        id,
        policy,
        (l) => {
          const cur = releaseExpiredHolds(l, now - this.opts.holdGraceMs);
          const expired = expireLots(cur, now);
          const reviewed = policy ? review(expired?.ledger ?? cur, policy, now) : null;
          const ledger = reviewed?.ledger ?? expired?.ledger ?? cur;
          if (ledger === l) return null;
          return { ledger, entries: expired?.entries ?? [], tierChange: reviewed?.tierChange ?? null };
        },
        {},
      );
    return ids.length;
  }

  /** Read-decide-write of one ledger (a new one when the customer has none), with its entries' and tier change's events. */
  private async write(
    customerId: string,
    policy: TierPolicy | null,
    change: (l: Ledger) => LedgerResult | null,
    origin: EventOrigin,
  ): Promise<Ledger> {
    const after = await this.ledgers.transact(customerId, (cur) => {
      const base = cur ?? emptyLedger(customerId, policy);
      const made = change(base);
      if (!made) return null;
      const record: Ledger = { ...made.ledger, version: base.version + 1, updatedAt: Date.now() };
      const events = [
        ...made.entries.map((e) => loyaltyEntry(record, e, origin)),
        ...(made.tierChange ? [tierChanged(record, made.tierChange, origin)] : []),
      ];
      return { record, events };
    });
    return after ?? emptyLedger(customerId, policy);
  }
}
