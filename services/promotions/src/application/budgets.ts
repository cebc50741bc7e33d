import type { CampaignRepository } from '../store/campaigns';
import type { PromotionRepository } from '../store/promotions';
import type { DefinitionService } from './definitions';

export interface ReconcileOptions {
  /** How far back each look reaches past the previous one (clock skew between instances, writes in flight). */
  slackMs: number;
  /** The most campaigns, and promotions, read by one pass (the first pass after a start pages through all). */
  limit: number;
}

/**
 * The budget reconciler (worker `budget-reconcile`): makes the promotions' `exhausted` flag follow
 * their campaign's, whatever was lost between a campaign's write and the budget callback (a crash, a
 * failed republish) or raced it (two flips heard out of order), and catches a promotion that named an
 * already exhausted campaign. Each pass looks only at the campaigns written, and the campaigns named by
 * promotions written, since the previous look (less `slackMs`); the first pass after a start looks at
 * all of them, `limit` at a time. Cost of a pass: two range reads on `updatedAt` (ids and flags only),
 * one read of the campaigns' states and one of their promotions' flags (by `definition.campaignId`),
 * and a republish only where a flag differs. Idempotent, and safe on any number of instances: the
 * republish is DefinitionService.setExhausted, a compare-and-set through the outbox that does nothing
 * where the flag is already right.
 */
export class BudgetReconciler {
  /** Where the next look starts (0: everything). Each instance keeps its own. */
  private since = 0;

  constructor(
    private readonly campaigns: Pick<CampaignRepository, 'changedSince' | 'states'>,
    private readonly promotions: Pick<PromotionRepository, 'campaignsChangedSince' | 'budgetFlags'>,
    private readonly definitions: Pick<DefinitionService, 'setExhausted'>,
    private readonly opts: ReconcileOptions,
  ) {}

  /** One pass; returns the campaigns whose promotions were republished. */
  async tick(now: number): Promise<number> {
    const from = this.since;
    const [changed, named] = await Promise.all([
      this.campaigns.changedSince(from, this.opts.limit),
      this.promotions.campaignsChangedSince(from, this.opts.limit),
    ]);
    const ids = [...new Set([...changed.map((c) => c.id), ...named.map((p) => p.campaignId)])];
    const [states, flags] = await Promise.all([this.campaigns.states(ids), this.promotions.budgetFlags(ids)]);
    const stale = states.filter((c) => flags.some((p) => p.campaignId === c.id && p.exhausted !== c.exhausted));
    for (const c of stale) await this.definitions.setExhausted(c.id, c.exhausted);
    this.since = this.next(from, now, [changed, named]);
    return stale.length;
  }

  /** A full page continues from its last write (a page of one instant moves past it); otherwise from now, less the slack. */
  private next(from: number, now: number, pages: readonly (readonly { updatedAt: number }[])[]): number {
    const full = pages.filter((p) => p.length >= this.opts.limit).map((p) => p[p.length - 1]!.updatedAt);
    if (!full.length) return Math.max(from, now - this.opts.slackMs);
    const at = Math.min(...full);
    return at > from ? at : from + 1;
  }
}
