import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '@omnimall/service-kit/errors';
import { checkBudget, checkKey, newCounter, remaining, type Budget, type CampaignRecord } from '../domain/usage';
import type { CampaignRepository } from '../store/campaigns';

/** What a campaign shows: its budget, what is used, held and left. */
export const campaignView = (c: CampaignRecord) => ({
  id: c.id,
  name: c.name,
  budget: c.budget,
  used: c.used,
  held: c.held,
  remaining: remaining(c),
  exhausted: c.exhausted,
  createdBy: c.createdBy,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

/** Campaigns: a budget (a count of uses or an amount of discount) that promotions naming the campaign draw on. */
export class CampaignService {
  constructor(private readonly campaigns: CampaignRepository) {}

  async get(id: string): Promise<CampaignRecord> {
    const c = await this.campaigns.get(id);
    if (!c) throw new NotFoundError('campaign_not_found', `no campaign ${id}`, 'create it with POST /campaigns, or check the id');
    return c;
  }

  /** Creates a campaign (a retry with the same name and budget returns it; other content under its id is 409 campaign_exists). */
  async create(req: { id?: string; name: string; budget: Budget; actor: string }): Promise<{ campaign: CampaignRecord; created: boolean }> {
    const budget = checkBudget(req.budget);
    const id = checkKey('campaign_id', req.id ?? `cmp-${randomUUID()}`);
    let created = false;
    const after = await this.campaigns.transact(
      id,
      (cur) => {
        created = !cur;
        if (cur) return null;
        const record: CampaignRecord = { ...newCounter(req.actor, Date.now()), id, name: req.name, budget, held: 0, exhausted: false };
        return { record, events: [] };
      },
      true,
    );
    if (!created && (after!.name !== req.name || JSON.stringify(after!.budget) !== JSON.stringify(budget)))
      throw new ConflictError('campaign_exists', `campaign ${id} exists with another name or budget`, 'choose another id', { id });
    return { campaign: after!, created };
  }
}
