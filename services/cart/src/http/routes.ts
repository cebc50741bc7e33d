import type {} from '@asteasolutions/zod-to-openapi'; // brings zod's .openapi() typings
import {
  HttpApi,
  requireAuth,
  UnauthorizedError,
  ValidationError,
  z,
  type Principal,
  type RouteSpec,
  type TokenVerifier,
  type Validated,
} from '@omnimall/service-kit';
import { deviceCartId, MAX_LINE_QUANTITY, type CartCommand } from '../domain/cart';
import type { CartOwner, CartService, CartView } from '../cart-service';
import type { SessionHub } from '../push/session-hub';

// Express types as the kit's HttpApi sees them.
type Request = Validated<unknown, unknown, unknown>['req'];
type Response = Validated<unknown, unknown, unknown>['res'];
type RequestHandler = NonNullable<RouteSpec<unknown, unknown, unknown>['before']>[number];

const Sku = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (at most 64)')
  .openapi({ example: 'SKU-123' });
const CODE_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const DEVICE_RE = /^[A-Za-z0-9._:-]{1,128}$/;

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

const Headers = z.object({
  'x-channel-code': z.string().optional().openapi({ description: 'Channel the request is made on (required for changes)' }),
  'x-device-id': z.string().optional().openapi({ description: 'Anonymous device cart, used when no bearer token is sent' }),
  'if-match': z.string().optional().openapi({ description: 'ETag of the cart version the change is based on' }),
});

const cartResponses = { 200: { description: 'The cart, priced for the channel; ETag carries its version', schema: CartViewSchema } };

function ownerOf(req: Request, res: Response): CartOwner {
  const p = res.locals.principal as Principal | undefined;
  if (p) return { cartId: p.sub, customerId: p.sub };
  const device = req.header('x-device-id');
  if (device !== undefined) {
    if (!DEVICE_RE.test(device))
      throw new ValidationError('device_id_invalid', 'x-device-id is malformed', 'send 1-128 letters, digits or . _ : -');
    return { cartId: deviceCartId(device), customerId: null };
  }
  throw new UnauthorizedError(
    'token_missing',
    'this route needs a bearer token or a device id',
    'log in and send Authorization: Bearer <accessToken>, or send x-device-id for an anonymous cart',
  );
}

function channelOf(req: Request, required: true): string;
function channelOf(req: Request, required: false): string | null;
function channelOf(req: Request, required: boolean): string | null {
  const code = req.header('x-channel-code');
  if (code === undefined || code === '') {
    if (required)
      throw new ValidationError(
        'channel_missing',
        'changes to a cart are made on a channel',
        'send the channel code in the x-channel-code header',
      );
    return null;
  }
  if (!CODE_RE.test(code))
    throw new ValidationError('channel_code_invalid', 'x-channel-code is malformed', 'send a lower-case channel code such as web-eu');
  return code;
}

/** `If-Match: "7"`, `W/"7"` or `7`; `*` (any version) or no header means unconditional. */
function ifMatchOf(req: Request): number | undefined {
  const raw = req.header('if-match')?.trim();
  if (!raw || raw === '*') return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(raw);
  if (!m)
    throw new ValidationError(
      'if_match_invalid',
      'If-Match must be the ETag of a cart version',
      'send the ETag header of the last cart you read, e.g. If-Match: "3"',
    );
  return Number(m[1]);
}

const etag = (v: CartView): Record<string, string> => ({ ETag: `"${v.version}"` });

/** EventSource cannot send headers: the stream also takes the token as ?access_token=. */
const tokenFromQuery: RequestHandler = (req, _res, next) => {
  const t = req.query.access_token;
  if (!req.headers.authorization && typeof t === 'string' && t) req.headers.authorization = `Bearer ${t}`;
  next();
};

export function cartApi(carts: CartService, hub: SessionHub, verifier: TokenVerifier): HttpApi {
  const auth = requireAuth(verifier, { kind: 'customer', optional: true });
  const api = new HttpApi({
    title: 'omnimall cart',
    version: '1.0.0',
    description:
      'One global cart and wishlist per customer (bearer token) or per anonymous device (x-device-id). Changes are made on a channel (x-channel-code) and versioned (ETag / If-Match); GET /cart/stream pushes every change to every open session.',
  });
  /** A change route: the command comes from the validated body and path, on the request's channel. */
  const change = <B, P>(
    summary: string,
    method: 'post' | 'put' | 'delete',
    path: string,
    spec: { body?: z.ZodType<B>; params?: z.ZodType<P> },
    toCmd: (input: { body: B; params: P; channel: string; at: number }) => CartCommand,
  ) =>
    api.route<B, P>({
      method,
      path,
      summary,
      tags: ['cart'],
      auth: true,
      headers: Headers,
      body: spec.body,
      params: spec.params,
      responses: {
        ...cartResponses,
        401: { description: 'No token and no device id' },
        403: { description: 'customer_banned, customer_suspended, customer_erased, data_region_not_allowed' },
        409: { description: 'channel_unknown, channel_not_active (state, expectedBackAt), channel_blocked (blockReasons)' },
        412: { description: 'cart_version_mismatch: If-Match is not the current version' },
        422: { description: 'item_not_sold_on_channel, line_quantity_cap, cart_full, wishlist_full' },
        451: { description: 'item_barred_in_region' },
      },
      before: [auth],
      handler: async ({ body, params, req, res }) => {
        const channel = channelOf(req, true);
        const view = await carts.change(ownerOf(req, res), channel, toCmd({ body, params, channel, at: Date.now() }), {
          ifMatch: ifMatchOf(req),
          correlationId: res.locals.correlationId as string,
        });
        return { headers: etag(view), body: view };
      },
    });

  api.route({
    method: 'get',
    path: '/cart',
    summary: 'The cart and wishlist, each line priced and checked for the channel named in x-channel-code',
    tags: ['cart'],
    auth: true,
    headers: Headers,
    responses: cartResponses,
    before: [auth],
    handler: async ({ req, res }) => {
      const view = await carts.view(ownerOf(req, res), channelOf(req, false));
      return { headers: etag(view), body: view };
    },
  });

  api.route({
    method: 'get',
    path: '/cart/stream',
    summary: 'Server-Sent Events: `ready` once, then `cart-changed` (id = cart version) for every change made on any channel',
    tags: ['cart'],
    auth: true,
    headers: Headers,
    query: z.object({ access_token: z.string().optional().openapi({ description: 'For EventSource clients, which cannot send headers' }) }),
    responses: { 200: { description: 'An event stream', contentType: 'text/event-stream', schema: z.string() } },
    before: [tokenFromQuery, auth],
    handler: async ({ req, res }) => {
      const owner = ownerOf(req, res);
      const channel = channelOf(req, false);
      const version = await carts.currentVersion(owner, channel);
      hub.open(owner.cartId, channel, version, res);
      return undefined;
    },
  });

  const skuParams = z.object({ sku: Sku });
  const addBody = z.object({ sku: Sku, quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY).default(1) });
  const setBody = z.object({ quantity: z.number().int().min(0).max(MAX_LINE_QUANTITY) });
  change('Add units of an item (summed with a line already there)', 'post', '/cart/lines', { body: addBody }, ({ body, channel, at }) => ({
    kind: 'add',
    ...body,
    channel,
    at,
  }));
  change(
    'Set the quantity of a line (0 removes it)',
    'put',
    '/cart/lines/:sku',
    { params: skuParams, body: setBody },
    ({ body, params, channel, at }) => ({
      kind: 'set',
      sku: params.sku,
      quantity: body.quantity,
      channel,
      at,
    }),
  );
  change('Remove a line', 'delete', '/cart/lines/:sku', { params: skuParams }, ({ params }) => ({ kind: 'remove', sku: params.sku }));
  change('Empty the cart and the wishlist', 'delete', '/cart', {}, () => ({ kind: 'clear' }));
  change('Add an item to the wishlist', 'put', '/cart/wishlist/:sku', { params: skuParams }, ({ params }) => ({
    kind: 'wish',
    sku: params.sku,
  }));
  change('Remove an item from the wishlist', 'delete', '/cart/wishlist/:sku', { params: skuParams }, ({ params }) => ({
    kind: 'unwish',
    sku: params.sku,
  }));
  return api;
}
