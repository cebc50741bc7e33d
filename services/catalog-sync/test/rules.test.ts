import type { LocalValues, MasterProduct } from '../src/domain/catalog';
import { overlappingFields, project, ProjectionError, ruleFor, DEFAULT_RULE, type ChannelView, type SyncRule } from '../src/domain/rules';
import { planSync, resolveConflict, MergeValueRequired } from '../src/domain/sync';
import { barredRegions, barringRestriction } from '../src/domain/restrictions';
import { convert, type RateEntry } from '../src/domain/rates';
import { applyProjection } from '../src/application/items';

const t0 = Date.UTC(2026, 0, 1);
const rates: RateEntry[] = [
  { base: 'EUR', quote: 'USD', rate: '1.10', source: 'ecb', effectiveFrom: t0, version: 1 },
  { base: 'EUR', quote: 'JPY', rate: '150', source: 'ecb', effectiveFrom: t0, version: 2 },
  { base: 'EUR', quote: 'USD', rate: '1.20', source: 'ecb', effectiveFrom: t0 + 60_000, version: 3 },
];

const product: MasterProduct = {
  _id: 'p1',
  sellerId: 's1',
  version: 3,
  defaultLocale: 'en',
  title: { en: 'Trail shoe', de: 'Laufschuh' },
  description: { en: 'Light and fast' },
  category: 'shoes/running',
  attributes: { colour: 'red', weight: { value: 1, unit: 'kg' } },
  variants: [{ sku: 'SHOE-42', attributes: { size: { size: '42', system: 'EU' } }, price: { amountMinor: 10000, currency: 'EUR' } }],
  restrictions: [],
};

const us: ChannelView = { code: 'web-us', region: 'NA', country: 'US', currencies: ['USD'], languages: ['en-US'], masterChannel: null };
const de: ChannelView = { code: 'web-de', region: 'EU', country: 'DE', currencies: ['EUR'], languages: ['de-DE'], masterChannel: null };
const jp: ChannelView = { code: 'web-jp', region: 'APAC', country: 'JP', currencies: ['JPY'], languages: ['ja'], masterChannel: null };

const usRule: SyncRule = {
  id: 'r-us',
  channel: 'web-us',
  version: 4,
  name: 'US',
  mode: 'automatic',
  fields: ['attributes', 'category'],
  localeFallbacks: [],
  fieldMappings: [{ from: 'colour', to: 'color' }],
  attributeTransforms: [
    { attribute: 'weight', kind: 'unit', to: 'lb' },
    { attribute: 'size', kind: 'size', chart: 'shoes', to: 'US' },
  ],
  categoryMap: { 'shoes/running': 'Footwear > Running' },
};

const input = (channel: ChannelView, rules: SyncRule[] = [], at = t0) => ({
  product,
  variant: product.variants[0],
  channel,
  rules,
  rates,
  prices: { own: {} },
  at,
});

describe('projection of a master variant through a channel rule', () => {
  it('maps fields, transforms attributes, maps categories, and records every step with rule id and version', () => {
    const p = project(input(us, [usRule]));
    expect(p.values.attributes).toEqual({ color: 'red', weight: { value: 2.2, unit: 'lb' }, size: { size: '9', system: 'US' } });
    expect(p.values.category).toBe('Footwear > Running');
    expect(p.values.price).toEqual({ USD: { amountMinor: 11000, taxInclusive: false } });
    const kinds = p.steps.map((s) => `${s.field}:${s.kind}:${s.ruleId}@${s.ruleVersion}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'category:category_mapping:r-us@4',
        'attributes:field_mapping:r-us@4',
        'attributes:attribute_transform:r-us@4',
        'price:currency_conversion:default@0',
        'price:tax_display:default@0',
      ]),
    );
    const conv = p.steps.find((s) => s.kind === 'currency_conversion')!;
    expect(conv.input).toMatchObject({ amountMinor: 10000, currency: 'EUR' });
    expect(conv.output).toMatchObject({ amountMinor: 11000, currency: 'USD' });
    expect(conv.rate).toMatchObject({ version: 1, rate: '1.10', source: 'ecb' });
    expect(p.ruleVersions).toEqual({ 'r-us': 4, default: 0 });
  });

  it('falls back through locales: channel language, rule fallbacks, base language, product default', () => {
    expect(project(input(de)).values.title).toBe('Laufschuh'); // de-DE → de
    const p = project(input(jp, [{ ...DEFAULT_RULE, id: 'r-jp', version: 1, fields: ['title', 'description'], localeFallbacks: ['de'] }]));
    expect(p.values.title).toBe('Laufschuh'); // ja missing → de (rule fallback)
    expect(p.values.description).toBe('Light and fast'); // ja, de missing → en (product default)
    expect(p.steps.filter((s) => s.kind === 'locale_fallback').map((s) => s.output)).toEqual([{ locale: 'de' }, { locale: 'en' }]);
  });

  it('displays tax-inclusive prices with the market VAT, and rounds in the currency unit', () => {
    expect(project(input(de)).values.price).toEqual({ EUR: { amountMinor: 11900, taxInclusive: true } });
    // 100.00 EUR × 150 = 15000 JPY net; × 1.10 = 16500 JPY shown (0 decimals)
    expect(project(input(jp)).values.price).toEqual({ JPY: { amountMinor: 16500, taxInclusive: true } });
  });

  it('uses the seller shelf price as given, and a dependent channel derives from its master channel', () => {
    const own = project({ ...input(us), prices: { own: { USD: 9999 } } });
    expect(own.values.price.USD.amountMinor).toBe(9999);
    expect(own.steps.find((s) => s.field === 'price')?.kind).toBe('channel_price');
    // the master channel web-de shows 119.00 EUR gross → net 100.00 → 110.00 USD (sales-tax market)
    const dep = project({
      ...input({ ...us, masterChannel: 'web-de' }),
      prices: { own: {}, master: { channel: de, prices: { EUR: 11900 } } },
    });
    expect(dep.values.price.USD).toEqual({ amountMinor: 11000, taxInclusive: false });
  });

  it('gives a new price after a rate change between two propagations, naming each rate version', () => {
    const first = project(input(us, [], t0 + 1));
    const second = project(input(us, [], t0 + 60_001));
    expect(first.values.price.USD.amountMinor).toBe(11000);
    expect(second.values.price.USD.amountMinor).toBe(12000);
    expect(first.steps.find((s) => s.rate)?.rate?.version).toBe(1);
    expect(second.steps.find((s) => s.rate)?.rate?.version).toBe(3);
  });

  it('fails with a typed error when no rate applies or a size has no equivalent', () => {
    expect(() => project(input({ ...us, currencies: ['GBP'] }))).toThrow(ProjectionError);
    const odd = { ...product, variants: [{ ...product.variants[0], attributes: { size: { size: '50', system: 'EU' } } }] };
    expect(() => project({ ...input(us, [usRule]), product: odd, variant: odd.variants[0] })).toThrow(
      /conversion_failed|not in the shoes chart/,
    );
  });
});

describe('rules: governing fields', () => {
  it('assigns each field to one rule, defaulting to the built-in automatic rule', () => {
    expect(ruleFor([usRule], 'category').id).toBe('r-us');
    expect(ruleFor([usRule], 'title')).toBe(DEFAULT_RULE);
    expect(overlappingFields([usRule, { ...usRule, id: 'other', fields: ['title', 'category'] }])).toEqual(['category']);
    expect(overlappingFields([usRule, { ...usRule, version: 5 }])).toEqual([]);
  });
});

describe('sync plans: automatic, manual, conflicts', () => {
  const base: LocalValues = {
    title: 'Old',
    description: 'd',
    category: 'c',
    attributes: { a: 1 },
    price: { EUR: { amountMinor: 100, taxInclusive: true } },
  };
  const next: LocalValues = { ...base, title: 'New', price: { EUR: { amountMinor: 120, taxInclusive: true } } };

  it('applies changed fields under automatic rules', () => {
    const plan = planSync(base, {}, next, []);
    expect(plan.apply).toEqual({ title: 'New', price: next.price });
    expect(plan.conflicts).toEqual([]);
  });

  it('stages changed fields governed by a manual rule, applying the rest', () => {
    const manual: SyncRule = { ...DEFAULT_RULE, id: 'm1', version: 2, mode: 'manual', fields: ['price'] };
    const plan = planSync(base, {}, next, [manual]);
    expect(plan.apply).toEqual({ title: 'New' });
    expect(plan.staged.get('m1')?.changes).toEqual([{ field: 'price', from: base.price, to: next.price }]);
  });

  it('surfaces a conflict instead of overwriting a locally edited field', () => {
    const plan = planSync(base, { title: 'Local title' }, next, []);
    expect(plan.apply).toEqual({ price: next.price });
    expect(plan.conflicts).toEqual([{ field: 'title', base: 'Old', local: 'Local title', master: 'New' }]);
  });

  it('does not conflict when master did not change the edited field', () => {
    const plan = planSync(base, { description: 'mine' }, next, []);
    expect(plan.conflicts).toEqual([]);
  });

  it('resolves with keep_local, take_master or merge', () => {
    expect(resolveConflict('keep_local', 'L', 'M')).toEqual({ synced: 'M', edit: 'L', shown: 'L' });
    expect(resolveConflict('take_master', 'L', 'M')).toEqual({ synced: 'M', edit: undefined, shown: 'M' });
    expect(resolveConflict('merge', 'L', 'M', 'L+M')).toEqual({ synced: 'M', edit: 'L+M', shown: 'L+M' });
    expect(resolveConflict('merge', { a: 1, b: 2 }, { b: 3, c: 4 }).shown).toEqual({ a: 1, b: 2, c: 4 });
    expect(() => resolveConflict('merge', 'L', 'M')).toThrow(MergeValueRequired);
  });

  it('keeps the local value shown and bumps the item on a conflict; evidence only for applied changes', () => {
    const rules: SyncRule[] = [];
    const target = { channel: 'web-de', sku: 'SHOE-42', product, primaryCurrency: 'EUR', inheritedFrom: null };
    const first = applyProjection(null, target, project(input(de)), rules, new Date(t0));
    expect(first.outcome).toBe('listed');
    expect(first.item.version).toBe(1);
    expect(first.events.map((e) => e.topic)).toEqual(['catalog.local-item', 'catalog.transformation-evidence']);
    const edited = { ...first.item, edits: { title: 'Mein Schuh' }, shown: { ...first.item.shown, title: 'Mein Schuh' } };
    const changed = { ...product, version: 4, title: { ...product.title, de: 'Neuer Laufschuh' } };
    const second = applyProjection(
      edited,
      { ...target, product: changed },
      project({ ...input(de), product: changed }),
      rules,
      new Date(t0 + 1),
    );
    expect(second.outcome).toBe('conflict');
    expect(second.item.shown.title).toBe('Mein Schuh');
    expect(second.conflicts[0]).toMatchObject({
      field: 'title',
      local: 'Mein Schuh',
      master: 'Neuer Laufschuh',
      base: 'Laufschuh',
      masterVersion: 4,
    });
    expect(second.events.map((e) => e.topic)).toEqual(['catalog.conflict']);
    // the same master value again does not reopen the conflict
    const third = applyProjection(
      second.item,
      { ...target, product: changed },
      project({ ...input(de), product: changed }),
      rules,
      new Date(t0 + 2),
    );
    expect(third.changed).toBe(false);
  });
});

describe('restrictions', () => {
  const rs = [
    { id: 'eu-reg', kind: 'region' as const, value: 'EU', basis: 'regulation' as const, reason: 'not CE certified' },
    { id: 'no-outlet', kind: 'channel' as const, value: 'outlet', basis: 'contract' as const, reason: 'brand agreement' },
  ];
  it('bars by region, country or channel and names the restriction', () => {
    expect(barringRestriction(rs, { code: 'web-de', region: 'eu', country: 'DE' })?.id).toBe('eu-reg');
    expect(barringRestriction(rs, { code: 'outlet', region: 'NA', country: 'US' })?.id).toBe('no-outlet');
    expect(barringRestriction(rs, { code: 'web-us', region: 'NA', country: 'US' })).toBeNull();
    expect(barredRegions(rs)).toEqual(['EU']);
  });
  it('converts with the right rate after an exact-half JPY amount', () => {
    // 0.03 EUR × 150 = 4.5 JPY → 4 (even); 0.05 EUR × 150 = 7.5 → 8
    expect(convert(3, 'EUR', 'JPY', rates, t0).amountMinor).toBe(4);
    expect(convert(5, 'EUR', 'JPY', rates, t0).amountMinor).toBe(8);
  });
});
