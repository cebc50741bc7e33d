/**
 * Routes declared once, with zod schemas that both validate each request (400 `validation_failed`
 * listing every bad field) and generate the OpenAPI document, so the two cannot drift apart. Each
 * route's rate limit (its own, or the API's default) is enforced and documented the same way: 429
 * with `Retry-After` (see rate-limit.ts). Every route also declares 503 with `Retry-After`: any of them
 * may find a dependency (database, broker, schema registry) unreachable, which the app answers with
 * the dependency's code (see dependencies.ts), so no service has to declare it.
 *
 * Every route also documents the correlation id: the request header `x-correlation-id` (optional; a
 * safe value the caller sets is kept, see app.ts) and the same response header on every answer; and
 * every route but a GET documents `x-event-ids` and `x-event-count` on its answers, which the API sets
 * from the events the request's writes committed (request-context.ts).
 */
import { OpenAPIRegistry, OpenApiGeneratorV3, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { z, type ZodType } from 'zod';
import { ValidationError } from '../errors';
import { EVENT_COUNT_HEADER, EVENT_IDS_HEADER, MAX_EVENT_IDS_IN_HEADER, eventIdHeaders, requestContextOf } from './request-context';
import { DEFAULT_RATE_LIMIT, RateLimiters, rateLimitStages, type RateLimit } from './rate-limit';

extendZodWithOpenApi(z);

export const ErrorBody = z
  .object({
    code: z.string().openapi({ example: 'validation_failed' }),
    message: z.string(),
    hint: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('Error');

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Validated<B, P, Q> {
  body: B;
  params: P;
  query: Q;
  req: Request;
  res: Response;
}

export interface RouteSpec<B, P, Q> {
  method: Method;
  /** Express-style path (`/customers/:id`); documented as `/customers/{id}`. */
  path: string;
  summary: string;
  tags?: string[];
  body?: ZodType<B>;
  params?: ZodType<P>;
  query?: ZodType<Q>;
  headers?: ZodType<unknown>;
  responses: Record<
    number,
    {
      description: string;
      schema?: ZodType<unknown>;
      contentType?: string;
      /** Response headers the route sets (documented in OpenAPI), e.g. Cache-Control. */
      headers?: Record<string, { description: string; schema: { type: 'string' | 'integer' } }>;
    }
  >;
  /** Documents a bearer token requirement; the check itself is in `before`. */
  auth?: boolean;
  before?: RequestHandler[];
  /** This route's limit per caller (default: the API's); `false`: none. Routes naming one `group` share a budget. */
  rateLimit?: RateLimit | false;
  /** Returns the reply, or undefined when it wrote the response itself (e.g. an event stream). */
  handler: (input: Validated<B, P, Q>) => Promise<Reply | undefined>;
}

function fieldIssues(error: z.ZodError, where: string): { field: string; problem: string; code: string }[] {
  return error.issues.map((i) => ({ field: [where, ...i.path.map(String)].join('.'), problem: i.message, code: i.code }));
}

/**
 * Routes declared once: the same zod schemas validate each request and generate the OpenAPI
 * document served at /openapi.json. A request that does not match gets 400 `validation_failed`
 * listing every offending field.
 */
export interface HttpApiOptions {
  /** The limit of routes that set none (default DEFAULT_RATE_LIMIT); `false`: no limit unless a route sets one. */
  rateLimit?: RateLimit | false;
}

const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds to wait before a request is allowed again', schema: { type: 'integer', minimum: 1 } },
};

const UNAVAILABLE_RESPONSE = {
  description:
    'A dependency is unreachable: `database_unavailable`, `broker_unavailable` or `schema_registry_unavailable` ' +
    '(details.dependency), or `write_contention` (other writers changed the record under every attempt); ' +
    'nothing was carried out, send the same request again after Retry-After',
  headers: { 'Retry-After': { description: 'Seconds to wait before sending the request again', schema: { type: 'integer', minimum: 1 } } },
  content: { 'application/json': { schema: ErrorBody } },
};

/** The request header every route accepts: the caller's own correlation id. */
const CORRELATION_REQUEST_HEADER = {
  'x-correlation-id': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .openapi({
      description:
        'Your id for this request (at most 128 letters, digits, `._:-`): kept, echoed in the response and logged; the services copy it into the envelope of the events the request causes, so the sync-monitor finds your change by it (GET /propagation/events?correlationId=). Absent or unsafe: a fresh id is used (the response says which)',
      example: 'app-42:checkout:7f3a',
    }),
};

type HeaderDoc = Record<string, { description: string; schema: { type: 'string' | 'integer'; minimum?: number } }>;

/** The response header every answer carries. */
const CORRELATION_RESPONSE_HEADER: HeaderDoc = {
  'x-correlation-id': {
    description: 'The correlation id the request was handled under: the one sent in x-correlation-id when safe, else a fresh one',
    schema: { type: 'string' },
  },
};

/** The response headers of a write (every method but GET). */
const EVENT_RESPONSE_HEADERS: HeaderDoc = {
  [EVENT_IDS_HEADER]: {
    description: `The ids of the events this request committed, comma-separated (at most ${MAX_EVENT_IDS_IN_HEADER}; absent when it committed none): each is an event's envelope.eventId, to follow on the monitor`,
    schema: { type: 'string' },
  },
  [EVENT_COUNT_HEADER]: {
    description: 'How many events this request committed (also when x-event-ids lists only the first ones)',
    schema: { type: 'integer' },
  },
};

/** A route's request headers with x-correlation-id added (a non-object schema is documented as it is). */
function withCorrelationHeader(headers: ZodType<unknown> | undefined): ZodType<unknown> {
  if (!headers) return z.object(CORRELATION_REQUEST_HEADER);
  if (headers instanceof z.ZodObject) return headers.extend(CORRELATION_REQUEST_HEADER);
  return headers;
}

export class HttpApi {
  private readonly registry = new OpenAPIRegistry();
  private readonly routes: RouteSpec<any, any, any>[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  private readonly limiters = new RateLimiters();

  constructor(
    private readonly info: { title: string; version: string; description?: string },
    private readonly options: HttpApiOptions = {},
  ) {
    this.registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  }

  /** The limit a route is held to, or null for none. */
  private limitOf(spec: RouteSpec<unknown, unknown, unknown>): RateLimit | null {
    const limit = spec.rateLimit ?? this.options.rateLimit ?? DEFAULT_RATE_LIMIT;
    return limit === false ? null : limit;
  }

  route<B = unknown, P = Record<string, string>, Q = Record<string, unknown>>(spec: RouteSpec<B, P, Q>): this {
    this.routes.push(spec);
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.headers ? { headers: r.headers } : {}),
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema } } } : {}),
      };
    }
    responses['400'] ??= { description: 'Invalid input', content: { 'application/json': { schema: ErrorBody } } };
    const limit = this.limitOf(spec as RouteSpec<unknown, unknown, unknown>);
    if (limit)
      responses['429'] = {
        description: `${spec.responses[429]?.description ?? 'Too many requests'} (limit: ${limit.points} per ${limit.durationSec} s per caller)`,
        headers: RETRY_AFTER_HEADER,
        content: { 'application/json': { schema: ErrorBody } },
      };
    responses['503'] = spec.responses[503]
      ? { ...UNAVAILABLE_RESPONSE, description: `${spec.responses[503].description}; or ${UNAVAILABLE_RESPONSE.description}` }
      : UNAVAILABLE_RESPONSE;
    responses['default'] = {
      description: 'Error with a machine-readable code and a hint',
      content: { 'application/json': { schema: ErrorBody } },
    };
    const write = spec.method !== 'get';
    for (const [status, r] of Object.entries(responses as Record<string, { headers?: HeaderDoc }>))
      responses[status] = { ...r, headers: { ...r.headers, ...CORRELATION_RESPONSE_HEADER, ...(write ? EVENT_RESPONSE_HEADERS : {}) } };
    this.registry.registerPath({
      method: spec.method,
      path: spec.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}'),
      summary: spec.summary,
      tags: spec.tags,
      security: spec.auth ? [{ bearer: [] }] : undefined,
      request: {
        body: spec.body ? { content: { 'application/json': { schema: spec.body } }, required: true } : undefined,
        params: spec.params as never,
        query: spec.query as never,
        headers: withCorrelationHeader(spec.headers) as never,
      },
      responses: responses as never,
    });
    return this;
  }

  document(): object {
    return new OpenApiGeneratorV3(this.registry.definitions).generateDocument({ openapi: '3.0.3', info: this.info });
  }

  mount(router: Router): void {
    for (const spec of this.routes) {
      const run = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
        try {
          const issues: ReturnType<typeof fieldIssues> = [];
          const parse = <T>(schema: ZodType<T> | undefined, value: unknown, where: string): T => {
            if (!schema) return value as T;
            const r = schema.safeParse(value);
            if (r.success) return r.data;
            issues.push(...fieldIssues(r.error, where));
            return value as T;
          };
          const params = parse(spec.params, req.params, 'params');
          const query = parse(spec.query, req.query, 'query');
          const body = parse(spec.body, req.body ?? {}, 'body');
          if (issues.length) {
            throw new ValidationError(
              'validation_failed',
              `${issues.length} field(s) are invalid`,
              'correct the fields listed in details.fields and send again',
              {
                fields: issues,
              },
            );
          }
          const reply = await spec.handler({ body, params, query, req, res });
          if (!reply) return;
          for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
          if (spec.method !== 'get') for (const [k, v] of Object.entries(eventIdHeaders(requestContextOf(res)))) res.setHeader(k, v);
          res.status(reply.status ?? 200);
          if (reply.body === undefined) res.end();
          else res.json(reply.body);
        } catch (err) {
          next(err);
        }
      };
      const limit = this.limitOf(spec);
      if (!limit) {
        router[spec.method](spec.path, ...(spec.before ?? []), run);
        continue;
      }
      const { open, charge } = rateLimitStages(this.limiters.limiter(limit.group ?? `${spec.method} ${spec.path}`, limit));
      router[spec.method](spec.path, open, ...(spec.before ?? []), charge, run);
    }
  }
}

export { z };
export { DEFAULT_RATE_LIMIT, type RateLimit } from './rate-limit';
