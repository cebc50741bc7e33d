/**
 * Validation of records partner systems produce (partner.order-status). Returns the reasons a record
 * is refused; an empty list means it may be mapped to global ids.
 *
 * Size limits come first (partnerRecordTooLarge): a partner's record is bounded as a whole
 * (PARTNER_RECORD_MAX_BYTES) and in every string that is copied into derived events, Kafka headers,
 * logs or dead-letter reasons (PARTNER_FIELD_MAX_CHARS), so no partner record can grow what channels
 * publishes beyond what the broker takes — one oversized record once stopped a service's publishing.
 * The correlation id is bounded as the kit bounds it (128 characters, see the kit's envelope.ts).
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

/** The largest partner record accepted, in encoded bytes (records are a few hundred bytes). */
export const PARTNER_RECORD_MAX_BYTES = 64 * 1024;

/** The longest each string of a partner record may be, in characters. */
export const PARTNER_FIELD_MAX_CHARS = {
  'envelope.eventId': 64,
  'envelope.type': 64,
  'envelope.producer': 64,
  'envelope.sourceChannel': 64,
  'envelope.correlationId': 128,
  'envelope.aggregateId': 128,
  partnerChannel: 64,
  partnerOrderId: 128,
  partnerCustomerId: 128,
  status: 32,
  currency: 8,
} as const;

type PartnerField = keyof typeof PARTNER_FIELD_MAX_CHARS;

function fieldValue(rec: TopicValues['partner.order-status'], field: PartnerField): string | null {
  if (field.startsWith('envelope.')) {
    const v = rec.envelope[field.slice('envelope.'.length) as keyof typeof rec.envelope];
    return typeof v === 'string' ? v : null;
  }
  return rec[field as Exclude<PartnerField, `envelope.${string}`>];
}

/**
 * The `too_large` problems of a record, each naming the field (or `record` for the whole) with its
 * size and limit; empty when every bound holds. `recordBytes` is the encoded size when known.
 */
export function partnerRecordTooLarge(rec: TopicValues['partner.order-status'], recordBytes?: number): string[] {
  const problems: string[] = [];
  if (recordBytes !== undefined && recordBytes > PARTNER_RECORD_MAX_BYTES)
    problems.push(`too_large: record is ${recordBytes} bytes (at most ${PARTNER_RECORD_MAX_BYTES})`);
  for (const [field, max] of Object.entries(PARTNER_FIELD_MAX_CHARS) as [PartnerField, number][]) {
    const value = fieldValue(rec, field);
    if (value !== null && value.length > max) problems.push(`too_large: ${field} is ${value.length} characters (at most ${max})`);
  }
  return problems;
}

/** A partner-supplied string cut to `max` characters for a log line or a header (marked when cut). */
export function clipped(value: string, max = 64): string {
  return value.length <= max ? value : `${value.slice(0, max)}…(${value.length} chars)`;
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
