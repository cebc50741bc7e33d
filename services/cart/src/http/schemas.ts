import type {} from '@asteasolutions/zod-to-openapi'; // brings zod's .openapi() typings
import { z } from '@omnimall/service-kit';
import { MAX_LINE_QUANTITY } from '../domain/cart';

/** The zod schemas the cart routes validate with; /openapi.json is built from them. */

export const Sku = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (at most 64)')
  .openapi({ example: 'SKU-123' });

const PricedLine = z
  .object({
    sku: z.string(),
    quantity: z.number().int(),
    channel: z.string().openapi({ description: 'Channel the line was added on' }),
    addedAt: z.string().openapi({ format: 'date-time' }),
    available: z.boolean().openapi({ description: 'Whether the viewing channel sells this line now' }),
    reason: z.enum(['not_listed_on_channel', 'withdrawn_on_channel', 'barred_in_region', 'no_price_on_channel']).nullable(),
    title: z.string().nullable(),
    unitPriceMinor: z.number().int().nullable().openapi({ description: 'Price in the currency minor units' }),
    currency: z.string().nullable(),
    lineTotalMinor: z.number().int().nullable(),
  })
  .openapi('CartLineView');

const CartViewSchema = z
  .object({
    cartId: z.string().openapi({ description: 'Customer id, or device:<deviceId> for an anonymous cart' }),
    customerId: z.string().nullable(),
    version: z.number().int().openapi({ description: 'Also sent as the ETag' }),
    channel: z.string().nullable().openapi({ description: 'Channel the cart was priced for (x-channel-code), null when none was named' }),
    lines: z.array(PricedLine),
    wishlist: z.array(z.string()),
    totals: z.array(z.object({ currency: z.string(), subtotalMinor: z.number().int(), units: z.number().int() })),
    unavailableLines: z.number().int(),
  })
  .openapi('CartView');

export const Headers = z.object({
  'x-channel-code': z.string().optional().openapi({ description: 'Channel the request is made on (required for changes)' }),
  'x-device-id': z.string().optional().openapi({ description: 'Anonymous device cart, used when no bearer token is sent' }),
  'if-match': z.string().optional().openapi({ description: 'ETag of the cart version the change is based on' }),
});

export const cartResponses = { 200: { description: 'The cart, priced for the channel; ETag carries its version', schema: CartViewSchema } };

export const skuParams = z.object({ sku: Sku });
export const addBody = z.object({ sku: Sku, quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY).default(1) });
export const setBody = z.object({ quantity: z.number().int().min(0).max(MAX_LINE_QUANTITY) });
export const streamQuery = z.object({
  ticket: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a ticket from POST /cart/stream-tickets')
    .optional()
    .openapi({ description: 'A single-use stream ticket (POST /cart/stream-tickets), for EventSource clients, which cannot send headers' }),
});

export const StreamHeaders = Headers.pick({ 'x-channel-code': true, 'x-device-id': true });

export const StreamTicketSchema = z
  .object({
    ticket: z.string().openapi({ description: 'Opaque, 256 random bits; open GET /cart/stream?ticket=<ticket> with it, once' }),
    expiresAt: z.string().openapi({ format: 'date-time', description: 'Refused after this (30 s, never past the access token)' }),
    cartId: z.string(),
    channel: z.string().nullable().openapi({ description: 'The channel the stream will be on (x-channel-code of this request)' }),
  })
  .openapi('StreamTicket');
