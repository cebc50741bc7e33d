// The kit extends zod with .openapi(); this import brings that augmentation's types into this project.
import '@asteasolutions/zod-to-openapi';
import { z } from '@omnimall/service-kit';

/** The zod schemas the routes validate with and OpenAPI is built from. */
export const ChannelCode = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
  .openapi({ example: 'web' });
export const Sku = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/)
  .openapi({ example: 'SKU-1' });
export const Json = z.record(z.string(), z.unknown()).openapi('Object');
const Text = z.string().trim().min(1).max(500);
const Instant = z.number().int().nonnegative().openapi({ description: 'Epoch milliseconds' });

export const PromotionId = z.object({ id: z.string().regex(/^promo-[0-9a-f-]{36}$/) });
export const PromotionChannel = PromotionId.extend({ code: ChannelCode });
export const ChannelParams = z.object({ code: ChannelCode });

export const Overridable = z
  .array(
    z.object({
      field: z.enum(['value', 'dates', 'exclusion']),
      by: z.array(z.enum(['admin', 'channel_manager'])).min(1),
    }),
  )
  .max(3)
  .openapi({ description: 'Which fields a channel may override, and which roles may ask for it' });

/**
 * A promotion as an author writes it. The definition's fields are checked by the evaluator's
 * validatePromotion (400 rule_not_evaluable with every problem's path, code and hint), so they are
 * taken as given here; the defaults make the smallest promotion short.
 */
export const PromotionBody = z
  .object({
    name: z.unknown().openapi({ description: 'A non-empty name', example: 'Summer sale' }),
    level: z.unknown().openapi({ description: "'catalogue' (unit prices) or 'cart'" }),
    priority: z.unknown().default(0),
    stacking: z.unknown().default('stack').openapi({ description: "'stack', 'best_deal' or 'stop'" }),
    startsAt: z.unknown().openapi({ description: 'Epoch ms, inclusive' }),
    endsAt: z.unknown().default(null).openapi({ description: 'Epoch ms, exclusive; null: open-ended' }),
    channels: z.unknown().default(null).openapi({ description: 'Channel codes; null: every channel' }),
    condition: z.unknown().default(null).openapi({ description: 'The condition tree (all/any/not/predicates); null: always' }),
    reward: z.unknown().openapi({ description: 'percentage, fixed_amount, fixed_price, buy_x_get_y or free_gift' }),
    allocation: z.unknown().default({ kind: 'each_line' }),
    code: z.unknown().default(false).openapi({ description: 'Applies only with one of its codes' }),
    campaignId: z.unknown().default(null),
    overridable: Overridable.default([]),
  })
  .openapi('PromotionBody');

export const ListQuery = z.object({
  status: z.enum(['draft', 'scheduled', 'live', 'ended', 'withdrawn']).optional(),
  channel: ChannelCode.optional(),
});

export const ScheduleQuery = z.object({
  startNow: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'Accept a start closer than PROMOTIONS_LEAD_MS (channels may then start late)' }),
});

export const IfMatch = z.object({
  'if-match': z
    .string()
    .optional()
    .openapi({ description: 'The version the edit was made on (required): 412 version_mismatch when it moved on' }),
});

export const OverrideBody = z
  .object({
    excluded: z.boolean().optional().openapi({ description: 'exclusion: the promotion does not apply on this channel' }),
    reward: z.unknown().optional().openapi({ description: 'value: the channel’s reward (a pricing Reward)' }),
    startsAt: Instant.nullable().optional().openapi({ description: 'dates: the channel’s start' }),
    endsAt: Instant.nullable().optional().openapi({ description: 'dates: the channel’s end' }),
    until: Instant.nullable().optional().openapi({ description: 'When the override lapses (the global definition applies again)' }),
    reason: Text,
  })
  .openapi('OverrideBody');

export const ReasonHeader = z.object({
  'x-reason': z.string().max(500).optional().openapi({ description: 'Why the override is removed (kept in the evidence)' }),
});

export const QuoteBody = z
  .object({
    channel: ChannelCode.optional().openapi({ description: 'Staff only (channel apps quote for the channel they prove)' }),
    customerId: z.string().min(1).max(128).optional(),
    at: Instant.optional().openapi({ description: 'The instant priced (default now)' }),
    lines: z
      .array(
        z.object({
          sku: Sku,
          quantity: z.number().int().min(1).max(10_000),
          unitPriceMinor: z.number().int().min(0).max(1_000_000_000),
          category: z.string().min(1).max(64).optional(),
        }),
      )
      .min(1)
      .max(100),
    codes: z.array(z.string().trim().min(1).max(64)).max(10).default([]),
  })
  .openapi('QuoteBody');
