import type { ChannelChanged } from '@omnimall/contracts';
import { isNotReady } from './promotion-readiness';
import type { Tracking } from './propagation';

/** The latest known state of one channel (from channels.channel-changed, newest aggregateVersion). */
export interface ChannelStatus {
  _id: string; // channel code
  name: string;
  kind: string;
  state: string;
  previousState: string | null;
  blockReasons: string[];
  expectedBackAt: number | null;
  version: number;
  updatedAt: number;
}

/** An entry of a channel's status feed for business users; _id makes each entry written once. */
export interface FeedEntry {
  _id: string;
  channel: string;
  at: number;
  kind: 'delay' | 'recovery' | 'limitation';
  title: string;
  message: string;
  eventId: string | null;
  escalationId: string | null;
}

/** The channel status a channels.channel-changed event states. */
export function channelStatusOf(v: ChannelChanged): ChannelStatus {
  return {
    _id: v.code,
    name: v.name,
    kind: v.kind,
    state: v.state,
    previousState: v.previousState ?? null,
    blockReasons: [...v.blockReasons],
    expectedBackAt: v.expectedBackAt === null ? null : Number(v.expectedBackAt),
    version: Number(v.envelope.aggregateVersion),
    updatedAt: Number(v.envelope.occurredAt),
  };
}

const LIMITED = new Set(['maintenance', 'sunset', 'offboarding', 'retired']);

/** A channel change worth telling business users about: a limitation starting or ending. */
export function feedEntryForChannelChange(
  before: Pick<ChannelStatus, 'state' | 'blockReasons'> | null,
  v: ChannelChanged,
): FeedEntry | null {
  const wasLimited = !!before && (LIMITED.has(before.state) || before.blockReasons.length > 0);
  const isLimited = LIMITED.has(v.state) || v.blockReasons.length > 0;
  const stateChanged = !before || before.state !== v.state;
  const blocksChanged = !before || before.blockReasons.join(',') !== [...v.blockReasons].join(',');
  if (!stateChanged && !blocksChanged) return null;
  if (!isLimited && !wasLimited) return null;
  const base = {
    _id: `channel:${v.code}:${v.envelope.aggregateVersion}`,
    channel: v.code,
    at: Number(v.envelope.occurredAt),
    eventId: v.envelope.eventId,
    escalationId: null,
  };
  if (isLimited) {
    const reasons = [...v.blockReasons];
    const back = v.expectedBackAt ? ` Expected back at ${new Date(Number(v.expectedBackAt)).toISOString()}.` : '';
    return {
      ...base,
      kind: 'limitation',
      title: LIMITED.has(v.state) ? `Channel ${v.state}` : 'Commerce blocked',
      message: `${v.name} is ${v.state}${reasons.length ? `; blocked: ${reasons.join(', ')}` : ''}.${back}`,
    };
  }
  return { ...base, kind: 'recovery', title: 'Channel back to normal', message: `${v.name} is ${v.state} again and trading normally.` };
}

/**
 * The feed entries an escalation's change causes, one per affected channel: a `delay` when it
 * opens, a `recovery` when it is resolved or reconciled; none when its status did not change.
 */
export function feedEntriesForEscalation(prev: Tracking | null, next: Tracking | null, now: number): FeedEntry[] {
  const before = prev?.escalation?.status;
  const after = next?.escalation?.status;
  if (!next?.escalation || before === after) return [];
  const esc = next.escalation;
  return esc.channels.map((channel) =>
    after === 'opened'
      ? {
          _id: `${esc.escalationId}:opened:${channel}`,
          channel,
          at: esc.at,
          kind: 'delay' as const,
          title: `Delayed: ${next.type}`,
          message: isNotReady(esc)
            ? `Promotion ${next.aggregateId} started before this channel was ready to price it.`
            : `Changes of type ${next.type} are delayed on this channel (${esc.laggingServices.join(', ')} lagging: ${esc.rootCause}).`,
          eventId: next._id,
          escalationId: esc.escalationId,
        }
      : {
          _id: `${esc.escalationId}:${after}:${channel}`,
          channel,
          at: now,
          kind: 'recovery' as const,
          title: `Recovered: ${next.type}`,
          message:
            after === 'reconciled'
              ? `The delayed ${next.type} change was reconciled by an administrator.`
              : `The delayed ${next.type} change has now reached every channel.`,
          eventId: next._id,
          escalationId: esc.escalationId,
        },
  );
}
