import { div, isDecimal, mul, ONE, parseDecimal, toDecimalString, toMinor, majorOf, type Ratio } from './money';

/**
 * A versioned exchange-rate table. Rates are only ever added: each entry has a source (who quoted
 * it), the time from which it is effective, and a version (its position in the table). The rate that
 * applies at time t is the entry of that pair with the latest effectiveFrom ≤ t (ties: the highest
 * version). A pair quoted only the other way round is used inverted; no cross rates through a third
 * currency are guessed.
 */
export interface RateEntry {
  base: string;
  quote: string;
  /** Units of quote per one unit of base, as a decimal string (exact). */
  rate: string;
  source: string;
  effectiveFrom: number;
  version: number;
}

export interface RateUsed extends RateEntry {
  /** True when the table quoted quote→base and the inverse was used. */
  inverted: boolean;
}

export class RateMissingError extends Error {
  constructor(
    readonly base: string,
    readonly quote: string,
    readonly at: number,
  ) {
    super(`no exchange rate ${base}→${quote} effective at ${new Date(at).toISOString()}`);
  }
}

export function validRate(rate: string): boolean {
  return isDecimal(rate) && parseDecimal(rate).n > 0n;
}

/** The entry that applies to base→quote at `at`, or null. */
export function rateAt(table: readonly RateEntry[], base: string, quote: string, at: number): RateUsed | null {
  let best: RateUsed | null = null;
  for (const e of table) {
    if (e.effectiveFrom > at) continue;
    const direct = e.base === base && e.quote === quote;
    const inverse = e.base === quote && e.quote === base;
    if (!direct && !inverse) continue;
    if (!best || e.effectiveFrom > best.effectiveFrom || (e.effectiveFrom === best.effectiveFrom && e.version > best.version)) {
      best = { ...e, inverted: inverse && !direct };
    }
  }
  return best;
}

export interface Conversion {
  amountMinor: number;
  exact: string;
  rate: RateUsed;
  factor: Ratio;
}

/** Converts an amount between currencies with the rate effective at `at`, rounding half-even once. */
export function convert(amountMinor: number, from: string, to: string, table: readonly RateEntry[], at: number): Conversion {
  const used = rateAt(table, from, to, at);
  if (!used) throw new RateMissingError(from, to, at);
  const r = parseDecimal(used.rate);
  const factor = used.inverted ? div(ONE, r) : r;
  const major = mul(majorOf(amountMinor, from), factor);
  return { amountMinor: toMinor(major, to), exact: toDecimalString(major, 8), rate: used, factor };
}
