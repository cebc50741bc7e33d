/**
 * One error hierarchy for every service, mapped to HTTP once, in the app factory's error handler.
 * Every error a client can cause carries a machine-readable `code` and a `hint` saying what to do.
 */
export class AppError extends Error {
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
