/** Propagation: lag percentiles, tracked events, and the events needing attention (admins only). */
import { z, type HttpApi } from '@omnimall/service-kit';
import { groupIssues } from '../domain/issues';
import type { ApiDeps, Guards } from './deps';
import {
  EscalationSeriesView,
  EventIdParams,
  EventView,
  gridOf,
  IssueGroup,
  Percentiles,
  PropagationSeriesView,
  SERIES_400,
  SeriesQuery,
  TrackingHealthView,
  view,
  Window,
} from './schemas';

export function propagationRoutes(api: HttpApi, d: ApiDeps, { admin }: Guards): void {
  api.route({
    method: 'get',
    path: '/propagation/percentiles',
    summary: 'p50/p95/p99 propagation lag (appliedAt − occurredAt of applied acks) over a sliding window',
    tags: ['propagation'],
    auth: true,
    before: admin,
    query: z.object({ window: Window, type: z.string().optional(), consumer: z.string().optional(), channel: z.string().optional() }),
    responses: { 200: { description: 'Percentiles in ms', schema: Percentiles } },
    handler: async ({ query }) => ({
      body: d.queries.windows.percentiles(query.window, Date.now(), { type: query.type, consumer: query.consumer, channel: query.channel }),
    }),
  });

  api.route({
    method: 'get',
    path: '/propagation/percentiles/by-type',
    summary: 'Lag percentiles per event type over a sliding window',
    tags: ['propagation'],
    auth: true,
    before: admin,
    query: z.object({ window: Window }),
    responses: {
      200: {
        description: 'One row per event type',
        schema: z.object({ window: z.string(), types: z.array(Percentiles.extend({ type: z.string() })) }),
      },
    },
    handler: async ({ query }) => ({ body: { window: query.window, types: d.queries.windows.byType(query.window, Date.now()) } }),
  });

  api.route({
    method: 'get',
    path: '/propagation/series',
    summary:
      'Propagation lag over time: per channel (the 10 of the highest p99), p50/p99 of first applied acks per step, with the SLA; this instance’s, since it started',
    tags: ['propagation'],
    auth: true,
    before: admin,
    query: SeriesQuery,
    responses: {
      200: { description: 'One row per channel, one value per step (null: no sample)', schema: PropagationSeriesView },
      400: SERIES_400,
    },
    handler: async ({ query }) => {
      const now = Date.now();
      return { body: d.queries.lagSeries.series(gridOf(query, now), now) };
    },
  });

  api.route({
    method: 'get',
    path: '/escalations/series',
    summary: 'Escalations opened and resolved (or reconciled) per step; this instance’s, since it started',
    tags: ['propagation'],
    auth: true,
    before: admin,
    query: SeriesQuery,
    responses: { 200: { description: 'Counts per step', schema: EscalationSeriesView }, 400: SERIES_400 },
    handler: async ({ query }) => {
      const now = Date.now();
      return { body: d.queries.escalationSeries.series(gridOf(query, now), now) };
    },
  });

  api.route({
    method: 'get',
    path: '/propagation/events',
    summary:
      'Recently tracked events, newest first; correlationId finds the events one request caused, channel those of a channel (source or acking), since/until a range of occurredAt (epoch ms)',
    tags: ['propagation'],
    auth: true,
    before: admin,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      correlationId: z.string().min(1).max(200).optional(),
      channel: z.string().min(1).max(64).optional(),
      since: z.coerce.number().int().min(0).optional(),
      until: z.coerce.number().int().min(0).optional(),
    }),
    responses: { 200: { description: 'Events', schema: z.object({ events: z.array(EventView) }) } },
    handler: async ({ query: { limit, ...filter } }) => ({ body: { events: (await d.queries.recent(limit, filter)).map(view) } }),
  });

  api.route({
    method: 'get',
    path: '/propagation/events/:eventId',
    summary: 'One event: expected consumer services, acks with their lag, retries, escalation, actions',
    tags: ['propagation'],
    auth: true,
    before: admin,
    params: EventIdParams,
    responses: { 200: { description: 'The event', schema: EventView } },
    handler: async ({ params }) => ({ body: view(await d.queries.event(params.eventId)) }),
  });

  api.route({
    method: 'get',
    path: '/tracking/health',
    summary: "The monitor's own lag behind its topics per consumer group; degraded while behind by more than the shortest SLA",
    tags: ['propagation'],
    auth: true,
    before: admin,
    responses: { 200: { description: 'Tracking health', schema: TrackingHealthView } },
    handler: async () => ({ body: d.queries.health() }),
  });

  api.route({
    method: 'get',
    path: '/issues',
    summary: 'Failing, retrying and escalated events grouped by root cause (consumer, error class, channel)',
    tags: ['propagation'],
    auth: true,
    before: admin,
    responses: { 200: { description: 'Groups', schema: z.object({ groups: z.array(IssueGroup), events: z.array(EventView) }) } },
    handler: async () => {
      const open = await d.queries.issues();
      return { body: { groups: groupIssues(open), events: open.slice(0, 100).map(view) } };
    },
  });
}
