import type { RequestHandler } from 'express';
import { HttpApi, UnauthorizedError, type Principal } from '@omnimall/service-kit';
import type { IdentityContext } from '../application/context';
import { sessionOpen } from '../application/sessions';
import { adminRoutes } from './admin';
import { authRoutes } from './auth';
import { guards, type IdentityAuth, type Routes } from './common';
import { complianceRoutes } from './compliance';
import { customerRoutes, linkRoutes } from './customers';
import { deviceRoutes } from './devices';
import { keyRoutes } from './keys';
import { passwordRoutes } from './passwords';
import { staffRoutes } from './staff';

/**
 * identity's HTTP API (also the source of /openapi.json). Tokens are verified locally; identity's own
 * routes also refuse tokens of sessions closed since they were signed (other services accept them
 * until they expire). The verifier's keys (the signing key and any still accepted during a rotation)
 * are published at /.well-known/jwks.json. Channel app calls (register, login, refresh, reset
 * requests, devices) are checked against the channel credentials in the trust state.
 */
export function identityApi(ctx: IdentityContext, auth: IdentityAuth): HttpApi {
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
  const routes: Routes = { api, ctx, auth, ...guards(auth, openSession) };
  authRoutes(routes);
  passwordRoutes(routes);
  staffRoutes(routes);
  customerRoutes(routes);
  linkRoutes(routes);
  deviceRoutes(routes);
  adminRoutes(routes);
  complianceRoutes(routes);
  keyRoutes(routes, () => auth.verifier.jwks());
  return api;
}
