// The kit extends zod with .openapi(); this import brings that augmentation's types into this project.
import '@asteasolutions/zod-to-openapi';
import { z } from '@omnimall/service-kit';
import { KNOWN_UNITS, SIZE_CHART_NAMES } from '../domain/units';
import { EDITABLE_FIELDS, SYNC_FIELDS } from '../domain/catalog';

/** Request and response schemas: they validate requests and generate /openapi.json. */

export const ChannelCode = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'a channel code: lowercase letters, digits, - and _')
  .openapi({ example: 'web-de' });
export const Sku = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (1-64)')
  .openapi({ example: 'TSHIRT-RED-M' });
export const ProductId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (1-64)');
export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR')
  .openapi({ example: 'EUR' });
export const Locale = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 tag such as en or de-CH');
export const MinorAmount = z
  .number()
  .int()
  .nonnegative()
  .max(Number.MAX_SAFE_INTEGER)
  .openapi({ description: 'amount in the currency minor units (ISO 4217 exponent)', example: 1999 });

const Localised = z.record(Locale, z.string().max(10000));
export const AttributeValue = z.union([
  z.string().max(500),
  z.number(),
  z.boolean(),
  z.object({ value: z.number().nonnegative(), unit: z.enum(KNOWN_UNITS as [string, ...string[]]) }).strict(),
  z.object({ size: z.string().min(1).max(16), system: z.string().min(2).max(8) }).strict(),
]);
const AttributeName = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,39}$/, 'letters, digits, _ (starting with a letter)');

export const Restriction = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
      .optional(),
    kind: z.enum(['region', 'country', 'channel']),
    value: z.string().min(1).max(40),
    basis: z.enum(['regulation', 'contract']),
    reason: z.string().min(1).max(500),
  })
  .strict();

export const ProductBody = z
  .object({
    id: ProductId.optional(),
    defaultLocale: Locale,
    title: Localised,
    description: Localised.default({}),
    category: z.string().min(1).max(200),
    attributes: z.record(AttributeName, AttributeValue).default({}),
    variants: z
      .array(
        z
          .object({
            sku: Sku,
            attributes: z.record(AttributeName, AttributeValue).default({}),
            price: z
              .object({ amountMinor: MinorAmount, currency: Currency })
              .strict()
              .openapi({ description: 'net (tax-exclusive) master price' }),
          })
          .strict(),
      )
      .min(1)
      .max(200),
    restrictions: z.array(Restriction).max(100).default([]),
  })
  .strict()
  .openapi('MasterProductInput');

export const ProductUpdateBody = ProductBody.omit({ id: true });

export const AssignBody = z
  .object({
    productId: ProductId,
    skus: z.array(Sku).min(1).max(200).nullable().default(null).openapi({ description: 'SKUs to list; null lists every variant' }),
    prices: z
      .array(z.object({ sku: Sku, currency: Currency, amountMinor: MinorAmount }).strict())
      .max(1000)
      .default([]),
  })
  .strict();

export const PricesBody = z.object({ prices: z.record(Currency, MinorAmount) }).strict();

export const BulkBody = z
  .object({ channels: z.array(ChannelCode).min(1).max(50), productIds: z.array(ProductId).min(1).max(20000) })
  .strict()
  .openapi({ description: 'channels × products may not exceed the pair cap (413 `bulk_too_large`)' });

const BulkProblem = z.object({ productId: z.string(), channel: z.string() }).catchall(z.string());
export const BulkJobView = z
  .object({
    id: z.string(),
    state: z.enum(['queued', 'running', 'succeeded', 'failed']),
    channels: z.array(z.string()),
    total: z.number().int().openapi({ description: 'products in the job' }),
    done: z.number().int().openapi({ description: 'products processed so far' }),
    progress: z.number().openapi({ description: 'done / total' }),
    listed: z.number().int(),
    lockedPath: z.number().int(),
    refused: z.array(BulkProblem).openapi({ description: 'the first 100 restriction refusals' }),
    refusedCount: z.number().int(),
    failed: z.array(BulkProblem).openapi({ description: 'the first 100 listings that failed (with the reason)' }),
    failedCount: z.number().int(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi('BulkJob');

const Editable = z.enum(EDITABLE_FIELDS);
export const EditBody = z
  .object({
    set: z
      .object({
        title: z.string().min(1).max(500),
        description: z.string().max(10000),
        category: z.string().min(1).max(200),
        attributes: z.record(AttributeName, AttributeValue),
      })
      .partial()
      .strict()
      .default({}),
    revert: z.array(Editable).default([]),
  })
  .strict();

export const ResolveBody = z.object({ resolution: z.enum(['keep_local', 'take_master', 'merge']), value: z.unknown().optional() }).strict();

const Transform = z.discriminatedUnion('kind', [
  z
    .object({
      attribute: AttributeName,
      kind: z.literal('unit'),
      to: z.enum(KNOWN_UNITS as [string, ...string[]]),
      places: z.number().int().min(0).max(6).optional(),
    })
    .strict(),
  z
    .object({
      attribute: AttributeName,
      kind: z.literal('size'),
      chart: z.enum(SIZE_CHART_NAMES as [string, ...string[]]),
      to: z.string().min(2).max(8),
    })
    .strict(),
  z.object({ attribute: AttributeName, kind: z.literal('values'), map: z.record(z.string(), z.string()) }).strict(),
]);

export const RuleBody = z
  .object({
    name: z.string().min(1).max(200),
    mode: z.enum(['automatic', 'manual']),
    fields: z.array(z.enum(SYNC_FIELDS)).min(1),
    localeFallbacks: z.array(Locale).max(10).default([]),
    fieldMappings: z
      .array(z.object({ from: AttributeName, to: AttributeName }).strict())
      .max(100)
      .default([]),
    attributeTransforms: z.array(Transform).max(100).default([]),
    categoryMap: z.record(z.string().min(1).max(200), z.string().min(1).max(200)).default({}),
  })
  .strict()
  .openapi('SyncRuleInput');

export const RateBody = z
  .object({
    base: Currency,
    quote: Currency,
    rate: z.string().regex(/^\d+(\.\d+)?$/, 'a positive decimal string such as "1.0845"'),
    source: z.string().min(1).max(100),
    effectiveFrom: z.number().int().positive().optional().openapi({ description: 'epoch milliseconds; default now' }),
  })
  .strict();

export const Json = z.record(z.string(), z.unknown());
