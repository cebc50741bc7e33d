import type { CartRecord } from './cart';

/**
 * Who hears that a promotion started: the customers whose cart or wishlist holds an SKU its condition
 * names (any cart changed lately when it names none), each on one channel the promotion applies to.
 * Pure: the carts are found by the store, the notice written once per promotion version.
 */

export interface NoticeRecipient {
  customerId: string;
  /** The channel to tell the customer on: a matching line's, else the cart's latest line's, else the promotion's first. */
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

/**
 * The recipients among `carts` of a promotion naming `skus` (empty: any) on `channels` (the channels
 * it applies to; empty: any). A cart with nothing it names, or no channel it applies to, is left out.
 */
export function recipientsOf(carts: readonly CartRecord[], skus: readonly string[], channels: readonly string[]): NoticeRecipient[] {
  const named = new Set(skus);
  const applies = (ch: string) => channels.length === 0 || channels.includes(ch);
  const out: NoticeRecipient[] = [];
  for (const cart of carts) {
    if (!cart.customerId) continue;
    const lines = cart.lines.filter((l) => named.size === 0 || named.has(l.sku));
    const wished = cart.wishlist.filter((s) => named.size > 0 && named.has(s));
    const matched = [...new Set([...lines.map((l) => l.sku), ...wished])];
    if (!matched.length) continue;
    const latest = [...cart.lines].sort((a, b) => b.addedAt - a.addedAt);
    const channel = lines.find((l) => applies(l.channel))?.channel ?? latest.find((l) => applies(l.channel))?.channel ?? channels[0];
    if (!channel) continue;
    out.push({ customerId: cart.customerId, channel, skus: matched.sort() });
  }
  return out;
}
