import { principalOf, z } from '@omnimall/service-kit';
import { login, register, type LoginResult } from '../application/accounts';
import { profileView } from '../application/customers';
import { logout, refresh, revokeAllSessions } from '../application/sessions';
import { staffLogin } from '../application/staff';
import { errors, meta, tags, withRetryAfter, type Routes } from './common';
import * as S from './schemas';
import { staffView } from './staff';

const sessionView = (r: LoginResult) => ({
  customer: profileView(r.customer),
  channel: r.channel,
  tokens: r.tokens,
  ...(r.deviceLink ? { deviceLink: r.deviceLink } : {}),
});

/** Registration, logins (customers on any channel, staff), refresh-token rotation and logouts. */
export function authRoutes({ api, ctx, authed }: Routes): void {
  api.route({
    method: 'post',
    path: '/auth/register',
    summary: 'Register a customer with email and password (on the channel named by x-channel-code)',
    tags: tags.auth,
    headers: S.ChannelHeader,
    body: S.RegisterBody,
    responses: {
      201: { description: 'registered and logged in', schema: S.Session },
      ...errors([403, 409, 429], 'residency refusal, email taken, or too many registrations from this address (Retry-After)'),
    },
    handler: async ({ body, req, res }) => {
      const m = meta(req, res);
      const r = await withRetryAfter(res, () => register(ctx, body, m));
      return { status: 201, body: sessionView({ customer: r.customer, channel: m.channel, tokens: r.tokens }) };
    },
  });
  api.route({
    method: 'post',
    path: '/auth/login',
    summary: 'Log a customer in on any channel: answers the global account and the channel',
    tags: tags.auth,
    headers: S.ChannelHeader,
    body: S.LoginBody,
    responses: {
      200: { description: 'logged in', schema: S.Session },
      ...errors([401, 403, 429], 'wrong credentials, refused standing or residency, or delayed after repeated attempts (Retry-After)'),
    },
    handler: async ({ body, req, res }) => ({ body: sessionView(await withRetryAfter(res, () => login(ctx, body, meta(req, res)))) }),
  });
  api.route({
    method: 'post',
    path: '/auth/refresh',
    summary: 'Rotate a refresh token (a reused token revokes its whole session)',
    tags: tags.auth,
    body: S.RefreshBody,
    responses: { 200: { description: 'new tokens', schema: S.Tokens }, ...errors([401]) },
    handler: async ({ body }) => ({ body: await refresh(ctx, body.refreshToken) }),
  });
  api.route({
    method: 'post',
    path: '/auth/logout',
    summary: 'Close the session of a refresh token',
    tags: tags.auth,
    body: S.RefreshBody,
    responses: { 204: { description: 'closed' } },
    handler: async ({ body }) => {
      await logout(ctx, body.refreshToken);
      return { status: 204 };
    },
  });
  api.route({
    method: 'post',
    path: '/auth/logout-all',
    summary: 'Log out everywhere: close every session of the caller',
    tags: tags.auth,
    auth: true,
    before: authed(),
    responses: { 200: { description: 'sessions closed', schema: z.object({ revokedSessions: z.number() }) } },
    handler: async ({ res }) => ({ body: { revokedSessions: await revokeAllSessions(ctx, principalOf(res).sub, 'logout_all') } }),
  });
  api.route({
    method: 'post',
    path: '/auth/staff/login',
    summary: 'Log a staff account in',
    tags: tags.auth,
    headers: S.ChannelHeader,
    body: S.LoginBody.pick({ email: true, password: true }),
    responses: {
      200: { description: 'logged in', schema: z.object({ staff: S.StaffView, tokens: S.Tokens }) },
      ...errors([401, 429], 'wrong credentials, a disabled account (account_disabled), or delayed (Retry-After)'),
    },
    handler: async ({ body, req, res }) => {
      const r = await withRetryAfter(res, () => staffLogin(ctx, body, meta(req, res)));
      return { body: { staff: staffView(r.staff), tokens: r.tokens } };
    },
  });
}
