/**
 * Exceptions as evidence: the refusals, collisions and conflicts that change no state (a cart refused
 * for a ban, a 412 If-Match collision, a 409 version conflict) would leave no event at all; the
 * ExceptionRecorder writes one `platform.exception` event for each, for the audit trail.
 *
 * Guarantees:
 *  - durable: an event is committed through the service's outbox (a small document of its own in
 *    the `platform_exceptions` collection, published by the relay, re-published by the recovery poll
 *    after a crash) before it counts as recorded (`omnimall_exceptions_recorded_total{kind,code}`);
 *    published documents are pruned once the outbox has cleaned them (`outboxCount: 0`);
 *  - bounded: at most `bound.points` events per `bound.durationSec` per process (a rate-limiter-flexible
 *    window, as the kit's request limits), so a flood of refused requests cannot flood the log; an
 *    event over the bound is dropped and counted (`omnimall_exceptions_dropped_total{kind,reason=rate_limited}`);
 *  - never throws into the request path: `record` always resolves (to whether the event was committed);
 *    a failed write is logged (at most one warning a minute) and counted (`reason=failed`);
 *  - references only: subjects, actors and channels are ids that pass SAFE_REFERENCE (an email, a
 *    name or free text never does: `redacted` takes its place), `detail` is the error's own message
 *    (bounded), and an operation is the route template, never the raw URL.
 *
 * The HTTP side (`exceptionOfRequest`, used by the app factory's error handler) decides what is
 * recorded: every 412 (`collision`), every 409 (`conflict`), and any error whose thrower asked with
 * `AppError.recorded({ kind: 'refusal', ... })` (see errors.ts).
 */
import type { Request, Response } from 'express';
import type { Connection } from 'mongoose';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { AppError } from '../errors';
import type { Logger } from '../observability/logger';
import type { ServiceMetrics } from '../observability/metrics';
import type { Principal } from '../auth/tokens';
import { newEvent, type OutgoingEvent } from './envelope';
import type { Outbox } from './outbox';
import { StandaloneEvents } from './outbox/standalone';

export type ExceptionKind = 'refusal' | 'collision' | 'conflict';

/** What one exception was: the fields of ExceptionRecorded (schemas/avro/platform/ExceptionRecorded.avsc). */
export interface ExceptionFacts {
  kind: ExceptionKind;
  code: string;
  /** The HTTP status answered, when the exception answered a request. */
  status?: number | null;
  /** The route template (`PUT /cart/lines/:sku`) or the handler's name. */
  operation: string;
  subjectKind: string;
  subjectId: string;
  channel?: string | null;
  actor?: string | null;
  actorKind?: string | null;
  /** The error's own message (never text a caller wrote). */
  detail: string;
  expectedVersion?: string | number | null;
  currentVersion?: string | number | null;
  /** The request's correlation id (a fresh one when absent or unsafe). */
  correlationId?: string;
}

/** Where exceptions are recorded (the runtime's ExceptionRecorder; a test may pass a collector). */
export interface ExceptionSink {
  record(facts: ExceptionFacts): Promise<boolean>;
}

/** How many exceptions one process records per window. */
export interface ExceptionBound {
  points: number;
  durationSec: number;
}

/** 200 per 10 s per process: far above what honest traffic refuses, far below a flood. */
export const DEFAULT_EXCEPTION_BOUND: ExceptionBound = { points: 200, durationSec: 10 };

/** The collection holding the outbox of exception events (one small document per event). */
export const EXCEPTIONS_COLLECTION = 'platform_exceptions';

/** A reference: at most 128 letters, digits and `._:-` (so never an email, a name or a sentence). */
export const SAFE_REFERENCE = /^[A-Za-z0-9._:-]{1,128}$/;

const REDACTED = 'redacted';
const DETAIL_MAX = 500;
/** Published exception documents older than this are deleted by the prune pass. */

const reference = (v: unknown): string | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && SAFE_REFERENCE.test(v) ? v : null;
};
const referenceOr = (v: unknown, fallback: string): string => reference(v) ?? fallback;
const optionalReference = (v: unknown): string | null => (v === undefined || v === null ? null : referenceOr(v, REDACTED));

/** The platform.exception event of one exception, its envelope built as the kit builds every envelope. */
export function exceptionEvent(service: string, f: ExceptionFacts): OutgoingEvent<'platform.exception'> {
  const subjectId = referenceOr(f.subjectId, REDACTED);
  const channel = optionalReference(f.channel);
  return newEvent(
    'platform.exception',
    {
      type: `exception.${f.kind}`,
      producer: service,
      aggregateId: subjectId,
      aggregateVersion: 0,
      sourceChannel: channel,
      correlationId: f.correlationId,
    },
    {
      kind: f.kind,
      code: referenceOr(f.code, 'unknown'),
      status: typeof f.status === 'number' ? f.status : null,
      operation: f.operation.slice(0, 200),
      subjectKind: referenceOr(f.subjectKind, 'unknown'),
      subjectId,
      channel,
      actor: optionalReference(f.actor),
      actorKind: optionalReference(f.actorKind),
      detail: f.detail.slice(0, DETAIL_MAX),
      expectedVersion: optionalReference(f.expectedVersion),
      currentVersion: optionalReference(f.currentVersion),
    },
  );
}

/**
 * Where the app factory notes a route's parameters and base as the route starts (`res.locals[ROUTE_CONTEXT]`):
 * express restores `req.params` and `req.baseUrl` when an error leaves a router, before the error handler runs.
 */
export const ROUTE_CONTEXT = 'exceptionRouteContext';

interface RouteContext {
  params: Record<string, unknown>;
  baseUrl: string;
}

const routeContextOf = (req: Request, res: Response): RouteContext =>
  (res.locals[ROUTE_CONTEXT] as RouteContext | undefined) ?? {
    params: (req.params ?? {}) as Record<string, unknown>,
    baseUrl: req.baseUrl ?? '',
  };

/** `<METHOD> <route template>` (the router's base joined with the route's path); never the raw URL. */
export function operationOf(req: Request, res: Response): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return `${req.method} ${typeof path === 'string' ? `${routeContextOf(req, res).baseUrl}${path}` : '(no route)'}`;
}

/** The kind an answered error is recorded as, or null when it is not recorded (see the header). */
export function exceptionKindOf(err: AppError): ExceptionKind | null {
  if (err.record?.kind === 'refusal') return 'refusal';
  if (err.status === 412) return 'collision';
  if (err.status === 409) return 'conflict';
  return null;
}

/**
 * What an answered AppError is recorded as, or null when it is not recorded. Subject: the one the
 * thrower's `recorded()` request names, else `details.subject`, else the first route parameter that is a reference
 * (its name as the kind), else the principal, else the request itself (its correlation id). Channel:
 * the thrower's, else the channel the credentials proved, else the principal's, else `details.channel`.
 * Versions: `details.expectedVersion`/`expected` and `details.currentVersion`/`current`/`version`.
 */
export function exceptionOfRequest(err: AppError, req: Request, res: Response): ExceptionFacts | null {
  const kind = exceptionKindOf(err);
  if (!kind) return null;
  const details = err.details ?? {};
  const principal = res.locals.principal as Principal | undefined;
  const correlationId = res.locals.correlationId as string | undefined;
  const subject = subjectOf(err, routeContextOf(req, res).params, principal, correlationId);
  const proven = (res.locals.channel as { code?: unknown } | undefined)?.code;
  const channel = [err.record?.channel, proven, principal?.channel, details.channel].find((c) => reference(c) !== null);
  return {
    kind,
    code: err.code,
    status: err.status,
    operation: operationOf(req, res),
    subjectKind: subject.kind,
    subjectId: subject.id,
    channel: (channel as string | undefined) ?? null,
    actor: principal?.sub ?? null,
    actorKind: principal?.kind ?? null,
    detail: err.message,
    expectedVersion: firstReference(details.expectedVersion, details.expected),
    currentVersion: firstReference(details.currentVersion, details.current, details.version),
    correlationId,
  };
}

const firstReference = (...vs: unknown[]): string | null => vs.map(reference).find((v) => v !== null) ?? null;

function subjectOf(
  err: AppError,
  params: Record<string, unknown>,
  principal: Principal | undefined,
  correlationId: string | undefined,
): { kind: string; id: string } {
  const asked = err.record;
  if (asked?.subjectKind && asked.subjectId !== undefined) return { kind: asked.subjectKind, id: asked.subjectId };
  const named = err.details?.subject as { kind?: unknown; id?: unknown } | undefined;
  if (named && typeof named.kind === 'string' && reference(named.id) !== null) return { kind: named.kind, id: String(named.id) };
  for (const [name, value] of Object.entries(params)) if (reference(value) !== null) return { kind: name, id: String(value) };
  if (principal) return { kind: principal.kind, id: principal.sub };
  return { kind: 'request', id: correlationId ?? 'unknown' };
}

export interface ExceptionRecorderOptions {
  bound?: ExceptionBound;
}

/** Records exceptions as platform.exception events through the outbox, bounded per process (see the header). */
export class ExceptionRecorder extends StandaloneEvents implements ExceptionSink {
  private readonly bucket: RateLimiterMemory;

  constructor(
    private readonly deps: { service: string; outbox: Outbox; db: Connection; metrics: ServiceMetrics; logger: Logger },
    opts: ExceptionRecorderOptions = {},
  ) {
    super(deps, { model: 'PlatformException', collection: EXCEPTIONS_COLLECTION });
    const bound = opts.bound ?? DEFAULT_EXCEPTION_BOUND;
    this.bucket = new RateLimiterMemory({ points: bound.points, duration: bound.durationSec, keyPrefix: 'exceptions' });
  }

  /** Records one exception; resolves to whether its event was committed. Never rejects. */
  record(facts: ExceptionFacts): Promise<boolean> {
    return this.track(this.write(facts));
  }

  private async write(facts: ExceptionFacts): Promise<boolean> {
    const kind = facts.kind;
    try {
      const allowed = await this.bucket.consume('all').then(
        () => true,
        () => false,
      );
      if (!allowed) {
        this.deps.metrics.exceptionsDropped.labels(kind, 'rate_limited').inc();
        return false;
      }
      const event = exceptionEvent(this.deps.service, facts);
      await this.commitEvent(event);
      this.deps.metrics.exceptionsRecorded.labels(kind, event.value.code).inc();
      return true;
    } catch (err) {
      this.deps.metrics.exceptionsDropped.labels(kind, 'failed').inc();
      this.warn('an exception could not be recorded on platform.exception', err, { kind, code: facts.code });
      return false;
    }
  }
}
