/**
 * The wire format of the PSP REST API the HTTP adapter speaks and the built-in test PSP serves
 * (README.md in this folder): request bodies, answers and webhook events, parsed with zod on both sides.
 */
import { z } from 'zod';
import type { PaymentState } from './port';

/** The header carrying a webhook's signature: `t=<unix ms>,v1=<hex HMAC-SHA256 of "<t>.<rawBody>">`. */
export const SIGNATURE_HEADER = 'psp-signature';

export const paymentStateSchema = z.enum([
  'pending',
  'authorised',
  'captured',
  'voided',
  'refunded',
  'failed',
]) satisfies z.ZodType<PaymentState>;

const amountMinor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** POST /payments/authorise */
export const authoriseBodySchema = z.object({
  paymentId: z.string().min(1).max(200),
  amountMinor,
  currency: z.string().regex(/^[A-Z]{3}$/),
  methodToken: z.string().min(1).max(200),
  reference: z.string().max(500),
});

/** POST /payments/:id/capture and /refund */
export const amountBodySchema = z.object({ amountMinor });

/** Every answer naming a payment's state: 200, 402 (declined) and 409 (the move is not allowed from its state). */
export const answerSchema = z.object({
  providerRef: z.string().min(1),
  state: paymentStateSchema,
  reason: z.string().min(1).nullable(),
});

/** A refusal without a payment state (400, 404): a machine-readable code and what to do. */
export const refusalSchema = z.object({ code: z.string().min(1), message: z.string().optional(), hint: z.string().optional() });

/** The body the PSP POSTs to the webhook URL after each state change. */
export const webhookEventSchema = z.object({
  eventId: z.string().min(1).max(200),
  paymentId: z.string().min(1).max(200),
  state: paymentStateSchema,
  amountMinor: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  occurredAt: z.number().int().positive(),
});
