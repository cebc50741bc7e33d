import {
  channelOf as provenChannel,
  requireAuth,
  requireChannel,
  UnauthorizedError,
  ValidationError,
  type Principal,
  type RouteSpec,
  type TokenVerifier,
  type TrustState,
  type Validated,
} from '@omnimall/service-kit';
import { decodeJwt } from 'jose';
import { deviceCartId } from '../domain/cart';
import { refusalRecorded } from '../domain/trading';
import { tokenInQuery } from '../domain/streams';
import type { CartOwner, CartView } from '../application/carts';

/**
 * Who a cart request is from, on which channel, at which version: proven by credentials, never by a
 * header alone.
 *
 * - Owner: the customer of a bearer **customer** token (staff have no cart: 403 wrong_account_kind),
 *   else the anonymous device of an `x-device-token` identity signed (kit `verifyDevice`). A bare
 *   `x-device-id` names a cart anyone could guess: it is refused (400 device_token_required).
 * - Channel: the kit's `requireChannel`: a customer token's `channel` claim (bound at login), a device
 *   token's channel; an `x-channel-code` naming another channel is 403 channel_mismatch, and nothing
 *   proving a channel is 401 channel_credentials_missing. A change always needs the channel; a read
 *   (GET /cart, streams, tickets) is unpriced when the credentials prove none and no x-channel-code is
 *   sent. One customer logged in on two channels holds two tokens, each bound to its channel, and
 *   reaches the same cart with both.
 */

// Express types as the kit's HttpApi sees them.
export type Request = Validated<unknown, unknown, unknown>['req'];
export type Response = Validated<unknown, unknown, unknown>['res'];
export type RequestHandler = NonNullable<RouteSpec<unknown, unknown, unknown>['before']>[number];

/** What the cart's routes check credentials with (the service's `auth`). */
export interface CartAuth {
  verifier: TokenVerifier;
  trust: TrustState;
}

/** A verified device token, as the routes need it. */
interface DeviceCaller {
  deviceId: string;
  /** The device token's exp (epoch millis), or null when it has none. */
  expiresAt: number | null;
}

const bearerOf = (req: Request): string | undefined => /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
const expiryOf = (token: string): number | null => {
  const exp = decodeJwt(token).exp;
  return typeof exp === 'number' ? exp * 1000 : null;
};

export const deviceTokenRequired = (): ValidationError =>
  new ValidationError(
    'device_token_required',
    'x-device-id is no longer accepted: an anonymous cart is reached with the device token identity issued',
    'get a device token from identity (POST /devices with the channel app credentials) and send it as x-device-token',
  );

const refuseDeviceId: RequestHandler = (req, _res, next) => {
  next(req.header('x-device-id') === undefined ? undefined : deviceTokenRequired());
};

/** Without a bearer token, a verified x-device-token lands in res.locals.device. */
function deviceCaller(verifier: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    const token = req.header('x-device-token');
    if (bearerOf(req) !== undefined || token === undefined || token === '') return next();
    verifier
      .verifyDevice(token)
      .then((d) => {
        res.locals.device = { deviceId: d.deviceId, expiresAt: expiryOf(token) } satisfies DeviceCaller;
        next();
      })
      .catch((err: unknown) =>
        next(
          new UnauthorizedError(
            'device_token_invalid',
            `the device token was refused: ${(err as Error).message}`,
            'register the device again',
          ),
        ),
      );
  };
}

/**
 * The checks of every cart route, in order: no x-device-id, the customer's token (if sent), the
 * device token (if sent, without a bearer), the channel (`channel: 'required'` for changes;
 * `'when-named'`: required once x-channel-code is sent, else optional).
 */
export function cartCaller(auth: CartAuth, channel: 'required' | 'when-named'): RequestHandler[] {
  const strict = requireChannel(auth);
  const lenient = requireChannel(auth, { optional: true });
  const check: RequestHandler =
    channel === 'required' ? strict : (req, res, next) => (req.header('x-channel-code') === undefined ? lenient : strict)(req, res, next);
  // a channel_mismatch (credentials of one channel used for another) is a policy refusal: recorded as evidence
  const channelCheck: RequestHandler = (req, res, next) =>
    check(req, res, (err?: unknown) => (err ? next(refusalRecorded(err, callerOf(res), req.header('x-channel-code') ?? null)) : next()));
  return [refuseDeviceId, requireAuth(auth.verifier, { kind: 'customer', optional: true }), deviceCaller(auth.verifier), channelCheck];
}

/** The caller as a refusal's subject, before the route resolved the owner (none yet: an empty cart id). */
function callerOf(res: Response): CartOwner {
  const p = res.locals.principal as Principal | undefined;
  if (p) return { cartId: p.sub, customerId: p.sub };
  const device = res.locals.device as DeviceCaller | undefined;
  return { cartId: device ? deviceCartId(device.deviceId) : '', customerId: null };
}

/** The customer of the bearer token, else the anonymous device of the device token. */
export function ownerOf(res: Response): CartOwner {
  const p = res.locals.principal as Principal | undefined;
  if (p) return { cartId: p.sub, customerId: p.sub };
  const device = res.locals.device as DeviceCaller | undefined;
  if (device) return { cartId: deviceCartId(device.deviceId), customerId: null };
  throw new UnauthorizedError(
    'token_missing',
    'a cart is reached with a customer token or a device token',
    'log in on the channel and send Authorization: Bearer <accessToken>, or send x-device-token for an anonymous cart',
  );
}

/** The channel the credentials proved, or null; `required` (after a `required` check) throws if there is none. */
export function channelOf(res: Response, required: true): string;
export function channelOf(res: Response, required?: false): string | null;
export function channelOf(res: Response, required = false): string | null {
  const code = provenChannel(res) ?? null;
  if (code === null && required)
    throw new UnauthorizedError(
      'channel_credentials_missing',
      'changes to a cart are made on the channel the credentials prove',
      'send a token from a login on the channel, or x-device-token',
    );
  return code;
}

/** The verified customer token's principal (its session), or null for a device. */
export function sessionOf(res: Response): Principal | null {
  return (res.locals.principal as Principal | undefined) ?? null;
}

/**
 * When the credential of this request expires (epoch millis): the bearer token's exp, else the
 * device token's; null when it has none. Read after the checks verified it, so its payload is trusted.
 */
export function credentialExpiryOf(req: Request, res: Response): number | null {
  if (res.locals.principal) {
    const token = bearerOf(req);
    return token ? expiryOf(token) : null;
  }
  return (res.locals.device as DeviceCaller | undefined)?.expiresAt ?? null;
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
