import type { Request, RequestHandler, Response } from 'express';
import {
  ErrorBody,
  ForbiddenError,
  TooManyRequestsError,
  ValidationError,
  requireAuth,
  type HttpApi,
  type Principal,
} from '@omnimall/service-kit';
import type { StaffRole } from '@omnimall/contracts';
import type { IdentityContext, RequestMeta } from '../application/context';
import { standingView } from '../application/customers';
import type { Customer } from '../domain/customer';
import * as S from './schemas';

/** What every resource's route builder gets: the API to add to, the use cases' context and the auth guards. */
export interface Routes {
  api: HttpApi;
  ctx: IdentityContext;
  /** Verifies the bearer token (rule: kind, roles) and refuses tokens of sessions closed since. */
  authed(rule?: Parameters<typeof requireAuth>[1]): RequestHandler[];
}

export const tags = {
  auth: ['auth'],
  staff: ['staff'],
  customers: ['customers'],
  admin: ['admin'],
  compliance: ['compliance'],
  keys: ['keys'],
};

/** OpenAPI entries for the error statuses a route answers with (kit error body: code, message, hint). */
export const errors = (codes: number[], what = 'see code and hint') =>
  Object.fromEntries(codes.map((c) => [c, { description: what, schema: ErrorBody }]));

/** The channel the request comes from (`x-channel-code`), validated. */
export function channelOf(req: Request): string | null {
  const raw = req.header('x-channel-code');
  if (raw === undefined || raw === '') return null;
  const r = S.ChannelCode.safeParse(raw);
  if (!r.success)
    throw new ValidationError(
      'invalid_channel_code',
      `x-channel-code "${raw}" is not a channel code`,
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
