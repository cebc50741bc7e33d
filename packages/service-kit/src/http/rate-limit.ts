/**
 * Request rate limits per caller, declared with the routes (HttpApi) and counted in memory
 * (rate-limiter-flexible), so one client cannot starve a service of CPU (token checks, password
 * hashing, database writes) or scrape it.
 *
 * Guarantees:
 *  - a caller is the verified principal when the route's own checks (`before`) accepted a token,
 *    else the client address (`req.ip`, which honours the service's trust-proxy setting): a forged
 *    or random token can neither spend someone else's budget nor get a fresh one, since a request
 *    its checks refuse is charged to its address;
 *  - routes naming the same `group` share one budget per caller; any other route has its own;
 *  - over budget, the answer is 429 `rate_limited` with a hint and `Retry-After` (whole seconds until
 *    a request is allowed again), and the handler does not run.
 *
 * The counts are per process: behind N instances a caller gets up to N times the budget, which the
 * defaults allow for (they stop floods, not fair use).
 */
import type { Request, RequestHandler, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { TooManyRequestsError } from '../errors';
import type { Principal } from '../auth/tokens';

export interface RateLimit {
  /** Requests a caller may send in each window. */
  points: number;
  /** The window, in seconds. */
  durationSec: number;
  /** Routes naming the same group share one budget per caller (default: the route has its own). */
  group?: string;
}

/** The limit of every route that does not set its own: 1,000 requests per caller and route in 10 s. */
export const DEFAULT_RATE_LIMIT: RateLimit = { points: 1000, durationSec: 10 };

/** The limiters of one HttpApi, one per group. */
export class RateLimiters {
  private readonly byGroup = new Map<string, RateLimiterMemory>();

  limiter(group: string, limit: RateLimit): RateLimiterMemory {
    let limiter = this.byGroup.get(group);
    if (!limiter) {
      limiter = new RateLimiterMemory({ points: limit.points, duration: limit.durationSec, keyPrefix: group });
      this.byGroup.set(group, limiter);
    }
    return limiter;
  }
}

/** Who is counted: the verified principal, else the client address. */
export function callerKey(req: Request, res: Response): string {
  const principal = res.locals.principal as Principal | undefined;
  return principal ? `${principal.kind}:${principal.sub}` : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}

function refusal(res: Response, rejected: RateLimiterRes): TooManyRequestsError {
  const seconds = Math.max(1, Math.ceil(rejected.msBeforeNext / 1000));
  res.setHeader('Retry-After', String(seconds));
  return new TooManyRequestsError(
    'rate_limited',
    'too many requests from this caller',
    `wait ${seconds} s (the Retry-After header) before sending again, and slow down`,
    { retryAfterSeconds: seconds },
  );
}

/** Spends one point of the caller's budget; resolves to the 429 to answer, or null within budget. */
async function spend(limiter: RateLimiterMemory, key: string, res: Response): Promise<TooManyRequestsError | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (rejected) {
    if (rejected instanceof RateLimiterRes) return refusal(res, rejected);
    throw rejected;
  }
}

const PENDING = 'rateLimitPending';

/**
 * The two ends of a limited route's chain: `open` goes before the route's checks and marks the
 * request as not charged yet; `charge` goes after them and spends a point for the caller.
 */
export function rateLimitStages(limiter: RateLimiterMemory): { open: RequestHandler; charge: RequestHandler } {
  return {
    open: (_req, res, next) => {
      res.locals[PENDING] = limiter;
      next();
    },
    charge: (req, res, next) => {
      delete res.locals[PENDING];
      spend(limiter, callerKey(req, res), res).then((refused) => next(refused ?? undefined), next);
    },
  };
}

/**
 * For the error handler: a request the route's checks refused (401/403) before it was charged is
 * charged to its address; returns the 429 to answer instead when that is over budget.
 */
export async function chargeRefused(req: Request, res: Response): Promise<TooManyRequestsError | null> {
  const limiter = res.locals[PENDING] as RateLimiterMemory | undefined;
  if (!limiter) return null;
  delete res.locals[PENDING];
  return spend(limiter, `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`, res);
}
