/** Kafka consumer-group lag (admins): the latest measurement, or a fresh one. */
import { z, type HttpApi } from '@omnimall/service-kit';
import type { ApiDeps, Guards } from './deps';
import { ConsumerLagSeriesView, gridOf, SERIES_400, SeriesQuery } from './schemas';

export function consumerLagRoutes(api: HttpApi, d: ApiDeps, { admin }: Guards): void {
  api.route({
    method: 'get',
    path: '/consumer-lag',
    summary: 'Consumer-group lag per group and partition (end offset − committed offset)',
    tags: ['kafka'],
    auth: true,
    before: admin,
    query: z.object({ refresh: z.enum(['true', 'false']).default('false') }),
    responses: {
      200: {
        description: 'Latest measurement',
        schema: z.object({
          at: z.number().nullable(),
          groups: z.array(z.object({ group: z.string(), topic: z.string(), lag: z.number() })),
          partitions: z.array(
            z.object({
              group: z.string(),
              topic: z.string(),
              partition: z.number(),
              committed: z.number().nullable(),
              end: z.number(),
              lag: z.number(),
            }),
          ),
        }),
      },
    },
    handler: async ({ query }) => ({ body: query.refresh === 'true' ? await d.lag.refresh() : d.lag.latest() }),
  });

  api.route({
    method: 'get',
    path: '/consumer-lag/series',
    summary: 'Consumer-group lag over time: per group (the 10 of the highest lag), the last measurement of each step',
    tags: ['kafka'],
    auth: true,
    before: admin,
    query: SeriesQuery,
    responses: {
      200: { description: 'One row per group, one value per step (null: not measured)', schema: ConsumerLagSeriesView },
      400: SERIES_400,
    },
    handler: async ({ query }) => {
      const now = Date.now();
      return { body: d.lag.history.series(gridOf(query, now), now) };
    },
  });
}
