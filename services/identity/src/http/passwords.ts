import { channelResponses, principalOf, z } from '@omnimall/service-kit';
import { changePassword, requestPasswordReset, resetPassword } from '../application/passwords';
import { ChannelAppHeaders, errors, meta, tags, withRetryAfter, type Routes } from './common';
import * as S from './schemas';

/**
 * Password change (the signed-in account, current password required) and reset (asked for through a
 * channel app, whose credential names the channel that delivers the token; the answer is the same
 * whether the email exists; the token reaches the customer through that channel, never through this API).
 */
export function passwordRoutes({ api, ctx, authed, channelApp }: Routes): void {
  api.route({
    method: 'post',
    path: '/auth/password',
    summary: "Change the caller's password (customer or staff): every other session is closed",
    tags: tags.auth,
    auth: true,
    before: authed(),
    body: S.PasswordChangeBody,
    responses: {
      200: { description: 'changed', schema: z.object({ revokedSessions: z.number() }) },
      ...errors(
        [401, 403, 429],
        'no valid token, the current password is wrong (current_password_wrong), x-channel-code naming another channel than the token (channel_mismatch), or delayed (Retry-After)',
      ),
    },
    handler: async ({ body, req, res }) => ({
      body: { revokedSessions: await withRetryAfter(res, () => changePassword(ctx, principalOf(res), body, meta(req, res))) },
    }),
  });
  api.route({
    method: 'post',
    path: '/auth/password-reset',
    summary:
      'Ask for a password reset through a channel app (x-channel-code + x-channel-key): that channel delivers a single-use token (same answer for unknown emails)',
    tags: tags.auth,
    headers: ChannelAppHeaders,
    before: channelApp(),
    body: S.ResetRequestBody,
    responses: {
      202: {
        description: 'accepted: a token is on its way if the email belongs to an account',
        schema: z.object({ accepted: z.literal(true) }),
      },
      ...channelResponses,
      ...errors([429], 'too many requests from this address (Retry-After)'),
    },
    handler: async ({ body, req, res }) => {
      await withRetryAfter(res, () => requestPasswordReset(ctx, body.email, meta(req, res)));
      return { status: 202, body: { accepted: true } };
    },
  });
  api.route({
    method: 'post',
    path: '/auth/password-reset/confirm',
    summary: 'Set a new password with a reset token (once, before it expires): every session is closed',
    tags: tags.auth,
    body: S.ResetConfirmBody,
    responses: { 204: { description: 'password set' }, ...errors([400], 'weak password, or a token unknown, used or expired') },
    handler: async ({ body }) => {
      await resetPassword(ctx, body);
      return { status: 204 };
    },
  });
}
