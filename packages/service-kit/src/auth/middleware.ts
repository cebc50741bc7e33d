/**
 * Who may call a route: the bearer token verified locally (no call to identity), then its kind, roles
 * and channel scope. A refusal is a 401 (no, bad or revoked token: `token_missing`, `token_invalid`,
 * `token_revoked`) or a 403 (not allowed) with a code and a hint.
 */
import type { RequestHandler, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../errors';
import { TokenRevokedError, type Principal, type TokenVerifier } from './tokens';

export interface AuthRule {
  /** Who may call: customers, staff, or either (default). */
  kind?: 'customer' | 'staff';
  /**
   * Roles allowed (any of them), as the token carries them. The kit gives no role a meaning: a route
   * that admins may call names 'admin' (the roles themselves are @omnimall/contracts' STAFF_ROLES).
   */
  roles?: readonly string[];
  /** Let a request without a token through (principal is then undefined). */
  optional?: boolean;
}

/** Verifies the bearer token locally and enforces kind and roles; the principal lands in res.locals.principal. */
export function requireAuth(verifier: TokenVerifier, rule: AuthRule = {}): RequestHandler {
  return (req, res, next) => {
    const header = req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) {
      if (rule.optional) return next();
      return next(
        new UnauthorizedError(
          'token_missing',
          'this route needs a bearer token',
          'log in through the identity service and send Authorization: Bearer <accessToken>',
        ),
      );
    }
    verifier
      .verify(match[1])
      .then((principal) => {
        if (rule.kind && principal.kind !== rule.kind) {
          throw new ForbiddenError('wrong_account_kind', `this route is for ${rule.kind} accounts`, `log in with a ${rule.kind} account`);
        }
        if (rule.roles && !rule.roles.some((r) => principal.roles.includes(r))) {
          throw new ForbiddenError(
            'role_required',
            `this route needs one of the roles: ${rule.roles.join(', ')}`,
            'ask an admin to grant the role',
            {
              required: rule.roles,
              held: principal.roles,
            },
          );
        }
        res.locals.principal = principal;
        next();
      })
      .catch((err: unknown) => next(err instanceof ForbiddenError ? err : tokenRefusal(err)));
  };
}

/**
 * The 401 for a bearer token `verify` refused: `token_revoked` when the trust state revoked it
 * (logout, password change, staff disabled: the reason in details), else `token_invalid`.
 */
export function tokenRefusal(err: unknown): UnauthorizedError {
  if (err instanceof TokenRevokedError)
    return new UnauthorizedError('token_revoked', `the bearer token was revoked (${err.reason})`, 'log in again', { reason: err.reason });
  return new UnauthorizedError(
    'token_invalid',
    `the bearer token was refused: ${(err as Error).message}`,
    'log in again or refresh the access token',
  );
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p)
    throw new UnauthorizedError('token_missing', 'this route needs a bearer token', 'log in and send Authorization: Bearer <accessToken>');
  return p;
}
