import { add, div, majorOf, mul, ONE, parseDecimal, toDecimalString, toMinor } from './money';

/**
 * How prices are displayed in a market: tax-inclusive (VAT/GST markets: the shelf price includes
 * the tax) or tax-exclusive (sales-tax markets: tax is added at checkout). Master prices are net
 * (tax-exclusive); a channel shows them the way its country, or failing that its region, displays.
 * The table is versioned: evidence names the version that produced each displayed price.
 */
export const TAX_TABLE_VERSION = 1;
export const TAX_TABLE_ID = 'tax-display-table';

export interface TaxPolicy {
  display: 'inclusive' | 'exclusive';
  /** Rate as a decimal string (0.19 = 19 %). Irrelevant for exclusive display. */
  rate: string;
}

const BY_COUNTRY: Readonly<Record<string, TaxPolicy>> = {
  DE: { display: 'inclusive', rate: '0.19' },
  FR: { display: 'inclusive', rate: '0.20' },
  IT: { display: 'inclusive', rate: '0.22' },
  ES: { display: 'inclusive', rate: '0.21' },
  NL: { display: 'inclusive', rate: '0.21' },
  AT: { display: 'inclusive', rate: '0.20' },
  CH: { display: 'inclusive', rate: '0.081' },
  GB: { display: 'inclusive', rate: '0.20' },
  JP: { display: 'inclusive', rate: '0.10' },
  KR: { display: 'inclusive', rate: '0.10' },
  AU: { display: 'inclusive', rate: '0.10' },
  KW: { display: 'inclusive', rate: '0' },
  AE: { display: 'inclusive', rate: '0.05' },
  US: { display: 'exclusive', rate: '0' },
  CA: { display: 'exclusive', rate: '0' },
};

const BY_REGION: Readonly<Record<string, TaxPolicy>> = {
  EU: { display: 'inclusive', rate: '0.20' },
  EMEA: { display: 'inclusive', rate: '0.20' },
  APAC: { display: 'inclusive', rate: '0.10' },
  MENA: { display: 'inclusive', rate: '0.05' },
  NA: { display: 'exclusive', rate: '0' },
  AMER: { display: 'exclusive', rate: '0' },
  LATAM: { display: 'inclusive', rate: '0.16' },
};

/** The policy of a market: its country first, then its region, else tax-exclusive. */
export function taxPolicy(country: string, region: string): TaxPolicy {
  return BY_COUNTRY[country.toUpperCase()] ?? BY_REGION[region.toUpperCase()] ?? { display: 'exclusive', rate: '0' };
}

export interface Displayed {
  amountMinor: number;
  taxInclusive: boolean;
  exact: string;
}

/** A net price as the market displays it: gross = net × (1 + rate) when inclusive, rounded half-even. */
export function displayFromNet(netMinor: number, currency: string, policy: TaxPolicy): Displayed {
  if (policy.display === 'exclusive')
    return { amountMinor: netMinor, taxInclusive: false, exact: toDecimalString(majorOf(netMinor, currency), 8) };
  const gross = mul(majorOf(netMinor, currency), add(ONE, parseDecimal(policy.rate)));
  return { amountMinor: toMinor(gross, currency), taxInclusive: true, exact: toDecimalString(gross, 8) };
}

/** The net price behind a displayed one (used when a dependent channel derives from its master channel's shelf price). */
export function netFromDisplayed(amountMinor: number, currency: string, taxInclusive: boolean, policy: TaxPolicy): Displayed {
  if (!taxInclusive) return { amountMinor, taxInclusive: false, exact: toDecimalString(majorOf(amountMinor, currency), 8) };
  const net = div(majorOf(amountMinor, currency), add(ONE, parseDecimal(policy.rate)));
  return { amountMinor: toMinor(net, currency), taxInclusive: false, exact: toDecimalString(net, 8) };
}
