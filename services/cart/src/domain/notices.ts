import type { CartRecord } from './cart';

/**
 * Who hears that a promotion started: the customers whose cart or wishlist holds an SKU its condition
 * names (any cart changed lately when it names none) and who gave marketing consent on a channel the
 * promotion applies to, each told on one such channel. Pure: the carts and consents are found by the
 * store, the notice written once per promotion version.
 */

export interface NoticeRecipient {
  customerId: string;
  /** The channel to tell the customer on: the first of its candidate channels with marketing consent. */
  channel: string;
  /** The cart's SKUs the promotion names (every line's when it names none). */
  skus: string[];
}

/** The notice id: one notice per promotion version. */
export const noticeId = (promotionId: string, version: number): string => `${promotionId}:${version}`;

/** Customers one cart.promotion-notice record names at most, so a record stays small. */
export const NOTICE_BATCH = 500;

/** The recipients in batches of at most `size` (none: no batch), in order. */
export function batchesOf<T>(recipients: readonly T[], size = NOTICE_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < recipients.length; i += size) out.push(recipients.slice(i, i + size));
  return out;
}

/** A customer the promotion concerns, before consent: the channels it could be told on, best first. */
export interface NoticeCandidate {
  customerId: string;
  /** A matching line's channel, then the cart's other lines' (latest first), each one the promotion applies to; else the promotion's first. */
  channels: string[];
  skus: string[];
}

/**
 * The candidates among `carts` of a promotion naming `skus` (empty: any) on `channels` (the channels
 * it applies to; empty: any). A cart with nothing it names, or no channel it applies to, is left out.
 */
export function candidatesOf(carts: readonly CartRecord[], skus: readonly string[], channels: readonly string[]): NoticeCandidate[] {
  const named = new Set(skus);
  const applies = (ch: string) => channels.length === 0 || channels.includes(ch);
  const out: NoticeCandidate[] = [];
  for (const cart of carts) {
    if (!cart.customerId) continue;
    const lines = cart.lines.filter((l) => named.size === 0 || named.has(l.sku));
    const wished = cart.wishlist.filter((s) => named.size > 0 && named.has(s));
    const matched = [...new Set([...lines.map((l) => l.sku), ...wished])];
    if (!matched.length) continue;
    const latest = [...cart.lines].sort((a, b) => b.addedAt - a.addedAt);
    const sessions = [...new Set([...lines, ...latest].map((l) => l.channel).filter(applies))];
    const options = sessions.length ? sessions : channels.slice(0, 1);
    if (!options.length) continue;
    out.push({ customerId: cart.customerId, channels: options, skus: matched.sort() });
  }
  return out;
}

/** Whether a customer gave marketing consent on a channel (the consent projection; unknown: no). */
export type MarketingConsented = (customerId: string, channel: string) => boolean;

/** Who a notice names, and how many it left out for want of marketing consent (kept for support). */
export interface NoticeAudience {
  recipients: NoticeRecipient[];
  withoutConsent: number;
}

/**
 * A promotion notice is marketing: each candidate is told on the first of its channels where it gave
 * marketing consent (so a customer who consented on another channel it shops on is told there), and
 * left out when it consented on none of them (no consent known is no consent: opt-in).
 */
export function audienceOf(candidates: readonly NoticeCandidate[], consented: MarketingConsented): NoticeAudience {
  const recipients: NoticeRecipient[] = [];
  let withoutConsent = 0;
  for (const c of candidates) {
    const channel = c.channels.find((ch) => consented(c.customerId, ch));
    if (channel) recipients.push({ customerId: c.customerId, channel, skus: c.skus });
    else withoutConsent++;
  }
  return { recipients, withoutConsent };
}
