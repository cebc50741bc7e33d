/**
 * Which channel a request acts for, proven rather than claimed: `requireChannel` resolves it from
 * the caller's credentials and puts `{ code, via }` into `res.locals.channel` (`channelOf(res)`).
 *
 * Rules, in order (the first that applies decides):
 *  1. a bearer customer token: its `channel` claim (bound by identity at login); an `x-channel-code`
 *     naming another channel → 403 `channel_mismatch`;
 *  2. a bearer staff token: `x-channel-code` (staff are not bound to a channel; routes check scope);
 *  3. no bearer, `x-device-token`: the device token's channel (header mismatch → 403 `channel_mismatch`);
 *  4. no bearer, `x-channel-key` + `x-channel-code`: the key checked against the published credentials;
 *  5. none of these → 401 `channel_credentials_missing`, unless `optional`.
 * A credential that is present but bad is always refused (401), `optional` or not: a bad credential
 * is never read as no credential. A bearer token verified here lands in `res.locals.principal` too.
 * `channelHeaders` and `channelResponses` document all of it in a route spec.
 *
 * A channel that is named (x-channel-code, a path's :code, a token's claim) but that the service does
 * not know is answered the same way by every service: 404 `channel_not_found` with details.channel
 * and a hint (`channelNotFound`, documented by `channelNotFoundResponse`). A service that has not
 * received a new channel's registration yet answers the same (the hint says so): to the caller, a
 * channel this service cannot act for does not exist here.
 */
import type { RequestHandler, Response } from 'express';
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../errors';
import { tokenRefusal } from '../auth/middleware';
import type { Principal, TokenVerifier } from '../auth/tokens';
import type { TrustState } from '../auth/trust';
import { ErrorBody, z } from './api';

/** How the channel was proven. */
export type ChannelVia = 'customer_token' | 'staff_token' | 'device_token' | 'channel_key';

export interface ResolvedChannel {
  code: string;
  via: ChannelVia;
}

export interface ChannelRule {
  /** Let a request that proves no channel through (channelOf is then undefined). */
  optional?: boolean;
}

/** A channel code as headers carry it (bounded, so nothing unbounded reaches a log or a query). */
const CHANNEL_CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The headers `requireChannel` reads, for a route spec's `headers` (merge with `.extend` for more). */
export const channelHeaders = z.object({
  'x-channel-code': z.string().regex(CHANNEL_CODE).optional().openapi({
    description: 'The channel the request acts for (with x-channel-key, a staff token, or to confirm a token bound to a channel)',
    example: 'web',
  }),
  'x-channel-key': z.string().max(512).optional().openapi({ description: "The channel app's API key (with x-channel-code)" }),
  'x-device-token': z.string().max(4096).optional().openapi({ description: 'A device token identity issued to a device of the channel' }),
});

/** The responses `requireChannel` may give, to spread into a route spec's `responses`. */
export const channelResponses = {
  401: {
    description:
      'No channel credentials (channel_credentials_missing), or bad ones: channel_key_invalid, channel_key_revoked, channel_retired, device_token_invalid, token_invalid, token_revoked',
    schema: ErrorBody,
  },
  403: { description: 'The credentials belong to another channel than x-channel-code (channel_mismatch)', schema: ErrorBody },
};

/** The one answer of every service to a channel it does not know (see the header); `where` names the service. */
export function channelNotFound(code: string, where = 'this service'): NotFoundError {
  return new NotFoundError(
    'channel_not_found',
    `there is no channel ${code} known to ${where}`,
    'check the channel code (GET /channels on the channels service lists them); a channel registered moments ago is known everywhere once its registration event has arrived, so retry shortly',
    { channel: code },
  );
}

/** The 404 of a route that names a channel, to spread into a route spec's `responses`. */
export const channelNotFoundResponse = {
  404: { description: 'channel_not_found: no such channel is known here (details.channel)', schema: ErrorBody },
};

const missing = (): UnauthorizedError =>
  new UnauthorizedError(
    'channel_credentials_missing',
    'this route needs to know the channel the request acts for',
    'send x-channel-code + x-channel-key (the channel app API key), x-device-token, or a bearer token from a login on the channel',
  );

const mismatch = (header: string, proven: string, what: string): ForbiddenError =>
  new ForbiddenError(
    'channel_mismatch',
    `x-channel-code ${header} is not the channel of the ${what} (${proven})`,
    `send x-channel-code ${proven} or none`,
    {
      channel: proven,
    },
  );

function header(req: Parameters<RequestHandler>[0], name: string): string | undefined {
  const v = req.header(name);
  return v === undefined || v === '' ? undefined : v;
}

/** Resolves the request's channel (rules above) into res.locals.channel; see channelOf. */
export function requireChannel(auth: { verifier: TokenVerifier; trust: TrustState }, rule: ChannelRule = {}): RequestHandler {
  const resolve = async (req: Parameters<RequestHandler>[0], res: Response): Promise<ResolvedChannel | undefined> => {
    const code = header(req, 'x-channel-code');
    if (code !== undefined && !CHANNEL_CODE.test(code))
      throw new ValidationError('channel_code_invalid', 'x-channel-code is not a channel code', 'send the channel code, e.g. web');
    const bearer = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '');
    if (bearer) {
      let principal = res.locals.principal as Principal | undefined;
      if (!principal) {
        principal = await auth.verifier.verify(bearer[1]).catch((err: unknown) => {
          throw tokenRefusal(err);
        });
        res.locals.principal = principal;
      }
      if (principal.kind === 'staff') return code === undefined ? undefined : { code, via: 'staff_token' };
      if (principal.channel !== null) {
        if (code !== undefined && code !== principal.channel) throw mismatch(code, principal.channel, 'token');
        return { code: principal.channel, via: 'customer_token' };
      }
      // a customer token bound to no channel proves none: the device token or key below may
    }
    const deviceToken = header(req, 'x-device-token');
    if (!bearer && deviceToken !== undefined) {
      const device = await auth.verifier.verifyDevice(deviceToken).catch((err: unknown) => {
        throw new UnauthorizedError(
          'device_token_invalid',
          `the device token was refused: ${(err as Error).message}`,
          'register the device again',
        );
      });
      if (code !== undefined && code !== device.channel) throw mismatch(code, device.channel, 'device token');
      return { code: device.channel, via: 'device_token' };
    }
    const apiKey = header(req, 'x-channel-key');
    if (apiKey !== undefined) {
      if (code === undefined) throw missing();
      return { code: auth.trust.channelOfKey(code, apiKey), via: 'channel_key' };
    }
    return undefined;
  };
  return (req, res, next) => {
    resolve(req, res)
      .then((channel) => {
        if (!channel && !rule.optional) throw missing();
        if (channel) res.locals.channel = channel;
        next();
      })
      .catch(next);
  };
}

/** The channel requireChannel resolved (undefined when optional and none was proven). */
export function channelOf(res: Response): string | undefined {
  return (res.locals.channel as ResolvedChannel | undefined)?.code;
}
