import type {} from '@asteasolutions/zod-to-openapi'; // brings zod's .openapi() typings
import { channelHeaders, ErrorBody, z } from '@omnimall/service-kit';
import { MAX_LINE_QUANTITY } from '../domain/cart';

/** The zod schemas the cart routes validate with; /openapi.json is built from them. */

export const Sku = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (at most 64)')
  .openapi({ example: 'SKU-123' });

const Offer = z
  .object({
    promotionId: z.string(),
    name: z.string(),
    code: z.string().nullable().openapi({ description: 'The code that unlocked it (codes are not entered on the cart yet)' }),
    amountMinor: z.number().int().openapi({ description: 'Taken off the line, in minor units' }),
  })
  .openapi('CartOffer');

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
    stock: z
      .object({
        available: z.number().int().openapi({ description: 'Units the channel may sell now' }),
        state: z.enum(['in_stock', 'low_stock', 'out_of_stock', 'backorder']),
      })
      .optional()
      .openapi({ description: 'Stock of the SKU on the channel the line was added on (inventory); absent while unknown' }),
    outOfStock: z.boolean().openapi({ description: 'The channel the line was added on has the SKU out of stock (the line stays priced)' }),
    offers: z
      .array(Offer)
      .openapi({ description: 'The promotions lowering this line’s price now, on the viewing channel (empty when none or unavailable)' }),
    discountedTotalMinor: z.number().int().nullable().openapi({ description: 'The line total after its offers; null when not priced' }),
  })
  .openapi('CartLineView');

const CartViewSchema = z
  .object({
    cartId: z.string().openapi({ description: 'Customer id, or device:<deviceId> for an anonymous cart' }),
    customerId: z.string().nullable(),
    version: z.number().int().openapi({ description: 'Also sent as the ETag' }),
    channel: z
      .string()
      .nullable()
      .openapi({ description: 'Channel the cart was priced for (the one the credentials prove), null when they prove none' }),
    lines: z.array(PricedLine),
    wishlist: z.array(z.string()),
    totals: z.array(
      z.object({
        currency: z.string(),
        subtotalMinor: z.number().int(),
        units: z.number().int(),
        discountMinor: z.number().int().openapi({ description: 'What the promotions take off the subtotal' }),
        totalMinor: z.number().int().openapi({ description: 'subtotalMinor − discountMinor' }),
      }),
    ),
    unavailableLines: z.number().int(),
    gifts: z.array(z.object({ sku: z.string(), promotionId: z.string() })).openapi({ description: 'Free gifts the promotions add' }),
    notApplied: z
      .array(
        z.object({
          promotionId: z.string(),
          reason: z.string().openapi({ description: 'not_started, ended, other_channel, condition_false, code_missing, stopped_by, ...' }),
          detail: z.string().optional(),
        }),
      )
      .openapi({ description: 'The channel’s promotions that do not apply now, with the first reason (for support)' }),
    pricedAt: z
      .string()
      .nullable()
      .openapi({ format: 'date-time', description: 'The instant the promotions were evaluated for; null when not priced (no channel)' }),
    loyalty: z
      .object({ balance: z.number().int(), tier: z.string() })
      .nullable()
      .openapi({ description: 'The customer’s loyalty points and tier (promotions’ ledger); null for a device or before any entry' }),
    notice: z
      .object({
        code: z.literal('channel_not_active'),
        message: z.string(),
        hint: z.string(),
        state: z.string(),
        expectedBackAt: z.string().nullable().openapi({ format: 'date-time' }),
      })
      .optional()
      .openapi({
        description:
          'Present while the channel is in maintenance: the cart is read as kept, but changes and checkout are refused (409 channel_not_active) until expectedBackAt',
      }),
  })
  .openapi('CartView');

/**
 * The kit's channel headers (x-channel-code, x-channel-key, x-device-token): the cart is the customer
 * token's, or the device token's when no bearer token is sent; the channel is the one they prove.
 */
export const Headers = channelHeaders.extend({
  'if-match': z.string().optional().openapi({ description: 'ETag of the cart version the change is based on' }),
});

const refusal = (description: string) => ({ description, schema: ErrorBody });

/** The refusals of the caller checks every cart route runs (request.ts `cartCaller`) and of the customer gate. */
export const callerResponses = {
  400: refusal('device_token_required (x-device-id is refused: send x-device-token), channel_code_invalid, validation_failed'),
  401: refusal(
    'channel_credentials_missing, token_missing (neither a customer token nor a device token), token_invalid, token_revoked, device_token_invalid, channel_key_invalid, channel_key_revoked, channel_retired',
  ),
  403: refusal(
    'channel_mismatch (x-channel-code names another channel than the token’s), wrong_account_kind (staff have no cart), customer_banned, customer_suspended (details.until), customer_erased, data_region_not_allowed',
  ),
  404: refusal('channel_not_found: the channel is not known to the cart (details.channel)'),
  409: refusal(
    'channel_not_active (state, expectedBackAt; a read and a stream pass a channel in maintenance, a change does not), channel_blocked (blockReasons)',
  ),
};

export const cartResponses = {
  200: {
    description:
      'The cart, priced for the channel; ETag carries its version. Also answered while the channel is in maintenance (with `notice`): only changes are refused then',
    schema: CartViewSchema,
  },
};

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

export const StreamHeaders = channelHeaders;

export const StreamTicketSchema = z
  .object({
    ticket: z.string().openapi({ description: 'Opaque, 256 random bits; open GET /cart/stream?ticket=<ticket> with it, once' }),
    expiresAt: z.string().openapi({ format: 'date-time', description: 'Refused after this (30 s, never past the access token)' }),
    cartId: z.string(),
    channel: z.string().nullable().openapi({ description: 'The channel the stream will be on (proven by this request’s credentials)' }),
  })
  .openapi('StreamTicket');
