// The kit extends zod with .openapi(); this import brings that augmentation's types into this project.
import '@asteasolutions/zod-to-openapi';
import { z } from '@omnimall/service-kit';

/** The zod schemas of the orders routes (checkouts, orders, payment webhooks). */
export const Json = z.record(z.string(), z.unknown()).openapi('OrderObject');
export const JsonList = z.array(Json);

export const IdempotencyKey = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .openapi({
      description:
        'Required: the same key with the same body answers the first result; with another body 422; while the first is still running 409',
    }),
});

const Text = (max: number) => z.string().trim().min(1).max(max);

export const Address = z.object({
  name: Text(120),
  line1: Text(200),
  line2: z.string().trim().max(200).nullable().optional(),
  city: Text(100),
  postalCode: Text(20),
  country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code'),
});

export const CheckoutBody = z
  .object({
    cartVersion: z
      .number()
      .int()
      .min(0)
      .nullable()
      .default(null)
      .openapi({ description: 'The cart version the customer saw (recommended)' }),
    address: Address,
    shipping: z.string().regex(/^[a-z_]{1,30}$/),
    codes: z.array(z.string().trim().min(1).max(60)).max(10).default([]),
    points: z.number().int().min(0).max(100_000_000).default(0),
    paymentMethod: z.object({ token: z.string().regex(/^[A-Za-z0-9_:-]{1,200}$/) }),
  })
  .strict();

export const OrderParams = z.object({ id: z.string().regex(/^ord_[a-f0-9]{32}$/) });

export const OrderQuery = z.object({
  customerId: z.string().max(100).optional(),
  channel: z
    .string()
    .regex(/^[a-z0-9-]{2,40}$/)
    .optional(),
  state: z.enum(['pending', 'confirmed', 'cancelled', 'completed']).optional(),
  before: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .openapi({ description: 'Orders created before this instant (epoch ms): the next page' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const CancelBody = z.object({ reason: Text(200).default('cancelled on request') }).strict();

export const FulfilmentBody = z.object({ state: z.enum(['partially', 'fulfilled', 'returned']) }).strict();

export const WebhookBody = z.object({
  eventId: z.string().min(1).max(200),
  paymentId: z.string().min(1).max(200),
  state: z.enum(['pending', 'authorised', 'captured', 'voided', 'refunded', 'failed']),
  amountMinor: z.number().int(),
  occurredAt: z.number().int(),
});

export const WebhookHeaders = z.object({
  'psp-signature': z.string().max(500).optional().openapi({ description: 't=<epoch ms>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">' }),
});
