import type { RequestHandler } from 'express';
import { HttpApi, UnauthorizedError, requireAuth, type Principal, type TokenVerifier } from '@omnimall/service-kit';
import type { IdentityContext } from '../application/context';
import { sessionOpen } from '../application/sessions';
import { adminRoutes } from './admin';
import { authRoutes } from './auth';
import type { Routes } from './common';
import { complianceRoutes } from './compliance';
import { customerRoutes } from './customers';
import { keyRoutes } from './keys';
import { passwordRoutes } from './passwords';
import { staffRoutes } from './staff';

/**
 * identity's HTTP API (also the source of /openapi.json). Tokens are verified locally; identity's own
 * routes also refuse tokens of sessions closed since they were signed (other services accept them
 * until they expire). The verifier's keys (the signing key and any still accepted during a rotation)
 * are published at /.well-known/jwks.json.
 */
export function identityApi(ctx: IdentityContext, verifier: TokenVerifier): HttpApi {
  const openSession: RequestHandler = (_req, res, next) => {
    const p = res.locals.principal as Principal | undefined;
    if (!p?.sid) return next();
    sessionOpen(ctx, p.sid)
      .then((open) => next(open ? undefined : new UnauthorizedError('session_revoked', 'this session was closed', 'log in again')))
      .catch(next);
  };
  const api = new HttpApi({
    title: 'omnimall identity',
    version: '1.0.0',
    description:
      'One global customer across channels: accounts, sessions, linked identities, merges, standing and entitlements, consent, data residency, export and erasure.',
  });
  const routes: Routes = { api, ctx, authed: (rule = {}) => [requireAuth(verifier, rule), openSession] };
  authRoutes(routes);
  passwordRoutes(routes);
  staffRoutes(routes);
  customerRoutes(routes);
  adminRoutes(routes);
  complianceRoutes(routes);
  keyRoutes(routes, () => verifier.jwks());
  return api;
}
