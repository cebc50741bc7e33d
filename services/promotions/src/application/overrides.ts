import { randomUUID } from 'node:crypto';
import { channelNotFound } from '@omnimall/service-kit';
import { ForbiddenError, NotFoundError } from '@omnimall/service-kit/errors';
import { checkRequest, judge, overrideOf, roleOf, withOverride, type OverrideDecision, type OverrideRequest } from '../domain/overrides';
import { targetsOf, withOverrides, type PromotionRecord } from '../domain/promotions';
import { decisionEvent } from '../events/out/promotions.override-decision';
import type { EventOrigin } from '../events/out/origin';
import type { PromotionsStore } from '../store';
import type { DefinitionService } from './definitions';

export interface Actor {
  /** `staff:<id>`. */
  id: string;
  roles: readonly string[];
}

/**
 * Channel overrides: a request is judged against the promotion's `overridable` rules for the caller's
 * role, and every decision leaves evidence (an `overrideDecisions` document and a
 * promotions.override-decision event). A refusal's evidence is written through the outbox before the
 * 403 is answered; an accepted or removed override's event goes out with the promotion's own write
 * (with its new definition), and its evidence document right after — and again from the event by the
 * `evidence` consumer, so a crash between the two loses nothing (the document is keyed by decision id).
 */
export class OverrideService {
  constructor(
    private readonly store: Pick<PromotionsStore, 'decisions' | 'channels'>,
    private readonly definitions: DefinitionService,
  ) {}

  /** Refuses a channel promotions never heard of (404 channel_not_found, as in every service). */
  private async knownChannel(code: string): Promise<void> {
    if (!(await this.store.channels.get(code))) throw channelNotFound(code, 'promotions');
  }

  async request(id: string, channel: string, req: OverrideRequest, actor: Actor, origin: EventOrigin): Promise<PromotionRecord> {
    const current = await this.definitions.get(id);
    await this.knownChannel(channel);
    checkRequest(current, channel, req, Date.now());
    const active = await this.definitions.activeChannels();
    const role = roleOf(actor.roles);
    let refused: OverrideDecision | null = null;
    let accepted: OverrideDecision | null = null;
    const record = await this.definitions.write(
      id,
      (cur) => {
        refused = null;
        accepted = null;
        if (!cur) return null;
        const now = Date.now();
        const fields = checkRequest(cur, channel, req, now);
        const before = cur.overrides.find((o) => o.channel === channel) ?? null;
        const base = {
          decisionId: `d-${randomUUID()}`,
          promotionId: id,
          channel,
          fields,
          actor: actor.id,
          before,
          reason: req.reason,
          decidedAt: now,
        };
        const verdict = judge(cur, fields, role);
        if (!verdict.allowed) {
          refused = { ...base, decision: 'refused', after: before, rule: verdict.rule, refusal: 'override_not_allowed' };
          return null;
        }
        const after = overrideOf(cur, channel, req, actor.id, base.decisionId, now);
        accepted = { ...base, decision: 'accepted', after, rule: verdict.rule, refusal: null };
        return withOverrides(cur, withOverride(cur, channel, after), targetsOf(cur, active), actor.id, now);
      },
      origin,
      (r) => (accepted ? [decisionEvent(accepted, r.version, origin)] : []),
    );
    const decided = accepted as OverrideDecision | null;
    const refusal = refused as OverrideDecision | null;
    if (refusal) {
      await this.store.decisions.record(refusal, [decisionEvent(refusal, current.version, origin)]);
      throw new ForbiddenError(
        'override_not_allowed',
        `promotion ${id} does not let a ${role} override ${refusal.fields.join(', ')} (${refusal.rule})`,
        'ask an admin to override it, or to declare the field overridable by your role',
        { rule: refusal.rule, fields: refusal.fields, decisionId: refusal.decisionId },
      );
    }
    if (!record) throw new NotFoundError('promotion_not_found', `no promotion ${id}`, 'list the promotions with GET /promotions');
    if (decided) await this.store.decisions.save(decided);
    return record;
  }

  async remove(id: string, channel: string, reason: string, actor: Actor, origin: EventOrigin): Promise<PromotionRecord> {
    await this.definitions.get(id);
    await this.knownChannel(channel);
    const active = await this.definitions.activeChannels();
    let removed: OverrideDecision | null = null;
    const record = await this.definitions.write(
      id,
      (cur) => {
        removed = null;
        const before = cur?.overrides.find((o) => o.channel === channel);
        if (!cur || !before) return null;
        const now = Date.now();
        removed = {
          decisionId: `d-${randomUUID()}`,
          promotionId: id,
          channel,
          decision: 'removed',
          fields: [],
          actor: actor.id,
          before,
          after: null,
          rule: `removal by ${roleOf(actor.roles)} in scope of ${channel}`,
          reason,
          refusal: null,
          decidedAt: now,
        };
        return withOverrides(cur, withOverride(cur, channel, null), targetsOf(cur, active), actor.id, now);
      },
      origin,
      (r) => (removed ? [decisionEvent(removed, r.version, origin)] : []),
    );
    const decided = removed as OverrideDecision | null;
    if (!record || !decided)
      throw new NotFoundError('override_not_found', `channel ${channel} has no override of promotion ${id}`, 'nothing to remove');
    await this.store.decisions.save(decided);
    return record;
  }

  byPromotion(id: string): Promise<OverrideDecision[]> {
    return this.store.decisions.byPromotion(id, 500);
  }

  async byChannel(channel: string): Promise<OverrideDecision[]> {
    await this.knownChannel(channel);
    return this.store.decisions.byChannel(channel, 500);
  }
}
