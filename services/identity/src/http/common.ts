import type { Request, RequestHandler, Response } from 'express';
import {
  ErrorBody,
  ForbiddenError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
  channelHeaders,
  channelOf as provenChannel,
  requireAuth,
  requireChannel,
  type HttpApi,
  type Principal,
  type ResolvedChannel,
  type TokenVerifier,
  type TrustState,
} from '@omnimall/service-kit';
import type { StaffRole } from '@omnimall/contracts';
import type { IdentityContext, RequestMeta } from '../application/context';
import { standingView } from '../application/customers';
import type { Customer } from '../domain/customer';
import * as S from './schemas';

/** The kit's verifier (bound to the trust state) and the trust state (published channel credentials). */
export interface IdentityAuth {
  verifier: TokenVerifier;
  trust: TrustState;
}

/** What every resource's route builder gets: the API to add to, the use cases' context and the auth guards. */
export interface Routes {
  api: HttpApi;
  ctx: IdentityContext;
  auth: IdentityAuth;
  /**
   * Verifies the bearer token (rule: kind, roles), refuses tokens of sessions closed since, and
   * resolves the request's channel (the kit's requireChannel: a customer token's own channel, an
   * x-channel-code naming another is 403 channel_mismatch; a staff token's x-channel-code).
   */
  authed(rule?: Parameters<typeof requireAuth>[1]): RequestHandler[];
  /** A channel app's call: x-channel-code + x-channel-key (see `channelKey`). */
  channelApp(rule?: { optional?: boolean }): RequestHandler[];
}

/**
 * The channel app's credential, x-channel-code + x-channel-key, checked against the credentials the
 * channels service published (the kit's `trust.channelOfKey`: 401 channel_key_invalid / _revoked /
 * channel_retired, 403 channel_mismatch); the channel lands in res.locals.channel as the kit's
 * requireChannel puts it (via `channel_key`). Only the key counts: these calls (register, login,
 * refresh, reset requests, devices) authenticate the app, not a user, so a bearer or device token
 * the client sends along neither stands in for the key nor blocks the call (an expired access token
 * sent with a refresh is common). Missing: 401 channel_credentials_missing, unless `optional`.
 */
export function channelKey(trust: TrustState, rule: { optional?: boolean } = {}): RequestHandler {
  return (req, res, next) => {
    try {
      const code = req.header('x-channel-code') || undefined;
      const key = req.header('x-channel-key') || undefined;
      if (key && code) {
        const channel: ResolvedChannel = { code: trust.channelOfKey(validCode(code), key), via: 'channel_key' };
        res.locals.channel = channel;
      } else if (key || !rule.optional) throw credentialsMissing();
      next();
    } catch (err) {
      next(err);
    }
  };
}

export const credentialsMissing = (): UnauthorizedError =>
  new UnauthorizedError(
    'channel_credentials_missing',
    'this is a channel app call: the channel credential is missing',
    'send x-channel-code and x-channel-key (the API key the channels service issued to the channel app)',
  );

/** The channel a channel app's key proved (channelKey ran), or null. */
export function keyChannel(res: Response): string | null {
  const c = res.locals.channel as ResolvedChannel | undefined;
  return c?.via === 'channel_key' ? c.code : null;
}

/**
 * A customer token names the channel its session was opened on; one that names none (issued before
 * sessions were bound to channels) cannot prove where the request comes from, so the residency rule
 * could not be applied: refused, the customer logs in again through the channel app.
 */
export const boundCustomer: RequestHandler = (_req, res, next) => {
  const p = res.locals.principal as Principal | undefined;
  if (p?.kind === 'customer' && !provenChannel(res))
    return next(new UnauthorizedError('token_unbound', 'this token is bound to no channel', 'log in again through the channel app'));
  next();
};

/** The guards of identity's routes (see Routes); `openSession` refuses tokens of sessions closed since they were signed. */
export function guards(auth: IdentityAuth, openSession: RequestHandler): Pick<Routes, 'authed' | 'channelApp'> {
  return {
    authed: (rule = {}) => [requireAuth(auth.verifier, rule), openSession, requireChannel(auth, { optional: true }), boundCustomer],
    channelApp: (rule = {}) => [channelKey(auth.trust, rule)],
  };
}

/** The channel headers of a channel app's call, for a route spec. */
export const ChannelAppHeaders = channelHeaders.pick({ 'x-channel-code': true, 'x-channel-key': true });

export const tags = {
  auth: ['auth'],
  staff: ['staff'],
  customers: ['customers'],
  admin: ['admin'],
  compliance: ['compliance'],
  keys: ['keys'],
  devices: ['devices'],
};

/** OpenAPI entries for the error statuses a route answers with (kit error body: code, message, hint). */
export const errors = (codes: number[], what = 'see code and hint') =>
  Object.fromEntries(codes.map((c) => [c, { description: what, schema: ErrorBody }]));

/**
 * The channel the request acts for: the one the route's guards proved (a customer token's own
 * channel, a staff token's x-channel-code, a channel app's key), else, on routes without such a
 * guard (staff login), the x-channel-code header, validated. A customer's request is never read from
 * the header alone: `authed` resolved it from the token.
 */
export function channelOf(req: Request): string | null {
  const proven = req.res ? provenChannel(req.res) : undefined;
  if (proven) return proven;
  const raw = req.header('x-channel-code');
  return raw === undefined || raw === '' ? null : validCode(raw);
}

/** A channel code from a header, or 400 channel_code_invalid (the kit's code for it). */
function validCode(raw: string): string {
  const r = S.ChannelCode.safeParse(raw);
  if (!r.success)
    throw new ValidationError(
      'channel_code_invalid',
      `x-channel-code "${raw.slice(0, 64)}" is not a channel code`,
      'send a lowercase channel code such as web or app-ios',
    );
  return r.data;
}

export const correlationOf = (res: Response): string => String(res.locals.correlationId);

export function meta(req: Request, res: Response): RequestMeta {
  return { channel: channelOf(req), address: req.ip ?? null, correlationId: correlationOf(res) };
}

/** Sets Retry-After on a lock-out before the kit's error handler writes the 429. */
export async function withRetryAfter<T>(res: Response, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TooManyRequestsError)
      res.setHeader('Retry-After', String((err.details as { retryAfterSeconds: number }).retryAfterSeconds));
    throw err;
  }
}

/** The customer themself, or staff holding one of `roles` (admins always). */
export function assertSelfOrStaff(p: Principal, customerId: string, roles: StaffRole[]): void {
  if (p.kind === 'customer' && p.sub === customerId) return;
  if (p.kind === 'staff' && (p.roles.includes('admin') || roles.some((r) => p.roles.includes(r)))) return;
  throw new ForbiddenError(
    'not_allowed_for_customer',
    'you may not act on this customer',
    p.kind === 'customer' ? 'act on your own profile only' : `this needs one of the roles: admin, ${roles.join(', ')}`,
  );
}

export const standingReply = (c: Customer) => ({ body: { customerId: c._id, ...standingView(c) } });
