import type { Model } from 'mongoose';
import type { EventContext } from '@omnimall/service-kit';
import type { ChannelRule } from '../domain/residency';
import type { ChannelRuleDoc } from './models';

/** The part of a consumer's context a projection write needs: the effect-once update. */
export type ApplyOnce = Pick<EventContext, 'applyOnce'>;

/** identity's projection of each channel's data-residency rule (from channels.channel-changed). */
export interface ChannelRuleRepository {
  get(code: string): Promise<ChannelRule | null>;
  /**
   * Stores a channel's full state at `version` once per event, and only over an older version (or
   * none): an older or replayed event matches nothing and changes nothing. Whether it changed.
   */
  applyChannelChange(once: ApplyOnce, rule: ChannelRule): Promise<boolean>;
}

export function channelRuleRepository(Rule: Model<ChannelRuleDoc>): ChannelRuleRepository {
  return {
    async get(code) {
      return (await Rule.findById(code, { allowedDataRegions: 1, state: 1, version: 1 }).lean()) as ChannelRule | null;
    },
    applyChannelChange(once, { _id, allowedDataRegions, state, version }) {
      return once.applyOnce(Rule, { _id, version: { $lt: version } }, { $set: { allowedDataRegions, state, version } }, { upsert: true });
    },
  };
}
