/** Partner delivery (webhook endpoints and their deliveries) and partner ingestion (id mappings). */
import { z, type HttpApi } from '@omnimall/service-kit';
import { DELIVERY_EVENT_TYPES } from '../domain/delivery';
import { ChannelCode } from '../domain/registry';
import { endpointView } from '../application/endpoint-service';
import type { Guards, RouteDeps } from './deps';
import { CodeParams, Json, ok } from './schemas';

/** Webhook endpoints, deliveries and partner customer mappings. */
export function partnerRoutes(api: HttpApi, d: Pick<RouteDeps, 'endpoints' | 'partners'>, g: Guards): void {
  api.route({
    method: 'post',
    path: '/channels/:code/webhooks',
    summary: 'Register a webhook endpoint (https, public addresses only); deliveries are signed with the returned secret (shown once)',
    tags: ['partner delivery'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    body: z
      .object({
        url: z.string().max(2048),
        events: z
          .array(
            z.enum(DELIVERY_EVENT_TYPES, {
              error: (iss) => `unknown event kind ${JSON.stringify(iss.input)}; subscribe to ${DELIVERY_EVENT_TYPES.join(', ')}`,
            }),
          )
          .min(1)
          .describe(`The kinds of event delivered to the endpoint: ${DELIVERY_EVENT_TYPES.join(', ')}`),
      })
      .strict(),
    responses: {
      201: {
        description: 'Registered',
        schema: z.object({ id: z.string(), url: z.string(), events: z.array(z.string()), secret: z.string() }).passthrough(),
      },
      404: { description: 'No such channel' },
      409: { description: 'The channel is retired, or has its maximum of active endpoints (webhook_endpoint_limit)' },
      422: {
        description:
          'http outside local mode (webhook_https_required), a host that is or resolves to a non-public address (webhook_target_refused), or does not resolve (webhook_host_unresolvable)',
      },
    },
    handler: async ({ params, body, res }) => {
      const p = g.scoped(res, params.code);
      const { endpoint, secret } = await d.endpoints.register(params.code, body.url, body.events, p);
      return ok({ ...endpointView(endpoint), secret }, 201);
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/webhooks',
    summary: 'The channel’s webhook endpoints',
    tags: ['partner delivery'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    responses: { 200: { description: 'Endpoints', schema: z.object({ endpoints: z.array(Json) }) } },
    handler: async ({ params, res }) => {
      g.scoped(res, params.code);
      return ok({ endpoints: (await d.endpoints.list(params.code)).map(endpointView) });
    },
  });
  api.route({
    method: 'delete',
    path: '/channels/:code/webhooks/:id',
    summary: 'Deactivate a webhook endpoint',
    tags: ['partner delivery'],
    auth: true,
    before: [g.staff],
    params: z.object({ code: ChannelCode, id: z.string().max(100) }),
    responses: {
      204: { description: 'Deactivated; its pending deliveries end as failed (endpoint_deactivated)' },
      404: { description: 'No such endpoint' },
    },
    handler: async ({ params, res }) => {
      g.scoped(res, params.code);
      await d.endpoints.deactivate(params.code, params.id);
      return { status: 204 };
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/deliveries',
    summary: 'Webhook deliveries of a channel with their status and attempts, newest first',
    tags: ['partner delivery'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    query: z.object({ status: z.enum(['pending', 'delivered', 'failed']).optional() }),
    responses: { 200: { description: 'Deliveries', schema: z.object({ deliveries: z.array(Json) }) } },
    handler: async ({ params, query, res }) => {
      g.scoped(res, params.code);
      const rows = await d.endpoints.deliveriesOf(params.code, query.status);
      return ok({ deliveries: rows.map(({ _id, ...r }) => ({ id: _id, ...r })) });
    },
  });
  api.route({
    method: 'put',
    path: '/channels/:code/partner-customers/:partnerCustomerId',
    summary: 'Map a partner’s customer id to the global customer id (used by partner ingestion)',
    tags: ['partner ingestion'],
    auth: true,
    before: [g.staff],
    params: z.object({ code: ChannelCode, partnerCustomerId: z.string().min(1).max(128) }),
    body: z.object({ customerId: z.string().min(1).max(128) }).strict(),
    responses: { 204: { description: 'Mapped' } },
    handler: async ({ params, body, res }) => {
      g.scoped(res, params.code);
      await d.partners.mapCustomer(params.code, params.partnerCustomerId, body.customerId);
      return { status: 204 };
    },
  });
}
