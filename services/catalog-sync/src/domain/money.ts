/**
 * Money as integers in a currency's minor units, and exact decimal arithmetic for conversions.
 *
 * Rounding rule: HALF-EVEN (banker's rounding). A value exactly half-way between two minor units
 * goes to the even one (0.125 USD → 0.12, 0.135 USD → 0.14), so rounding many conversions does not
 * drift upwards on average. Every other value goes to the nearest minor unit. Negative amounts do
 * not occur in a catalogue and are refused.
 *
 * Intermediate values are exact rationals of BigInts; only the final amount is rounded, once per
 * transformation step (conversion, tax display), and each step records its own evidence.
 */

/** ISO 4217 exponents (minor units). Currencies not listed are refused rather than guessed. */
// prettier-ignore
export const MINOR_UNITS: Readonly<Record<string, number>> = {
  AED: 2, ARS: 2, AUD: 2, BHD: 3, BRL: 2, CAD: 2, CHF: 2, CLP: 0, CNY: 2, CZK: 2, DKK: 2, EGP: 2, EUR: 2,
  GBP: 2, HKD: 2, HUF: 2, IDR: 2, ILS: 2, INR: 2, IQD: 3, ISK: 0, JOD: 3, JPY: 0, KRW: 0, KWD: 3, LYD: 3,
  MXN: 2, MYR: 2, NOK: 2, NZD: 2, OMR: 3, PHP: 2, PLN: 2, QAR: 2, RON: 2, SAR: 2, SEK: 2, SGD: 2, THB: 2,
  TND: 3, TRY: 2, TWD: 2, UGX: 0, USD: 2, VND: 0, XOF: 0, ZAR: 2,
};

export class UnknownCurrencyError extends Error {
  constructor(readonly currency: string) {
    super(`currency ${currency} is not an ISO 4217 code this service knows`);
  }
}

export function minorUnits(currency: string): number {
  const e = MINOR_UNITS[currency];
  if (e === undefined) throw new UnknownCurrencyError(currency);
  return e;
}

export function isKnownCurrency(currency: string): boolean {
  return MINOR_UNITS[currency] !== undefined;
}

/** An exact non-negative rational n/d. */
export interface Ratio {
  n: bigint;
  d: bigint;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Parses a plain decimal string ("1.0845", "0.19", "150") exactly. */
export function parseDecimal(text: string): Ratio {
  const m = DECIMAL.exec(text);
  if (!m) throw new Error(`not a non-negative decimal: ${text}`);
  const frac = m[2] ?? '';
  return { n: BigInt(m[1] + frac), d: 10n ** BigInt(frac.length) };
}

export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

export function mul(a: Ratio, b: Ratio): Ratio {
  return { n: a.n * b.n, d: a.d * b.d };
}

export function div(a: Ratio, b: Ratio): Ratio {
  if (b.n === 0n) throw new Error('division by zero');
  return { n: a.n * b.d, d: a.d * b.n };
}

export const ONE: Ratio = { n: 1n, d: 1n };
export const add = (a: Ratio, b: Ratio): Ratio => ({ n: a.n * b.d + b.n * a.d, d: a.d * b.d });

/** Rounds a non-negative rational to the nearest integer, ties to even. */
export function roundHalfEven(r: Ratio): bigint {
  if (r.n < 0n || r.d <= 0n) throw new Error('negative amounts are not rounded here');
  const q = r.n / r.d;
  const rem = r.n % r.d;
  const twice = rem * 2n;
  if (twice < r.d) return q;
  if (twice > r.d) return q + 1n;
  return q % 2n === 0n ? q : q + 1n;
}

/** The rational as a decimal string with `places` digits, for evidence (truncated, not rounded). */
export function toDecimalString(r: Ratio, places = 6): string {
  const scaled = (r.n * 10n ** BigInt(places)) / r.d;
  const s = scaled.toString().padStart(places + 1, '0');
  if (places === 0) return s;
  const out = `${s.slice(0, -places)}.${s.slice(-places)}`.replace(/0+$/, '').replace(/\.$/, '');
  return out;
}

/** An amount in minor units as its major-unit value (exact). */
export function majorOf(amountMinor: number | bigint, currency: string): Ratio {
  return { n: BigInt(amountMinor), d: 10n ** BigInt(minorUnits(currency)) };
}

/** A major-unit value rounded (half-even) to the currency's minor units. */
export function toMinor(major: Ratio, currency: string): number {
  const e = 10n ** BigInt(minorUnits(currency));
  return Number(roundHalfEven({ n: major.n * e, d: major.d }));
}

/** True when an amount in minor units is a whole, non-negative, safe integer. */
export function isValidMinorAmount(amountMinor: number): boolean {
  return Number.isSafeInteger(amountMinor) && amountMinor >= 0;
}
