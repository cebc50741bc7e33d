import { UnauthorizedError, ValidationError, type Principal, type RouteSpec, type Validated } from '@omnimall/service-kit';
import { decodeJwt } from 'jose';
import { deviceCartId } from '../domain/cart';
import { tokenInQuery } from '../domain/streams';
import type { CartOwner, CartView } from '../application/carts';

/** What every cart route reads from a request: whose cart, on which channel, at which version. */

// Express types as the kit's HttpApi sees them.
export type Request = Validated<unknown, unknown, unknown>['req'];
export type Response = Validated<unknown, unknown, unknown>['res'];
export type RequestHandler = NonNullable<RouteSpec<unknown, unknown, unknown>['before']>[number];

const CODE_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const DEVICE_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The customer of the bearer token, else the anonymous device of x-device-id. */
export function ownerOf(req: Request, res: Response): CartOwner {
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

export function channelOf(req: Request, required: true): string;
export function channelOf(req: Request, required: false): string | null;
export function channelOf(req: Request, required: boolean): string | null {
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
export function ifMatchOf(req: Request): number | undefined {
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

export const etag = (v: CartView): Record<string, string> => ({ ETag: `"${v.version}"` });

/**
 * Access tokens never travel in a URL (logs, proxies and browser history keep URLs): a request
 * carrying ?access_token= is refused, pointing at stream tickets (EventSource clients' way in).
 */
export const refuseTokenInQuery: RequestHandler = (req, _res, next) => {
  next(req.query.access_token === undefined ? undefined : tokenInQuery());
};

/**
 * When the bearer token of this request expires (epoch millis), or null without a token (a device
 * cart). Read after requireAuth verified the token, so its payload is trusted as it stands.
 */
export function tokenExpiryOf(req: Request, res: Response): number | null {
  if (!res.locals.principal) return null;
  const token = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
  const exp = token ? decodeJwt(token).exp : undefined;
  return typeof exp === 'number' ? exp * 1000 : null;
}
