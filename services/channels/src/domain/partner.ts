/**
 * Validation of records partner systems produce (partner.order-status). Returns the reasons a record
 * is refused; an empty list means it may be mapped to global ids.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { ChannelState } from './lifecycle';
import { PARTNER_KINDS, type ChannelKind } from './registry';

export const PARTNER_ORDER_STATUSES = ['created', 'paid', 'shipped', 'delivered', 'cancelled', 'returned'] as const;

/** A partner order in global ids, at its latest status. */
export interface PartnerOrder {
  _id: string; // the global order id
  channel: string;
  partnerOrderId: string;
  customerId: string;
  status: string;
  currency: string;
  totalMinor: number;
  statusAt: Date;
  version: number;
  /** The last partner records applied (a replay is recognised by its eventId). */
  sourceEventIds: string[];
}

export interface PartnerChannelView {
  kind: ChannelKind;
  state: ChannelState;
  currencies: readonly string[];
}

export function partnerOrderProblems(
  rec: TopicValues['partner.order-status'],
  channel: PartnerChannelView | null,
  now = Date.now(),
): string[] {
  const problems: string[] = [];
  if (!channel) return [`unknown_channel: ${rec.partnerChannel} is not a registered channel`];
  if (!PARTNER_KINDS.includes(channel.kind)) problems.push(`not_a_partner_channel: ${rec.partnerChannel} is a ${channel.kind} channel`);
  if (channel.state === 'retired' || channel.state === 'draft')
    problems.push(`channel_not_operating: ${rec.partnerChannel} is ${channel.state}`);
  if (!rec.partnerOrderId.trim()) problems.push('missing_partner_order_id');
  if (!rec.partnerCustomerId.trim()) problems.push('missing_partner_customer_id');
  if (!(PARTNER_ORDER_STATUSES as readonly string[]).includes(rec.status))
    problems.push(`invalid_status: ${rec.status} (expected ${PARTNER_ORDER_STATUSES.join(', ')})`);
  if (!channel.currencies.includes(rec.currency))
    problems.push(`invalid_currency: ${rec.currency} is not a currency of ${rec.partnerChannel}`);
  if (rec.totalMinor < 0) problems.push('invalid_total: totalMinor is negative');
  if (rec.statusAt > now + 5 * 60_000) problems.push('invalid_status_at: in the future');
  return problems;
}
