import type { ChannelView } from './trading';

/**
 * What cart answers about each channel a promotion targets on cart.promotion-readiness. Pure. (How a
 * definition is parsed and which version wins: @omnimall/pricing's definition.ts, shared with orders.)
 */
export { parseDefinition, supersedes, type DefinitionInput, type Parsed, type StoredPromotion } from '@omnimall/pricing';

export type ReadinessReason = 'channel_unknown' | 'channel_retired' | 'rule_invalid';

export interface ChannelReadinessView {
  channel: string;
  state: 'acknowledged' | 'error';
  reason: ReadinessReason | null;
}

/** Channel states in which cart prices nothing for the channel any more. */
const GONE_STATES = new Set(['retired']);

/**
 * Whether each targeted channel can price the promotion: acknowledged when cart knows the channel and
 * it is not retired, else an error with the reason. `targeted` null: every channel cart knows that is
 * not retired (`known` holds them all). An invalid rule is an error on every targeted channel.
 */
export function readinessOf(
  targeted: readonly string[] | null,
  known: ReadonlyMap<string, ChannelView | null>,
  valid: boolean,
): ChannelReadinessView[] {
  const codes = targeted ?? [...known].filter(([, ch]) => ch && !GONE_STATES.has(ch.state)).map(([code]) => code);
  return [...new Set(codes)].sort().map((channel): ChannelReadinessView => {
    const ch = known.get(channel) ?? null;
    if (!valid) return { channel, state: 'error', reason: 'rule_invalid' };
    if (!ch) return { channel, state: 'error', reason: 'channel_unknown' };
    if (GONE_STATES.has(ch.state)) return { channel, state: 'error', reason: 'channel_retired' };
    return { channel, state: 'acknowledged', reason: null };
  });
}
