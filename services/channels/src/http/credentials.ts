/**
 * API keys of channel apps, their verification, and the routes channel apps call with them. A key's
 * issue and revocation publish its state on channels.channel-credentials (application/channel-service.ts).
 * Refusals answer the kit's requireChannel codes: 401 channel_credentials_missing, channel_key_invalid,
 * channel_key_revoked, channel_retired; 403 channel_mismatch (a valid key of another channel).
 */
import { z, type HttpApi } from '@omnimall/service-kit';
import { commerceAllowed } from '../domain/lifecycle';
import { ChannelCode } from '../domain/registry';
import type { Guards, RouteDeps } from './deps';
import { CodeParams, Json, cause, ok } from './schemas';

/** How a channel app identifies itself (documented on its routes; checked by Guards.channelApp). */
const ChannelAppHeaders = z.object({
  'x-channel-code': z.string().describe('The calling channel’s code'),
  'x-channel-key': z.string().describe('An API key issued to that channel (POST /channels/{code}/credentials)'),
});

const KEY_REFUSED = {
  401: {
    description: 'channel_credentials_missing, channel_key_invalid (unknown or wrong key), channel_key_revoked, or channel_retired',
  },
  403: { description: 'channel_mismatch: the key belongs to another channel than x-channel-code' },
};

/** Issue, revoke and verify a channel’s API keys. */
export function credentialRoutes(api: HttpApi, d: Pick<RouteDeps, 'credentials'>, g: Guards): void {
  api.route({
    method: 'post',
    path: '/channels/:code/credentials',
    summary: 'Issue an API key for the channel’s apps (shown once; stored hashed)',
    tags: ['credentials'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    responses: {
      201: { description: 'The key; keep it, it is not shown again', schema: z.object({ keyId: z.string(), apiKey: z.string() }) },
    },
    handler: async ({ params, res }) => ok(await d.credentials.issueCredential(params.code, g.scoped(res, params.code)), 201),
  });
  api.route({
    method: 'delete',
    path: '/channels/:code/credentials/:keyId',
    summary: 'Revoke an API key',
    tags: ['credentials'],
    auth: true,
    before: [g.staff],
    params: z.object({ code: ChannelCode, keyId: z.string().regex(/^[0-9a-f]{12}$/) }),
    responses: { 204: { description: 'Revoked' } },
    handler: async ({ params, res }) => {
      g.scoped(res, params.code);
      await d.credentials.revokeCredential(params.code, params.keyId);
      return { status: 204 };
    },
  });
  api.route({
    method: 'post',
    path: '/credentials/verify',
    summary: 'Check a channel API key (for gateways and other services); 401 when it does not match',
    tags: ['credentials'],
    body: z.object({ channel: ChannelCode, apiKey: z.string().min(1).max(200) }).strict(),
    responses: {
      200: {
        description: 'Valid',
        schema: z.object({ valid: z.literal(true), channel: z.string(), state: z.string(), commerceAllowed: z.boolean() }),
      },
      401: { description: 'channel_key_invalid (unknown or wrong key), channel_key_revoked, or channel_retired' },
      403: KEY_REFUSED[403],
    },
    handler: async ({ body }) => {
      const doc = await d.credentials.authenticate(body.channel, body.apiKey);
      return ok({
        valid: true,
        channel: doc._id,
        state: doc.state,
        commerceAllowed: commerceAllowed(doc.state, doc.blockReasons),
      });
    },
  });
}

/** What a channel app, identified by its API key, reads and reports. */
export function channelAppRoutes(api: HttpApi, d: Pick<RouteDeps, 'channels'>, g: Guards): void {
  api.route({
    method: 'get',
    path: '/channel-app/config',
    summary: 'The effective configuration for the calling channel (global values with its overrides)',
    tags: ['channel app'],
    before: [g.channelApp],
    headers: ChannelAppHeaders,
    responses: {
      ...KEY_REFUSED,
      200: {
        description: 'Effective configuration',
        schema: z.object({ channel: z.string(), version: z.number(), minimumVersion: z.number(), values: Json }),
      },
    },
    handler: async ({ res }) => ok({ channel: g.appChannel(res)._id, ...(await d.channels.effectiveConfig(g.appChannel(res)._id)) }),
  });
  api.route({
    method: 'post',
    path: '/channel-app/config-report',
    summary: 'Report the global configuration version the channel applies; may block or unblock commerce',
    tags: ['channel app'],
    before: [g.channelApp],
    headers: ChannelAppHeaders,
    body: z.object({ version: z.number().int().min(1) }).strict(),
    responses: {
      ...KEY_REFUSED,
      200: {
        description: 'The channel’s standing',
        schema: z.object({ appliedConfigVersion: z.number(), blockReasons: z.array(z.string()), commerceAllowed: z.boolean() }),
      },
    },
    handler: async ({ body, res }) => {
      const code = g.appChannel(res)._id;
      const doc = await d.channels.reportConfigVersion(code, body.version, cause(res, code));
      return ok({
        appliedConfigVersion: doc.appliedConfigVersion,
        blockReasons: doc.blockReasons,
        commerceAllowed: commerceAllowed(doc.state, doc.blockReasons),
      });
    },
  });
}
