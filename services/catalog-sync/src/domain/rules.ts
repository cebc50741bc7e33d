import type { AttributeValue, LocalValues, MasterProduct, SyncField, Variant, DisplayPrice } from './catalog';
import { convert, RateMissingError, type RateEntry, type RateUsed } from './rates';
import { displayFromNet, netFromDisplayed, taxPolicy, TAX_TABLE_ID, TAX_TABLE_VERSION } from './tax';
import { convertSize, convertUnit, ConversionError } from './units';
import { UnknownCurrencyError } from './money';

/**
 * Mapping and synchronisation rules from the master catalogue to one channel's local catalogue, and
 * the projection of a master variant through them. Pure: the same inputs give the same local values
 * and the same evidence.
 *
 * A rule governs a set of fields of the channel's local items. `automatic` rules apply every master
 * change at once; `manual` rules stage the change as a diff for a channel manager. Fields no rule
 * governs follow the built-in default rule (automatic, identity mapping).
 */
export type AttributeTransform =
  | { attribute: string; kind: 'unit'; to: string; places?: number }
  | { attribute: string; kind: 'size'; chart: string; to: string }
  | { attribute: string; kind: 'values'; map: Record<string, string> };

export interface SyncRule {
  id: string;
  channel: string;
  version: number;
  name: string;
  mode: 'automatic' | 'manual';
  fields: SyncField[];
  /** Locales tried after the channel's first language, before the product's default locale. */
  localeFallbacks: string[];
  /** Master attribute → local attribute renames. */
  fieldMappings: { from: string; to: string }[];
  attributeTransforms: AttributeTransform[];
  /** Master category → the channel's category. */
  categoryMap: Record<string, string>;
}

export const DEFAULT_RULE: SyncRule = {
  id: 'default',
  channel: '*',
  version: 0,
  name: 'built-in: automatic, identity mapping',
  mode: 'automatic',
  fields: ['title', 'description', 'category', 'attributes', 'price'],
  localeFallbacks: [],
  fieldMappings: [],
  attributeTransforms: [],
  categoryMap: {},
};

export function ruleFor(rules: readonly SyncRule[], field: SyncField): SyncRule {
  return rules.find((r) => r.fields.includes(field)) ?? DEFAULT_RULE;
}

/** Fields claimed by more than one rule of a channel (a new or changed rule must not overlap). */
export function overlappingFields(rules: readonly Pick<SyncRule, 'id' | 'fields'>[]): SyncField[] {
  const seen = new Map<SyncField, string>();
  const out = new Set<SyncField>();
  for (const r of rules)
    for (const f of r.fields) {
      if (seen.has(f) && seen.get(f) !== r.id) out.add(f);
      seen.set(f, r.id);
    }
  return [...out];
}

export interface ChannelView {
  code: string;
  region: string;
  country: string;
  currencies: string[];
  languages: string[];
  masterChannel: string | null;
}

export interface EvidenceStep {
  field: SyncField;
  kind:
    | 'locale_fallback'
    | 'field_mapping'
    | 'attribute_transform'
    | 'category_mapping'
    | 'channel_price'
    | 'currency_conversion'
    | 'tax_display';
  ruleId: string;
  ruleVersion: number;
  input: unknown;
  output: unknown;
  rate: RateUsed | null;
}

/** Where a channel's prices for one SKU come from besides the master's net price. */
export interface PriceSources {
  /** Shelf prices the seller set for this channel: currency → minor units, displayed as given. */
  own: Record<string, number>;
  /** A dependent channel without its own price derives from its master channel's shelf price. */
  master?: { channel: ChannelView; prices: Record<string, number> };
}

export interface ProjectionInput {
  product: MasterProduct;
  variant: Variant;
  channel: ChannelView;
  rules: readonly SyncRule[];
  rates: readonly RateEntry[];
  prices: PriceSources;
  at: number;
}

export interface Projection {
  values: LocalValues;
  steps: EvidenceStep[];
  /** Rule id → version of every rule that produced a field. */
  ruleVersions: Record<string, number>;
}

export class ProjectionError extends Error {
  constructor(
    readonly code: 'rate_missing' | 'conversion_failed' | 'unknown_currency',
    message: string,
  ) {
    super(message);
  }
}

function localeChain(channel: ChannelView, rule: SyncRule, product: MasterProduct): string[] {
  const first = channel.languages[0] ?? product.defaultLocale;
  const base = first.split('-')[0];
  return [...new Set([first, ...rule.localeFallbacks, base, product.defaultLocale])];
}

function localise(field: 'title' | 'description', text: Record<string, string>, input: ProjectionInput, steps: EvidenceStep[]): string {
  const rule = ruleFor(input.rules, field);
  const chain = localeChain(input.channel, rule, input.product);
  const hit = chain.find((l) => text[l] !== undefined && text[l] !== '');
  const value = hit ? text[hit] : (Object.values(text)[0] ?? '');
  if (hit !== chain[0]) {
    steps.push({
      field,
      kind: 'locale_fallback',
      ruleId: rule.id,
      ruleVersion: rule.version,
      input: { wanted: chain[0], chain },
      output: { locale: hit ?? Object.keys(text)[0] ?? null },
      rate: null,
    });
  }
  return value;
}

function transformAttribute(t: AttributeTransform, value: AttributeValue): AttributeValue {
  switch (t.kind) {
    case 'unit': {
      if (typeof value !== 'object' || !('unit' in value))
        throw new ConversionError(`attribute ${t.attribute} is not a quantity with a unit`);
      return convertUnit(value, t.to, t.places ?? 2);
    }
    case 'size': {
      if (typeof value !== 'object' || !('size' in value)) throw new ConversionError(`attribute ${t.attribute} is not a size`);
      return { size: convertSize(t.chart, value.size, value.system, t.to), system: t.to };
    }
    case 'values': {
      const key = String(value);
      return t.map[key] ?? value;
    }
  }
}

function attributes(input: ProjectionInput, steps: EvidenceStep[]): Record<string, AttributeValue> {
  const rule = ruleFor(input.rules, 'attributes');
  const attrs: Record<string, AttributeValue> = { ...input.product.attributes, ...input.variant.attributes };
  for (const m of rule.fieldMappings) {
    if (!(m.from in attrs)) continue;
    attrs[m.to] = attrs[m.from];
    if (m.to !== m.from) delete attrs[m.from];
    steps.push({
      field: 'attributes',
      kind: 'field_mapping',
      ruleId: rule.id,
      ruleVersion: rule.version,
      input: { [m.from]: attrs[m.to] },
      output: { [m.to]: attrs[m.to] },
      rate: null,
    });
  }
  for (const t of rule.attributeTransforms) {
    if (!(t.attribute in attrs)) continue;
    const before = attrs[t.attribute];
    const after = transformAttribute(t, before);
    attrs[t.attribute] = after;
    steps.push({
      field: 'attributes',
      kind: 'attribute_transform',
      ruleId: rule.id,
      ruleVersion: rule.version,
      input: { attribute: t.attribute, value: before, transform: t },
      output: after,
      rate: null,
    });
  }
  return attrs;
}

function price(currency: string, input: ProjectionInput, steps: EvidenceStep[]): DisplayPrice {
  const rule = ruleFor(input.rules, 'price');
  const ev = (kind: EvidenceStep['kind'], inp: unknown, out: unknown, rate: RateUsed | null = null): void => {
    steps.push({ field: 'price', kind, ruleId: rule.id, ruleVersion: rule.version, input: inp, output: out, rate });
  };
  const policy = taxPolicy(input.channel.country, input.channel.region);
  const tax = { table: TAX_TABLE_ID, version: TAX_TABLE_VERSION, country: input.channel.country, region: input.channel.region, ...policy };

  const own = input.prices.own[currency];
  if (own !== undefined) {
    const out = { amountMinor: own, taxInclusive: policy.display === 'inclusive' };
    ev('channel_price', { currency, amountMinor: own, setBy: 'seller' }, out);
    return out;
  }

  // A net amount to start from: the master channel's shelf price (dependent channels) or the master price.
  let net: { amountMinor: number; currency: string };
  const m = input.prices.master;
  const masterCurrency = m
    ? m.prices[currency] !== undefined
      ? currency
      : m.channel.currencies.find((c) => m.prices[c] !== undefined)
    : undefined;
  if (m && masterCurrency) {
    const mPolicy = taxPolicy(m.channel.country, m.channel.region);
    const shelf = m.prices[masterCurrency];
    const n = netFromDisplayed(shelf, masterCurrency, mPolicy.display === 'inclusive', mPolicy);
    ev(
      'tax_display',
      {
        from: 'master_channel',
        channel: m.channel.code,
        currency: masterCurrency,
        amountMinor: shelf,
        tax: { table: TAX_TABLE_ID, version: TAX_TABLE_VERSION, ...mPolicy },
      },
      { net: n.amountMinor, exact: n.exact },
    );
    net = { amountMinor: n.amountMinor, currency: masterCurrency };
  } else {
    net = { ...input.variant.price };
  }

  if (net.currency !== currency) {
    const c = convert(net.amountMinor, net.currency, currency, input.rates, input.at);
    ev(
      'currency_conversion',
      { amountMinor: net.amountMinor, currency: net.currency, at: input.at },
      { amountMinor: c.amountMinor, currency, exact: c.exact, rounding: 'half-even' },
      c.rate,
    );
    net = { amountMinor: c.amountMinor, currency };
  }
  const shown = displayFromNet(net.amountMinor, currency, policy);
  ev(
    'tax_display',
    { net: net.amountMinor, currency, tax },
    { amountMinor: shown.amountMinor, taxInclusive: shown.taxInclusive, exact: shown.exact, rounding: 'half-even' },
  );
  return { amountMinor: shown.amountMinor, taxInclusive: shown.taxInclusive };
}

/** Projects one master variant into one channel: local values, evidence and the rule versions used. */
export function project(input: ProjectionInput): Projection {
  const steps: EvidenceStep[] = [];
  try {
    const title = localise('title', input.product.title, input, steps);
    const description = localise('description', input.product.description, input, steps);
    const catRule = ruleFor(input.rules, 'category');
    const mapped = catRule.categoryMap[input.product.category];
    const category = mapped ?? input.product.category;
    if (mapped !== undefined) {
      steps.push({
        field: 'category',
        kind: 'category_mapping',
        ruleId: catRule.id,
        ruleVersion: catRule.version,
        input: input.product.category,
        output: mapped,
        rate: null,
      });
    }
    const attrs = attributes(input, steps);
    const prices: Record<string, DisplayPrice> = {};
    for (const cur of input.channel.currencies) prices[cur] = price(cur, input, steps);
    const ruleVersions: Record<string, number> = {};
    for (const f of ['title', 'description', 'category', 'attributes', 'price'] as const) {
      const r = ruleFor(input.rules, f);
      ruleVersions[r.id] = r.version;
    }
    return { values: { title, description, category, attributes: attrs, price: prices }, steps, ruleVersions };
  } catch (err) {
    if (err instanceof RateMissingError) throw new ProjectionError('rate_missing', err.message);
    if (err instanceof ConversionError) throw new ProjectionError('conversion_failed', err.message);
    if (err instanceof UnknownCurrencyError) throw new ProjectionError('unknown_currency', err.message);
    throw err;
  }
}
