import { div, mul, parseDecimal, roundHalfEven, type Ratio } from './money';

/**
 * Unit and size-system conversions. Quantities convert through exact factors to a base unit of their
 * dimension and are rounded half-even to `places` decimals. Sizes convert through tables (sizes are
 * labels, not quantities): a size without an equivalent in the target system is an error, never a
 * guess.
 */
const UNITS: Readonly<Record<string, { dimension: 'mass' | 'length' | 'volume'; toBase: string }>> = {
  g: { dimension: 'mass', toBase: '1' },
  kg: { dimension: 'mass', toBase: '1000' },
  lb: { dimension: 'mass', toBase: '453.59237' },
  oz: { dimension: 'mass', toBase: '28.349523125' },
  mm: { dimension: 'length', toBase: '1' },
  cm: { dimension: 'length', toBase: '10' },
  m: { dimension: 'length', toBase: '1000' },
  in: { dimension: 'length', toBase: '25.4' },
  ft: { dimension: 'length', toBase: '304.8' },
  ml: { dimension: 'volume', toBase: '1' },
  l: { dimension: 'volume', toBase: '1000' },
  fl_oz: { dimension: 'volume', toBase: '29.5735295625' },
};

export const KNOWN_UNITS = Object.keys(UNITS);

export class ConversionError extends Error {}

export interface Quantity {
  value: number;
  unit: string;
}

function ratioOf(value: number): Ratio {
  if (!Number.isFinite(value) || value < 0) throw new ConversionError(`not a non-negative quantity: ${value}`);
  return parseDecimal(String(value).includes('e') ? value.toFixed(12) : String(value));
}

export function convertUnit(q: Quantity, to: string, places = 2): Quantity {
  const from = UNITS[q.unit];
  const target = UNITS[to];
  if (!from) throw new ConversionError(`unknown unit ${q.unit}`);
  if (!target) throw new ConversionError(`unknown unit ${to}`);
  if (from.dimension !== target.dimension)
    throw new ConversionError(`cannot convert ${from.dimension} (${q.unit}) to ${target.dimension} (${to})`);
  const exact = div(mul(ratioOf(q.value), parseDecimal(from.toBase)), parseDecimal(target.toBase));
  const scale = 10n ** BigInt(places);
  const rounded = roundHalfEven({ n: exact.n * scale, d: exact.d });
  return { value: Number(rounded) / Number(scale), unit: to };
}

/** Equivalent sizes per size chart; each row lists one size in every system of the chart. */
const SIZE_CHARTS: Readonly<Record<string, Array<Record<string, string>>>> = {
  shoes: [
    { EU: '38', UK: '5', US: '6' },
    { EU: '39', UK: '6', US: '7' },
    { EU: '40', UK: '6.5', US: '7.5' },
    { EU: '41', UK: '7', US: '8' },
    { EU: '42', UK: '8', US: '9' },
    { EU: '43', UK: '9', US: '10' },
    { EU: '44', UK: '9.5', US: '10.5' },
    { EU: '45', UK: '10.5', US: '11.5' },
    { EU: '46', UK: '11', US: '12' },
  ],
  clothing: [
    { EU: '44', UK: '34', US: '34', INT: 'XS' },
    { EU: '46', UK: '36', US: '36', INT: 'S' },
    { EU: '48', UK: '38', US: '38', INT: 'M' },
    { EU: '50', UK: '40', US: '40', INT: 'L' },
    { EU: '52', UK: '42', US: '42', INT: 'XL' },
    { EU: '54', UK: '44', US: '44', INT: 'XXL' },
  ],
};

export const SIZE_CHART_NAMES = Object.keys(SIZE_CHARTS);

export function convertSize(chart: string, size: string, from: string, to: string): string {
  const rows = SIZE_CHARTS[chart];
  if (!rows) throw new ConversionError(`unknown size chart ${chart}`);
  const row = rows.find((r) => r[from] === size);
  if (!row) throw new ConversionError(`size ${size} (${from}) is not in the ${chart} chart`);
  const out = row[to];
  if (out === undefined) throw new ConversionError(`the ${chart} chart has no ${to} sizes`);
  return out;
}
