/**
 * Channels: every channel's status (admins), and one channel's status feed for business users: admins,
 * compliance officers, sellers, and channel managers of that channel (not of another one).
 */
import { channelScopeRefusal } from '@omnimall/contracts';
import { ForbiddenError, principalOf, z, type HttpApi } from '@omnimall/service-kit';
import type { ApiDeps, Guards } from './deps';
import { ChannelView, channelView, FeedEntry, feedView } from './schemas';

export function channelRoutes(api: HttpApi, d: ApiDeps, { admin, staff }: Guards): void {
  api.route({
    method: 'get',
    path: '/channels',
    summary: 'Status of every channel: lifecycle state, blocks and their reasons',
    tags: ['channels'],
    auth: true,
    before: admin,
    responses: { 200: { description: 'Channels', schema: z.object({ channels: z.array(ChannelView) }) } },
    handler: async () => ({ body: { channels: (await d.queries.channels()).map(channelView) } }),
  });

  api.route({
    method: 'get',
    path: '/channels/:code/status-feed',
    summary: 'Known limitations, delays and recoveries of one channel, newest first, for business users',
    tags: ['channels'],
    auth: true,
    before: staff,
    params: z.object({ code: z.string().min(1).max(64) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
    responses: {
      200: { description: 'Feed', schema: z.object({ channel: z.string(), status: ChannelView.nullable(), entries: z.array(FeedEntry) }) },
    },
    handler: async ({ params, query, res }) => {
      const p = principalOf(res);
      const managerOnly =
        p.roles.includes('channel_manager') && !p.roles.some((r) => ['admin', 'compliance_officer', 'seller'].includes(r));
      const refusal = managerOnly ? channelScopeRefusal(p, params.code) : undefined;
      if (refusal) throw new ForbiddenError(...refusal);
      const entries = await d.queries.feed(params.code, query.limit);
      const status = await d.queries.channel(params.code);
      return { body: { channel: params.code, status: status && channelView(status), entries: entries.map(feedView) } };
    },
  });
}
