/** The mapping of a channel's state to its event: channels.channel-changed carries the full state. */
import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Channel } from '../../domain/channel';

export type ChannelChange = 'registered' | 'transitioned' | 'blocked' | 'unblocked' | 'updated';

export interface Cause {
  correlationId?: string;
  sourceChannel?: string | null;
}

export function channelChanged(doc: Channel, change: ChannelChange, cause: Cause = {}): OutgoingEvent<'channels.channel-changed'> {
  return newEvent(
    'channels.channel-changed',
    {
      type: `channel.${change}`,
      producer: 'channels',
      aggregateId: doc._id,
      aggregateVersion: doc.version,
      correlationId: cause.correlationId,
      sourceChannel: cause.sourceChannel ?? null,
    },
    {
      code: doc._id,
      name: doc.name,
      kind: doc.kind,
      state: doc.state,
      previousState: doc.previousState,
      expectedBackAt: doc.expectedBackAt ? doc.expectedBackAt.getTime() : null,
      blockReasons: doc.blockReasons,
      country: doc.country,
      region: doc.region,
      languages: doc.languages,
      currencies: doc.currencies,
      masterChannel: doc.masterChannel,
      allowedDataRegions: doc.allowedDataRegions,
      change,
    },
  );
}

/** Which change label a write gets when it may also have changed the block reasons. */
export function changeLabel(before: readonly string[], after: readonly string[], otherwise: ChannelChange): ChannelChange {
  const added = after.some((r) => !before.includes(r));
  if (added) return 'blocked';
  if (before.length > 0 && after.length === 0) return 'unblocked';
  return otherwise;
}
