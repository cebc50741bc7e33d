/**
 * Errors as the Confluent registry reports them: an HTTP status plus a more specific `error_code`.
 * Only the codes this registry can produce are listed.
 */
export const ErrorCode = {
  SUBJECT_NOT_FOUND: 40401,
  VERSION_NOT_FOUND: 40402,
  SCHEMA_NOT_FOUND: 40403,
  UNAUTHORIZED: 401,
  USER_DENIED: 40301,
  SUBJECT_COMPATIBILITY_NOT_CONFIGURED: 40408,
  INCOMPATIBLE_SCHEMA: 409,
  INVALID_SCHEMA: 42201,
  INVALID_VERSION: 42202,
  INVALID_COMPATIBILITY_LEVEL: 42203,
  STORE_ERROR: 50001,
} as const;

export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export const subjectNotFound = (subject: string): RegistryError =>
  new RegistryError(404, ErrorCode.SUBJECT_NOT_FOUND, `Subject '${subject}' not found.`);

export const versionNotFound = (subject: string, version: number | string): RegistryError =>
  new RegistryError(404, ErrorCode.VERSION_NOT_FOUND, `Version ${version} not found for subject '${subject}'.`);

export const schemaNotFound = (what = 'Schema not found'): RegistryError => new RegistryError(404, ErrorCode.SCHEMA_NOT_FOUND, what);

export const invalidSchema = (reason: string): RegistryError =>
  new RegistryError(422, ErrorCode.INVALID_SCHEMA, `Invalid schema: ${reason}`);
