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
