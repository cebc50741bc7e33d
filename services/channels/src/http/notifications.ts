/** The notifications stored for a channel. */
import { z, type HttpApi } from '@omnimall/service-kit';
import type { Guards, RouteDeps } from './deps';
import { CodeParams, Json, ok } from './schemas';

/** A channel’s notifications. */
export function notificationRoutes(api: HttpApi, d: Pick<RouteDeps, 'notifications'>, g: Guards): void {
  api.route({
    method: 'get',
    path: '/channels/:code/notifications',
    summary: 'Notifications generated for a channel, newest first',
    tags: ['notifications'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    responses: { 200: { description: 'Notifications', schema: z.object({ notifications: z.array(Json) }) } },
    handler: async ({ params, res }) => {
      g.scoped(res, params.code);
      const rows = await d.notifications.listFor(params.code);
      return ok({ notifications: rows.map(({ _id, ...n }) => ({ id: _id, ...n })) });
    },
  });
}
