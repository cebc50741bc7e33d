import { minorUnits, parseDecimal, roundHalfEven, toMinor, majorOf, UnknownCurrencyError } from '../src/domain/money';
import { convert, rateAt, RateMissingError, type RateEntry } from '../src/domain/rates';
import { displayFromNet, netFromDisplayed, taxPolicy } from '../src/domain/tax';
import { convertSize, convertUnit, ConversionError } from '../src/domain/units';

describe('ISO 4217 minor units', () => {
  it('knows JPY 0, KWD 3, USD 2 and refuses unknown codes', () => {
    expect(minorUnits('JPY')).toBe(0);
    expect(minorUnits('KWD')).toBe(3);
    expect(minorUnits('USD')).toBe(2);
    expect(() => minorUnits('XXX')).toThrow(UnknownCurrencyError);
  });
});

describe('half-even rounding', () => {
  const r = (s: string): bigint => roundHalfEven(parseDecimal(s));
  it('rounds exact halves to the even neighbour', () => {
    expect(r('0.5')).toBe(0n);
    expect(r('1.5')).toBe(2n);
    expect(r('2.5')).toBe(2n);
    expect(r('3.5')).toBe(4n);
  });
  it('rounds everything else to the nearest', () => {
    expect(r('2.4999999')).toBe(2n);
    expect(r('2.5000001')).toBe(3n);
    expect(r('0.0')).toBe(0n);
  });
  it('rounds to each currency minor unit', () => {
    expect(toMinor(parseDecimal('0.125'), 'USD')).toBe(12); // 12.5 cents → 12 (even)
    expect(toMinor(parseDecimal('0.135'), 'USD')).toBe(14); // 13.5 cents → 14 (even)
    expect(toMinor(parseDecimal('150.5'), 'JPY')).toBe(150);
    expect(toMinor(parseDecimal('151.5'), 'JPY')).toBe(152);
    expect(toMinor(parseDecimal('1.2345'), 'KWD')).toBe(1234); // 1234.5 fils → 1234
    expect(toMinor(parseDecimal('1.2355'), 'KWD')).toBe(1236);
    expect(toMinor(parseDecimal('1.23451'), 'KWD')).toBe(1235);
  });
});

describe('currency conversion from the versioned rate table', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const table: RateEntry[] = [
    { base: 'EUR', quote: 'USD', rate: '1.10', source: 'ecb', effectiveFrom: t0, version: 1 },
    { base: 'EUR', quote: 'JPY', rate: '160.5', source: 'ecb', effectiveFrom: t0, version: 2 },
    { base: 'EUR', quote: 'USD', rate: '1.20', source: 'ecb', effectiveFrom: t0 + 1000, version: 3 },
    { base: 'KWD', quote: 'EUR', rate: '3.0', source: 'cbk', effectiveFrom: t0, version: 4 },
  ];

  it('uses the latest entry effective at the time, and names it', () => {
    expect(rateAt(table, 'EUR', 'USD', t0 + 999)?.version).toBe(1);
    expect(rateAt(table, 'EUR', 'USD', t0 + 1000)?.version).toBe(3);
    expect(rateAt(table, 'EUR', 'USD', t0 - 1)).toBeNull();
  });

  it('gives a different price before and after a rate change', () => {
    const before = convert(1999, 'EUR', 'USD', table, t0 + 10);
    const after = convert(1999, 'EUR', 'USD', table, t0 + 2000);
    expect(before).toMatchObject({ amountMinor: 2199, rate: { version: 1, rate: '1.10', source: 'ecb' } }); // 21.989 → 21.99
    expect(after).toMatchObject({ amountMinor: 2399, rate: { version: 3, rate: '1.20' } }); // 23.988 → 23.99
  });

  it('converts into a zero-decimal currency with half-even on the exact half', () => {
    // 10.00 EUR × 160.5 = 1605 JPY exactly; 0.01 EUR × 160.5 = 1.605 → 2; 0.03 × 160.5 = 4.815 → 5
    expect(convert(1000, 'EUR', 'JPY', table, t0).amountMinor).toBe(1605);
    expect(convert(1, 'EUR', 'JPY', table, t0).amountMinor).toBe(2);
    // 0.02 EUR × 160.5 = 3.21 → 3 ; 0.09 × 160.5 = 14.445 → 14
    expect(convert(9, 'EUR', 'JPY', table, t0).amountMinor).toBe(14);
  });

  it('converts into a three-decimal currency through an inverted quote', () => {
    // 10.00 EUR at KWD→EUR 3.0 is 3.333333… KWD → 3.333 (3333 fils); the inverse is flagged
    const c = convert(1000, 'EUR', 'KWD', table, t0);
    expect(c.amountMinor).toBe(3333);
    expect(c.rate).toMatchObject({ version: 4, inverted: true });
    // 1.5 EUR → 0.5 KWD exactly
    expect(convert(150, 'EUR', 'KWD', table, t0).amountMinor).toBe(500);
  });

  it('refuses a pair the table does not quote', () => {
    expect(() => convert(100, 'USD', 'JPY', table, t0)).toThrow(RateMissingError);
  });
});

describe('tax-inclusive and tax-exclusive display per market', () => {
  it('shows gross prices in VAT markets and net in sales-tax markets', () => {
    expect(taxPolicy('DE', 'EU')).toEqual({ display: 'inclusive', rate: '0.19' });
    expect(taxPolicy('US', 'NA').display).toBe('exclusive');
    expect(taxPolicy('XX', 'EU')).toEqual({ display: 'inclusive', rate: '0.20' }); // region fallback
    expect(displayFromNet(1000, 'EUR', taxPolicy('DE', 'EU'))).toMatchObject({ amountMinor: 1190, taxInclusive: true });
    expect(displayFromNet(1000, 'USD', taxPolicy('US', 'NA'))).toMatchObject({ amountMinor: 1000, taxInclusive: false });
  });
  it('rounds the tax half-even in the currency unit', () => {
    // 1050 JPY × 1.10 = 1155 exactly; 1045 × 1.10 = 1149.5 → 1150 (even); 1055 × 1.1 = 1160.5 → 1160
    expect(displayFromNet(1045, 'JPY', taxPolicy('JP', 'APAC')).amountMinor).toBe(1150);
    expect(displayFromNet(1055, 'JPY', taxPolicy('JP', 'APAC')).amountMinor).toBe(1160);
  });
  it('recovers the net price behind a shelf price', () => {
    expect(netFromDisplayed(1190, 'EUR', true, taxPolicy('DE', 'EU')).amountMinor).toBe(1000);
    expect(netFromDisplayed(999, 'USD', false, taxPolicy('US', 'NA')).amountMinor).toBe(999);
  });
  it('keeps exact arithmetic (no binary floating point drift)', () => {
    expect(majorOf(1, 'USD')).toEqual({ n: 1n, d: 100n });
    expect(displayFromNet(1, 'USD', { display: 'inclusive', rate: '0.5' }).amountMinor).toBe(2); // 1.5 → 2
    expect(displayFromNet(5, 'USD', { display: 'inclusive', rate: '0.1' }).amountMinor).toBe(6); // 5.5 → 6
    expect(displayFromNet(25, 'USD', { display: 'inclusive', rate: '0.1' }).amountMinor).toBe(28); // 27.5 → 28
    expect(displayFromNet(15, 'USD', { display: 'inclusive', rate: '0.1' }).amountMinor).toBe(16); // 16.5 → 16
  });
});

describe('unit and size-system conversions', () => {
  it('converts quantities exactly, rounded half-even to the places asked', () => {
    expect(convertUnit({ value: 1, unit: 'kg' }, 'lb')).toEqual({ value: 2.2, unit: 'lb' });
    expect(convertUnit({ value: 1, unit: 'kg' }, 'lb', 4)).toEqual({ value: 2.2046, unit: 'lb' });
    expect(convertUnit({ value: 10, unit: 'in' }, 'cm')).toEqual({ value: 25.4, unit: 'cm' });
    expect(convertUnit({ value: 500, unit: 'ml' }, 'l', 3)).toEqual({ value: 0.5, unit: 'l' });
  });
  it('refuses conversions across dimensions and unknown units', () => {
    expect(() => convertUnit({ value: 1, unit: 'kg' }, 'cm')).toThrow(ConversionError);
    expect(() => convertUnit({ value: 1, unit: 'stone' }, 'kg')).toThrow(/unknown unit stone/);
  });
  it('maps sizes through charts and refuses sizes without an equivalent', () => {
    expect(convertSize('shoes', '42', 'EU', 'US')).toBe('9');
    expect(convertSize('shoes', '9', 'US', 'UK')).toBe('8');
    expect(convertSize('clothing', 'M', 'INT', 'EU')).toBe('48');
    expect(() => convertSize('shoes', '50', 'EU', 'US')).toThrow(/not in the shoes chart/);
  });
});
