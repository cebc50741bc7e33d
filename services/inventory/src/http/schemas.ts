// The kit extends zod with .openapi(); this import brings that augmentation's types into this project.
import '@asteasolutions/zod-to-openapi';
import { z } from '@omnimall/service-kit';

/** The zod schemas the routes validate with and OpenAPI is built from. */
export const Sku = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/)
  .openapi({ example: 'SKU-1' });
export const ChannelCode = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
  .openapi({ example: 'web' });
export const LocationId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
  .openapi({ example: 'wh-berlin' });
const Qty = z.number().int().min(0).max(10_000_000);
const Text = z.string().trim().min(1).max(200);
export const Json = z.record(z.string(), z.unknown()).openapi('Object');

export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .openapi({
      description:
        'Required (400 idempotency_key_required without it, once the caller is known to be allowed): the same key with the same body repeats the first answer; with another body it is refused (422)',
      example: '2f0c8a1e-op-1',
    }),
  'if-match': z.string().optional().openapi({ description: 'The stock version (ETag) the change was decided on: 412 when it moved on' }),
});

export const LocationBody = z
  .object({
    name: Text,
    kind: z.enum(['warehouse', 'store', 'dropship']),
    address: z.object({ line1: Text, city: Text, postalCode: z.string().trim().min(1).max(20), country: z.string().regex(/^[A-Z]{2}$/) }),
    pickup: z.boolean().default(false),
    partner: ChannelCode.nullable().default(null).openapi({ description: 'The partner channel that owns a drop-ship location' }),
    active: z.boolean().default(true),
  })
  .openapi('LocationBody');

export const LinkBody = z.object({ priority: z.number().int().min(0).max(1000) }).openapi('LinkBody');

export const PolicyBody = z
  .object({
    source: z.enum(['auto', 'own', 'master']).default('auto'),
    allocation: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('shared') }),
        z.object({ kind: z.literal('quota'), units: Qty }),
        z.object({ kind: z.literal('percentage'), percent: z.number().min(0).max(100) }),
      ])
      .default({ kind: 'shared' }),
    lowStock: Qty.default(5),
    displayFloor: Qty.default(0),
    backorder: z.boolean().default(false),
    maxPerOrder: z.number().int().min(1).max(100_000).nullable().default(null),
  })
  .openapi('ChannelPolicy');

export const ExceptionBody = z
  .object({
    kind: z.enum(['master_only', 'threshold_exempt', 'embargo']),
    sku: Sku.nullable().default(null),
    channel: ChannelCode.nullable().default(null),
    reason: Text,
    expiresAt: z.number().int().positive().openapi({ description: 'Epoch ms after which the exception no longer applies' }),
    until: z.number().int().positive().optional().openapi({ description: 'Embargo: epoch ms until which the SKU may not be sold' }),
  })
  .openapi('ExceptionBody');

const Loc = { location: LocationId };
export const OperationBody = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('set'), ...Loc, bucket: z.enum(['onHand', 'damaged', 'qualityHold', 'safetyStock']), quantity: Qty }),
    z.object({
      kind: z.literal('adjust'),
      ...Loc,
      bucket: z.enum(['onHand', 'damaged', 'qualityHold', 'safetyStock', 'incoming']),
      delta: z
        .number()
        .int()
        .min(-10_000_000)
        .max(10_000_000)
        .refine((d) => d !== 0, 'a delta of 0 changes nothing'),
    }),
    z.object({ kind: z.literal('transfer'), from: LocationId, to: LocationId, quantity: Qty.min(1) }),
    z.object({ kind: z.literal('receive'), ...Loc, quantity: Qty.min(1), reference: Text.optional() }),
    z.object({ kind: z.literal('expect'), ...Loc, quantity: Qty.min(1), expectedAt: z.number().int().positive(), reference: Text }),
  ])
  .and(z.object({ reason: Text, reference: Text.optional() }))
  .openapi('StockOperation');

export const ReserveBody = z
  .object({
    channel: ChannelCode.optional().openapi({
      description: 'Staff only: the channel to reserve on (a customer reserves on their token’s channel)',
    }),
    reference: z
      .string()
      .regex(/^(cart|order):[A-Za-z0-9._:-]{1,128}$/)
      .optional()
      .openapi({ description: 'cart:<id> or order:<id>; a customer’s is their cart' }),
    lines: z
      .array(z.object({ sku: Sku, quantity: z.number().int().min(1).max(100_000) }))
      .min(1)
      .max(200),
    ttlSeconds: z.number().int().min(10).optional(),
  })
  .openapi('ReserveBody');
export const ExtendBody = z.object({ ttlSeconds: z.number().int().min(10) }).openapi('ExtendBody');

export const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().min(1).optional().openapi({ description: 'Only adjustments at a stock version below this (paging)' }),
});
export const ChannelQuery = z.object({ channel: ChannelCode.optional() });
export const ImportBody = z
  .object({
    format: z.enum(['csv', 'jsonl']).openapi({
      description: 'csv: a header naming sku, location, quantity (reason optional); jsonl: one {sku, location, quantity, reason?} per line',
    }),
    content: z.string().min(1).max(1_000_000),
  })
  .openapi('ImportBody');
