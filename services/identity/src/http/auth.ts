import type { Response } from 'express';
import { ValidationError, channelOf, channelResponses, principalOf, z } from '@omnimall/service-kit';
import { login, register, type LoginResult } from '../application/accounts';
import { profileView } from '../application/customers';
import { announceRevocation, revocationOf } from '../application/revocations';
import { provenDevice } from '../application/devices';
import { logout, refresh, revokeAllSessions } from '../application/sessions';
import { staffLogin } from '../application/staff';
import { ChannelAppHeaders, correlationOf, errors, keyChannel, meta, tags, withRetryAfter, type Routes } from './common';
import * as S from './schemas';
import { staffView } from './staff';

const sessionView = (r: LoginResult) => ({
  customer: profileView(r.customer),
  channel: r.channel,
  tokens: r.tokens,
  ...(r.deviceLink ? { deviceLink: r.deviceLink } : {}),
});

/**
 * Registration, logins (customers through a channel app, staff without one), refresh-token rotation
 * and logouts. A customer's register, login and refresh are channel app calls (x-channel-code +
 * x-channel-key): the session and every access token of it are bound to the credential's channel,
 * never to a header alone. A device a login names is proven by its device token.
 */
export function authRoutes({ api, ctx, auth, authed, channelApp }: Routes): void {
  /** The request's meta with the channel its credential proved (channelApp ran), and the device its token proves. */
  const customerCall = async (req: Parameters<typeof meta>[0], res: Response, body: { deviceToken?: string; deviceId?: string }) => {
    if (body.deviceId !== undefined)
      throw new ValidationError(
        'device_token_required',
        'a bare deviceId proves nothing and is no longer accepted',
        'send deviceToken: the token POST /devices issued to this device',
      );
    const m = { ...meta(req, res), channel: channelOf(res)! };
    const device = body.deviceToken ? await provenDevice(auth.verifier, body.deviceToken, m.channel) : undefined;
    return { meta: m, deviceId: device?.deviceId };
  };
  api.route({
    method: 'post',
    path: '/auth/register',
    summary: 'Register a customer with email and password through a channel app (its credential binds the session to the channel)',
    tags: tags.auth,
    headers: ChannelAppHeaders,
    before: channelApp(),
    body: S.RegisterBody,
    responses: {
      201: { description: 'registered and logged in', schema: S.Session },
      ...channelResponses,
      ...errors(
        [400, 401, 403, 409, 429],
        'bad input, channel credential or device token refused, residency refusal, email taken, or too many registrations from this address (Retry-After)',
      ),
    },
    handler: async ({ body, req, res }) => {
      const c = await customerCall(req, res, body);
      const r = await withRetryAfter(res, () => register(ctx, { ...body, deviceId: c.deviceId }, c.meta));
      return { status: 201, body: sessionView(r) };
    },
  });
  api.route({
    method: 'post',
    path: '/auth/login',
    summary: 'Log a customer in through a channel app: answers the global account, and tokens bound to the channel of its credential',
    tags: tags.auth,
    headers: ChannelAppHeaders,
    before: channelApp(),
    body: S.LoginBody,
    responses: {
      200: { description: 'logged in', schema: S.Session },
      ...channelResponses,
      ...errors(
        [400, 401, 403, 429],
        'wrong credentials, channel credential or device token refused, refused standing or residency, or delayed after repeated attempts (Retry-After)',
      ),
    },
    handler: async ({ body, req, res }) => {
      const c = await customerCall(req, res, body);
      return { body: sessionView(await withRetryAfter(res, () => login(ctx, { ...body, deviceId: c.deviceId }, c.meta))) };
    },
  });
  api.route({
    method: 'post',
    path: '/auth/refresh',
    summary:
      "Rotate a refresh token (a reused token revokes its whole session); a customer's only through the channel app of its session (x-channel-code + x-channel-key), a staff member's without",
    tags: tags.auth,
    headers: ChannelAppHeaders,
    before: channelApp({ optional: true }),
    body: S.RefreshBody,
    responses: {
      200: { description: 'new tokens (a customer session keeps its channel)', schema: S.Tokens },
      ...channelResponses,
      ...errors(
        [401, 403],
        'refresh token refused, channel credential missing or refused, or the session belongs to another channel (channel_mismatch)',
      ),
    },
    handler: async ({ body, res }) => ({ body: await refresh(ctx, body.refreshToken, keyChannel(res)) }),
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
    responses: {
      200: { description: 'sessions closed', schema: z.object({ revokedSessions: z.number() }) },
      ...errors([401, 403], 'no valid token, or x-channel-code naming another channel than the token (channel_mismatch)'),
    },
    handler: async ({ res }) => {
      const p = principalOf(res);
      // Announced first (identity.session-revoked): every service refuses the caller's tokens at once.
      await announceRevocation(ctx, revocationOf(ctx, p, 'logout_all', null), { correlationId: correlationOf(res) });
      return { body: { revokedSessions: await revokeAllSessions(ctx, p.sub, 'logout_all') } };
    },
  });
  api.route({
    method: 'post',
    path: '/auth/staff/login',
    summary: 'Log a staff account in (no channel credential: x-channel-code, if sent, is checked against the scope by each route)',
    tags: tags.auth,
    headers: S.ChannelHeader,
    body: S.LoginBody.pick({ email: true, password: true }),
    responses: {
      200: { description: 'logged in', schema: z.object({ staff: S.StaffView, tokens: S.Tokens }) },
      ...errors(
        [400, 401, 429],
        'a malformed x-channel-code, wrong credentials, a disabled account (account_disabled), or delayed (Retry-After)',
      ),
    },
    handler: async ({ body, req, res }) => {
      const r = await withRetryAfter(res, () => staffLogin(ctx, body, meta(req, res)));
      return { body: { staff: staffView(r.staff), tokens: r.tokens } };
    },
  });
}
