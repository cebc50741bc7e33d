import type { ChannelChanged } from '@omnimall/contracts';
import type { ChannelStatusDoc, FeedEntryDoc } from '../store/models';

const LIMITED = new Set(['maintenance', 'sunset', 'offboarding', 'retired']);

/** A channel change worth telling business users about: a limitation starting or ending. */
export function feedEntryForChannelChange(
  before: Pick<ChannelStatusDoc, 'state' | 'blockReasons'> | null,
  v: ChannelChanged,
): FeedEntryDoc | null {
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
