/**
 * The express app every service shares: health, readiness, metrics, OpenAPI, a correlation id per
 * request, security headers on every response, and errors mapped to HTTP in one place (a 5xx never
 * leaks internals).
 *
 * Guarantees: every response carries helmet's security headers with a Content-Security-Policy that
 * lets a page load only its own scripts, styles and images and connect only to its own origin (no
 * inline script or style, no framing), which is all a service page (the monitor's dashboard) needs;
 * `contentSecurityPolicy` adds to it. An incoming `x-correlation-id` is kept only when safe (see
 * events/envelope.ts), else replaced by a fresh id: an unsafe one is never echoed, logged or
 * copied into events. Every response carries the correlation id it was handled under
 * (`x-correlation-id`), and a write's answer the ids of the events it committed (`x-event-ids`, see
 * request-context.ts): a caller may set its own id to find its change on the monitor by either.
 *
 * A dependency that is unreachable (database, broker, schema registry: see dependencies.ts) is answered
 * 503 with its code (`database_unavailable`, `broker_unavailable`, `schema_registry_unavailable`), a
 * hint and `Retry-After`, and logged as one warning per outage, never as an unhandled error; /readyz
 * names it under `unavailable` (and answers 503) while its check fails.
 *
 * Exceptions as evidence: with `exceptions` (the runtime's ExceptionRecorder), every 412 and 409
 * answered, and every error whose thrower asked (`AppError.recorded`, see errors.ts), is recorded on
 * `platform.exception` after the answer is sent (events/exceptions.ts); recording never changes or
 * delays the answer, and never fails it.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import helmet from 'helmet';
import { AppError, DEPENDENCY_UNAVAILABLE, duplicateKeyConflict, isDuplicateKeyError, type Dependency } from '../errors';
import type { Logger } from '../observability/logger';
import type { ServiceMetrics } from '../observability/metrics';
import { safeCorrelationId } from '../events/envelope';
import type { HttpApi } from './api';
import { chargeRefused } from './rate-limit';
import { WriteConflictError } from '../events/outbox/writer';
import { asServiceUnavailable, DependencyAlerts } from './dependencies';
import { exceptionOfRequest, ROUTE_CONTEXT, type ExceptionSink } from '../events/exceptions';
import { eventIdHeaders, REQUEST_CONTEXT, requestContextOf, runInRequestContext, type RequestContext } from './request-context';

/** The readiness checks that stand for a dependency (the runtime's names). */
const CHECK_OF_DEPENDENCY: Readonly<Record<string, Dependency>> = { mongo: 'database', kafka: 'broker', registry: 'schema_registry' };

/** The Content-Security-Policy every response carries (directive → sources). */
export const CONTENT_SECURITY_POLICY: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** The bytes of a request's JSON body as received (for signature checks), or undefined when it had none. */
export const rawBodyOf = (req: unknown): Buffer | undefined => (req as { rawBody?: Buffer }).rawBody;

export interface HttpAppOptions {
  service: string;
  logger: Logger;
  metrics: ServiceMetrics;
  api: HttpApi;
  /** Each dependency's reachability; /readyz answers 503 while any is false. */
  readiness?: () => Promise<Record<string, boolean>>;
  /**
   * What the service reports as degraded while it still serves (e.g. the sync-monitor's tracking
   * behind its topics): undefined when all is well. /readyz then answers 200 with `status: degraded`
   * and the details under `degraded` (ready: routing to it helps; an alert says more).
   */
  degraded?: () => Record<string, unknown> | undefined;
  /** Extra plain express routes (pages, static files) mounted before the API. */
  extend?: (app: Express) => void;
  /** /metrics is served by a listener of its own (METRICS_PORT): the API port answers it 404. */
  metricsElsewhere?: boolean;
  /** Directives added to (or replacing) CONTENT_SECURITY_POLICY's, e.g. `{ 'img-src': ["'self'", 'https://cdn.example'] }`. */
  contentSecurityPolicy?: Record<string, string[]>;
  /** Where answered refusals, collisions and conflicts are recorded (the runtime's `exceptions`); absent: nowhere. */
  exceptions?: ExceptionSink;
}

/** The HTTP surface every service shares: health, readiness, metrics, OpenAPI, errors mapped once. */
export function createHttpApp(opts: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { ...CONTENT_SECURITY_POLICY, ...opts.contentSecurityPolicy } },
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  app.use((req, res, next) => {
    const correlationId = safeCorrelationId(req.header('x-correlation-id'));
    res.locals.correlationId = correlationId;
    res.setHeader('x-correlation-id', correlationId);
    const end = opts.metrics.httpDuration.startTimer();
    res.on('finish', () =>
      end({ method: req.method, route: (req.route?.path as string | undefined) ?? 'unmatched', status: String(res.statusCode) }),
    );
    next();
  });
  // the raw bytes stay beside the parsed body: a signed request (a payment provider's webhook) is verified on them
  app.use(
    express.json({
      limit: '1mb',
      verify: (req, _res, buf) => {
        (req as { rawBody?: Buffer }).rawBody = buf;
      },
    }),
  );
  // Opened after the body parser (its stream callbacks would not carry it): everything the request leads to sees it.
  app.use((_req, res, next) => {
    const context: RequestContext = { correlationId: String(res.locals.correlationId), eventIds: [] };
    res.locals[REQUEST_CONTEXT] = context;
    runInRequestContext(context, next);
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: opts.service });
  });
  const alerts = new DependencyAlerts(opts.logger, opts.metrics.registry);
  app.get('/readyz', async (_req, res) => {
    const checks = opts.readiness ? await opts.readiness() : {};
    const ready = Object.values(checks).every(Boolean);
    const dependencies = Object.entries(checks).filter(([check]) => CHECK_OF_DEPENDENCY[check]);
    alerts.up(Object.fromEntries(dependencies.map(([check, ok]) => [CHECK_OF_DEPENDENCY[check], ok])));
    const unavailable = dependencies.filter(([, ok]) => !ok).map(([check]) => DEPENDENCY_UNAVAILABLE[CHECK_OF_DEPENDENCY[check]].code);
    const degraded = ready ? opts.degraded?.() : undefined;
    res.status(ready ? 200 : 503).json({
      status: ready ? (degraded ? 'degraded' : 'ready') : 'not_ready',
      checks,
      ...(unavailable.length ? { unavailable } : {}),
      ...(degraded ? { degraded } : {}),
    });
  });
  if (!opts.metricsElsewhere) app.get('/metrics', metricsHandler(opts.metrics));
  app.get('/openapi.json', (_req, res) => {
    res.json(opts.api.document());
  });
  opts.extend?.(app);

  const router = express.Router();
  opts.api.mount(opts.exceptions ? withRouteContext(router) : router);
  app.use(router);

  app.use((req, res) => {
    res.status(404).json({
      code: 'route_not_found',
      message: `no route for ${req.method} ${req.path}`,
      hint: 'see /openapi.json for the routes this service offers',
    });
  });

  /** Records an answered error when it is evidence (see the header); never throws. */
  const recordException = (err: AppError, req: express.Request, res: express.Response): void => {
    if (!opts.exceptions) return;
    try {
      const facts = exceptionOfRequest(err, req, res);
      if (facts) void opts.exceptions.record(facts).catch(() => undefined);
    } catch (e) {
      opts.logger.warn('an answered exception could not be described for platform.exception', { err: String(e), code: err.code });
    }
  };

  const onError: ErrorRequestHandler = async (err, req, res, _next) => {
    void _next;
    const limited = await chargeRefused(req, res).catch(() => null); // refused by a route's checks: charged to its address
    if (limited) err = limited;
    // a write that committed events before failing still names them: they are real and will be published
    if (req.method !== 'GET' && !res.headersSent)
      for (const [k, v] of Object.entries(eventIdHeaders(requestContextOf(res)))) res.setHeader(k, v);
    const unavailable = asServiceUnavailable(err);
    if (unavailable) {
      alerts.down(unavailable.dependency, err, req.path);
      err = unavailable;
      res.setHeader('Retry-After', String(unavailable.retryAfterSeconds));
    }
    if (err instanceof WriteConflictError) {
      // Other writers changed the record under every attempt (a hot record on several instances):
      // nothing was written, and the same request may be sent again.
      res.setHeader('Retry-After', '1');
      res.status(503).json({
        code: 'write_contention',
        message: 'the record changed under every attempt to write it; nothing was written',
        hint: 'send the same request again after Retry-After (with the same Idempotency-Key where the route takes one)',
      });
      return;
    }
    if (err instanceof AppError) {
      res.status(err.status).json(err.toBody());
      recordException(err, req, res);
      return;
    }
    if (isDuplicateKeyError(err)) {
      const conflict = duplicateKeyConflict(err, 'a record with this key');
      res.status(conflict.status).json(conflict.toBody());
      recordException(conflict, req, res);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({
        code: 'malformed_json',
        message: 'the request body is not valid JSON',
        hint: 'send a JSON document with Content-Type: application/json',
      });
      return;
    }
    if (e.type === 'entity.too.large') {
      res
        .status(413)
        .json({ code: 'body_too_large', message: 'the request body exceeds 1 MB', hint: 'send a smaller body or split the request' });
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res
        .status(e.status)
        .json({ code: 'bad_request', message: e.message ?? 'bad request', hint: 'check the request against /openapi.json' });
      return;
    }
    opts.logger.error('unhandled error', {
      err: String(err),
      stack: (err as Error).stack,
      path: req.path,
      correlationId: res.locals.correlationId,
    });
    res.status(500).json({
      code: 'internal_error',
      message: 'an unexpected error occurred',
      hint: `retry later; quote correlation id ${String(res.locals.correlationId)} to support`,
    });
  };
  app.use(onError);
  return app;
}

/**
 * The router an API mounts on, each route first noting its parameters and base (ROUTE_CONTEXT) for
 * the error handler: express restores `req.params` and `req.baseUrl` when an error leaves a router,
 * so a recorded exception could not name the route's subject otherwise (events/exceptions.ts).
 */
function withRouteContext(router: express.Router): express.Router {
  const note: express.RequestHandler = (req, res, next) => {
    res.locals[ROUTE_CONTEXT] = { params: { ...req.params }, baseUrl: req.baseUrl };
    next();
  };
  for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
    const add = router[method].bind(router) as (path: string, ...handlers: express.RequestHandler[]) => express.Router;
    (router as unknown as Record<string, unknown>)[method] = (path: string, ...handlers: express.RequestHandler[]) =>
      add(path, note, ...handlers);
  }
  return router;
}

/** Prometheus's text exposition of the service's registry. */
function metricsHandler(metrics: ServiceMetrics): express.RequestHandler {
  return async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  };
}

/**
 * The metrics listener of METRICS_PORT: /metrics and nothing else (no API, no OpenAPI), so that the
 * port a NetworkPolicy opens to the monitoring namespace exposes only what scrapers need.
 */
export function createMetricsApp(metrics: ServiceMetrics): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.get('/metrics', metricsHandler(metrics));
  app.use((_req, res) => {
    res.status(404).json({ code: 'route_not_found', message: 'this port serves /metrics only', hint: 'the API is on the service port' });
  });
  return app;
}
