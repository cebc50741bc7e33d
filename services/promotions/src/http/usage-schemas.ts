// The kit extends zod with .openapi(); this import brings that augmentation's types into this project.
import '@asteasolutions/zod-to-openapi';
import { z } from '@omnimall/service-kit';

/** The zod schemas of the usage and loyalty routes (codes, campaigns, holds, ledgers, earn rules, tiers). */
const Key = z.string().regex(/^[A-Za-z0-9_:@-]{1,120}$/);
const Count = z.number().int().min(1).max(1_000_000_000_000);
const Text = z.string().trim().min(1).max(200);
export const Json = z.record(z.string(), z.unknown()).openapi('UsageObject');
export const JsonList = z.array(Json);

export const IdempotencyKey = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .openapi({ description: 'Required: the same key with the same body repeats the first answer; with another body it is refused (422)' }),
});

export const CodeParams = z.object({ code: z.string().min(1).max(60) });
export const PromotionParams = z.object({ id: Key });
export const IdParams = z.object({ id: Key });

export const CodeLimits = z.object({
  total: Count.nullable().default(null),
  perCustomer: Count.nullable().default(null),
  singleUse: z.boolean().default(false),
});
export const CodesBody = z
  .object({
    codes: z.array(z.string().min(1).max(60)).min(1).max(1000).optional(),
    generate: z
      .object({
        count: z.number().int().min(1).max(1000),
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]{0,20}$/)
          .default(''),
      })
      .optional(),
    limits: CodeLimits.default({ total: null, perCustomer: null, singleUse: false }),
  })
  .refine((b) => !!b.codes !== !!b.generate, { message: 'send either codes or generate' });
export const CodePatch = z.object({ active: z.boolean() });

export const CampaignBody = z.object({
  id: Key.optional(),
  name: Text,
  budget: z.object({ kind: z.enum(['count', 'amount']), total: Count, perCustomer: Count.nullable().default(null) }),
});

const CampaignUse = z.object({ campaignId: Key, amountMinor: z.number().int().min(0).max(1e12).default(0) });
export const HoldBody = z.object({
  codes: z.array(z.string().min(1).max(60)).max(20).default([]),
  campaigns: z.array(CampaignUse).max(20).default([]),
  points: z.number().int().min(0).max(1e12).default(0),
  ttlSeconds: z.number().int().min(1).optional(),
  /** Staff only: whose usage, on which channel, for what. */
  customerId: Key.optional(),
  channel: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
    .optional(),
  reference: z.string().min(1).max(200).optional(),
});
export const HoldParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_:@-]{1,120}$/) });

export const EarnRulesBody = z.object({
  pointsPerUnit: z.number().min(0).max(10_000),
  minorPerUnit: z.number().int().min(1).max(1_000_000).default(100),
  channelMultipliers: z.record(z.string(), z.number().min(0).max(100)).default({}),
  promotionBonus: z.record(z.string(), z.number().int().min(0).max(1_000_000)).default({}),
});
export const TiersBody = z.object({
  tiers: z
    .array(z.object({ name: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/), threshold: z.number().int().min(0) }))
    .min(1)
    .max(20),
  periodDays: z.number().int().min(1).max(3660),
  downgrade: z.enum(['one_step', 'to_qualified']),
});
export const AdjustmentBody = z.object({
  points: z
    .number()
    .int()
    .min(-1e9)
    .max(1e9)
    .refine((n) => n !== 0, 'not 0'),
  reason: Text,
});
