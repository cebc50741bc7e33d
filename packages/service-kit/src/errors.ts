/**
 * One error hierarchy for every service, mapped to HTTP once, in the app factory's error handler.
 * Every error a client can cause carries a machine-readable `code` and a `hint` saying what to do.
 *
 * Exceptions as evidence (events/exceptions.ts): the app factory records on `platform.exception`
 * every 412 it answers (kind `collision`) and every 409 (kind `conflict`), with no help from the
 * thrower. Any other error is recorded only when its thrower asks, with `recorded()`:
 *
 *   throw new ForbiddenError('customer_banned', ...).recorded({ kind: 'refusal', subjectKind: 'customer', subjectId: id });
 *
 * `kind: 'refusal'` asks for a record of a POLICY decision (a ban, a maintenance, a residency rule, a
 * restriction), whatever the status, a 409 included; without `kind`, `recorded()` only names the
 * subject (and channel) of a 409/412 that is recorded anyway. Without a subject, the app takes
 * `details.subject`, else the first route parameter, else the principal (the customer checking out). Authentication and role failures are
 * not policy refusals and must not ask (anyone could flood the log with them). A thrower that cannot
 * chain may instead put `details.subject: { kind, id }` (shown to the client, unlike `record`).
 * Subjects are references only (ids), never a name, an address or text a caller wrote.
 */
export interface ExceptionRecordRequest {
  /** `refusal`: record this error as a policy refusal. Absent: only name the subject of a 409/412. */
  kind?: 'refusal';
  /** customer, channel, product, order, promotion, cart, staff... (with subjectId; absent: the app derives the subject, see events/exceptions.ts). */
  subjectKind?: string;
  /** The subject's id (a reference). */
  subjectId?: string;
  /** The channel the attempt was made on, when the request's credentials prove none. */
  channel?: string | null;
}

export class AppError extends Error {
  /** What the app factory records of this error on platform.exception (see the header; set by `recorded`). */
  record?: ExceptionRecordRequest;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** Asks for this error to be recorded as evidence (or names its subject): see the header. Returns the error, to throw. */
  recorded(request: ExceptionRecordRequest): this {
    this.record = request;
    return this;
  }

  toBody(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

export class ValidationError extends AppError {
  constructor(code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(400, code, message, hint, details);
  }
}
export class UnauthorizedError extends AppError {
  constructor(code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(401, code, message, hint, details);
  }
}
export class ForbiddenError extends AppError {
  constructor(code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(403, code, message, hint, details);
  }
}
export class NotFoundError extends AppError {
  constructor(code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(404, code, message, hint, details);
  }
}
export class ConflictError extends AppError {
  constructor(code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(409, code, message, hint, details);
  }
}
export class PreconditionFailedError extends AppError {
  constructor(code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(412, code, message, hint, details);
  }
}
export class UnprocessableError extends AppError {
  constructor(code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(422, code, message, hint, details);
  }
}
export class TooManyRequestsError extends AppError {
  constructor(code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(429, code, message, hint, details);
  }
}

/** The servers a service depends on; each has its own 503 code (see ServiceUnavailableError). */
export type Dependency = 'database' | 'broker' | 'schema_registry';

/** The 503 code naming each dependency, and the seconds a client is told to wait before retrying. */
export const DEPENDENCY_UNAVAILABLE: Readonly<Record<Dependency, { code: string; what: string; retryAfterSeconds: number }>> = {
  database: { code: 'database_unavailable', what: 'the database', retryAfterSeconds: 2 },
  broker: { code: 'broker_unavailable', what: 'the event broker', retryAfterSeconds: 5 },
  schema_registry: { code: 'schema_registry_unavailable', what: 'the schema registry', retryAfterSeconds: 5 },
};

/**
 * 503: a server the request needs is unreachable. Nothing was changed by this request unless the
 * code says otherwise, so the client may send the same request again after `retryAfterSeconds`
 * (the app factory sets it as the Retry-After header).
 */
export class ServiceUnavailableError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(
    readonly dependency: Dependency,
    message?: string,
  ) {
    const d = DEPENDENCY_UNAVAILABLE[dependency];
    super(
      503,
      d.code,
      message ?? `${d.what} is unreachable; the request was not carried out`,
      `retry after ${d.retryAfterSeconds} s (the Retry-After header); the request is safe to send again`,
      { dependency, retryAfterSeconds: d.retryAfterSeconds },
    );
    this.retryAfterSeconds = d.retryAfterSeconds;
  }
}

/** A MongoDB unique-index violation (E11000), from the driver or FerretDB. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/** The duplicate-key error as a typed 409 naming the value that already exists. */
export function duplicateKeyConflict(err: unknown, what: string): ConflictError {
  const keyValue = (err as { keyValue?: Record<string, unknown> }).keyValue;
  return new ConflictError(
    'duplicate',
    `${what} already exists`,
    'use a different value or update the existing record instead',
    keyValue ? { keyValue } : undefined,
  );
}
