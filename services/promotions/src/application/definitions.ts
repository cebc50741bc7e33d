import { randomUUID } from 'node:crypto';
import type { OutgoingEvent } from '@omnimall/service-kit';
import { NotFoundError } from '@omnimall/service-kit/errors';
import type { OverrideDecision } from '../domain/overrides';
import {
  advance,
  applyReadiness,
  editPromotion,
  markExhausted,
  newPromotion,
  schedulePromotion,
  targetsOf,
  withdrawPromotion,
  type Effects,
  type PromotionInput,
  type PromotionRecord,
  type Status,
} from '../domain/promotions';
import { decisionEvent } from '../events/out/promotions.override-decision';
import { definitionEvent } from '../events/out/promotions.definition';
import { lifecycleEvent } from '../events/out/promotions.promotion-lifecycle';
import type { EventOrigin } from '../events/out/origin';
import type { PromotionsStore } from '../store';
import { TRADING_STATES } from '../store/channels';
import type { PublishedCache } from './cache';

export interface Timing {
  leadMs: number;
}

/** A request's edit options: If-Match version, and whether a start closer than the lead is accepted. */
export interface EditRequest {
  expectedVersion: number;
  startNow: boolean;
}

/**
 * The promotion aggregate's use cases: definitions written with the events they cause (the definition
 * for the channels, the lifecycle phases, override decisions that lapsed), readiness from cart, the
 * lifecycle worker's pass, and a campaign's budget state (B's callback).
 */
export class DefinitionService {
  constructor(
    private readonly store: Pick<PromotionsStore, 'promotions' | 'decisions' | 'channels'>,
    private readonly cache: Pick<PublishedCache, 'put'>,
    private readonly timing: Timing,
  ) {}

  async get(id: string): Promise<PromotionRecord> {
    const r = await this.store.promotions.get(id);
    if (!r) throw new NotFoundError('promotion_not_found', `no promotion ${id}`, 'list the promotions with GET /promotions');
    return r;
  }

  list(filter: { status?: Status; channel?: string }, limit = 200): Promise<PromotionRecord[]> {
    return this.store.promotions.list(filter, limit);
  }

  /** Every channel known to trade: the targets of a promotion that names none. */
  async activeChannels(): Promise<string[]> {
    return (await this.store.channels.all()).filter((c) => TRADING_STATES.includes(c.state)).map((c) => c.code);
  }

  async create(input: PromotionInput, actor: string, origin: EventOrigin): Promise<PromotionRecord> {
    const id = `promo-${randomUUID()}`;
    const record = newPromotion(id, input, actor, Date.now());
    return this.must(
      id,
      this.write(id, (cur) => (cur ? null : { record, effects: { definition: false, phases: [], expired: [], notReady: [] } }), origin),
    );
  }

  async update(id: string, input: PromotionInput, req: EditRequest, actor: string, origin: EventOrigin): Promise<PromotionRecord> {
    const targets = await this.targets(input.channels);
    return this.must(
      id,
      this.write(id, (cur) => editPromotion(this.found(id, cur), input, targets, actor, Date.now(), { ...req, ...this.timing }), origin),
    );
  }

  async schedule(id: string, startNow: boolean, actor: string, origin: EventOrigin): Promise<PromotionRecord> {
    const current = await this.get(id);
    const targets = await this.targets(current.definition.channels);
    return this.must(
      id,
      this.write(id, (cur) => schedulePromotion(this.found(id, cur), targets, actor, Date.now(), { ...this.timing, startNow }), origin),
    );
  }

  async withdraw(id: string, actor: string, origin: EventOrigin): Promise<PromotionRecord> {
    return this.must(
      id,
      this.write(id, (cur) => withdrawPromotion(this.found(id, cur), actor, Date.now()), origin),
    );
  }

  /** B's budget callback: the campaign's promotions republished with `exhausted`. */
  async setExhausted(campaignId: string, exhausted: boolean): Promise<void> {
    const active = await this.activeChannels();
    for (const id of await this.store.promotions.ofCampaign(campaignId))
      await this.write(id, (cur) => (cur ? markExhausted(cur, exhausted, targetsOf(cur, active), Date.now()) : null), {});
  }

  /** cart.promotion-readiness: per-channel acknowledgement of one version (older versions are ignored). */
  async readiness(
    promotionId: string,
    version: number,
    reports: readonly { channel: string; state: 'acknowledged' | 'error'; reason: string | null }[],
  ): Promise<void> {
    await this.write(
      promotionId,
      (cur) => {
        const record = cur && applyReadiness(cur, version, reports, Date.now());
        return record ? { record, effects: { definition: false, phases: [], expired: [], notReady: [] } } : null;
      },
      {},
    );
  }

  /** The lifecycle worker's pass: every promotion with something due by `now` advanced (starts, ends, lapsed overrides). */
  async tick(now: number): Promise<number> {
    const ids = await this.store.promotions.due(now, 100);
    if (!ids.length) return 0;
    const active = await this.activeChannels();
    for (const id of ids)
      await this.write(id, (cur) => (cur ? advance(cur, targetsOf(cur, active), Date.now(), () => `d-${randomUUID()}`) : null), {
        correlationId: `lifecycle-${id}`,
      });
    return ids.length;
  }

  /** The targets a definition will have: its channels, or every trading channel. */
  private async targets(channels: string[] | null): Promise<string[]> {
    return channels ?? (await this.activeChannels());
  }

  private async must(id: string, written: Promise<PromotionRecord | null>): Promise<PromotionRecord> {
    return this.found(id, await written);
  }

  private found(id: string, cur: PromotionRecord | null): PromotionRecord {
    if (!cur) throw new NotFoundError('promotion_not_found', `no promotion ${id}`, 'list the promotions with GET /promotions');
    return cur;
  }

  /**
   * One compare-and-set write of the promotion with the events its effects name; the evidence of
   * overrides that lapsed is saved after the write that announced them.
   */
  async write(
    id: string,
    decide: (cur: PromotionRecord | null) => { record: PromotionRecord; effects: Effects } | null,
    origin: EventOrigin,
    extra: (record: PromotionRecord) => OutgoingEvent[] = () => [],
  ): Promise<PromotionRecord | null> {
    let expired: OverrideDecision[] = [];
    const written = await this.store.promotions.transact(id, (cur) => {
      const change = decide(cur);
      if (!change) return null;
      const { record, effects } = change;
      expired = effects.expired.map((e) => ({
        decisionId: e.decisionId,
        promotionId: id,
        channel: e.channel,
        decision: 'expired' as const,
        fields: [],
        actor: 'system:override-expiry',
        before: e.before,
        after: null,
        rule: `until=${e.before.until}`,
        reason: null,
        refusal: null,
        decidedAt: record.updatedAt,
      }));
      const targets = record.readiness.map((x) => x.channel);
      const channels = record.definition.channels ?? targets;
      const events: OutgoingEvent[] = [
        ...(effects.definition ? [definitionEvent(record, origin)] : []),
        ...effects.phases.map((phase) => lifecycleEvent(record, phase, channels, effects.notReady, origin)),
        ...expired.map((d) => decisionEvent(d, record.version, origin)),
        ...extra(record),
      ];
      return { record, events };
    });
    if (!written) return null;
    for (const d of expired) await this.store.decisions.save(d);
    this.cache.put(written);
    return written;
  }
}
