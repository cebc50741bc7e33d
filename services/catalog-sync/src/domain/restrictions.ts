/**
 * Restrictions: a product barred from a market (region or country) or from one channel, by
 * regulation or by contract. A barred product is never assigned or propagated there.
 */
export interface Restriction {
  id: string;
  kind: 'region' | 'country' | 'channel';
  value: string;
  basis: 'regulation' | 'contract';
  reason: string;
}

export interface ChannelMarket {
  code: string;
  region: string;
  country: string;
}

/** The first restriction that bars the product from this channel, or null. */
export function barringRestriction(restrictions: readonly Restriction[], channel: ChannelMarket): Restriction | null {
  for (const r of restrictions) {
    const v = r.value.toUpperCase();
    if (r.kind === 'channel' && r.value === channel.code) return r;
    if (r.kind === 'region' && v === channel.region.toUpperCase()) return r;
    if (r.kind === 'country' && v === channel.country.toUpperCase()) return r;
  }
  return null;
}

/** Markets the product may not be sold in (published with each local item for downstream gates). */
export function barredRegions(restrictions: readonly Restriction[]): string[] {
  return [...new Set(restrictions.filter((r) => r.kind !== 'channel').map((r) => r.value.toUpperCase()))].sort();
}

export function describe(r: Restriction): string {
  return `${r.kind} ${r.value} (${r.basis}): ${r.reason}`;
}
