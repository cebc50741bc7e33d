import { HttpApi, principalOf, requireAuth, WITHOUT_OUTBOX, z, type TokenVerifier } from '@omnimall/service-kit';
import type { ConsumerLag } from '../application/consumer-lag';
import type { Tracker } from '../application/tracker';
import { groupIssues } from '../domain/issues';
import { laggingServices, WINDOWS, type Tracking, type WindowName } from '../domain/propagation';
import type { Store } from '../store/models';

export interface ApiDeps {
  verifier: TokenVerifier;
  tracker: Tracker;
  lag: ConsumerLag;
  store: Store;
}

const Window = z.enum(Object.keys(WINDOWS) as [WindowName, ...WindowName[]]).default('5m');
const Percentiles = z.object({
  window: z.string(),
  count: z.number(),
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
  max: z.number().nullable(),
});
const Ack = z.object({
  ackId: z.string(),
  service: z.string(),
  group: z.string(),
  channel: z.string().nullable(),
  appliedAt: z.number(),
  lagMs: z.number(),
  outcome: z.string(),
  attempt: z.number(),
  error: z.string().nullable(),
});
const EventView = z.object({
  eventId: z.string(),
  topic: z.string(),
  type: z.string(),
  producer: z.string().nullable(),
  sourceChannel: z.string().nullable(),
  aggregateId: z.string().nullable(),
  occurredAt: z.number(),
  state: z.string(),
  expected: z.array(z.string()),
  lagging: z.array(z.string()),
  slaMs: z.number(),
  acks: z.array(Ack),
  retries: z.array(z.record(z.string(), z.unknown())),
  escalation: z.record(z.string(), z.unknown()).nullable(),
  actions: z.array(z.record(z.string(), z.unknown())),
});
const IssueGroup = z.object({
  consumer: z.string(),
  errorClass: z.string(),
  channel: z.string(),
  state: z.string(),
  count: z.number(),
  eventIds: z.array(z.string()),
});
const ChannelView = z.object({
  code: z.string(),
  name: z.string(),
  kind: z.string(),
  state: z.string(),
  previousState: z.string().nullable(),
  blockReasons: z.array(z.string()),
  expectedBackAt: z.number().nullable(),
  updatedAt: z.number(),
});
const FeedEntry = z.object({
  id: z.string(),
  channel: z.string(),
  at: z.number(),
  kind: z.string(),
  title: z.string(),
  message: z.string(),
  eventId: z.string().nullable(),
  escalationId: z.string().nullable(),
});
const EventIdParams = z.object({ eventId: z.string().min(1).max(64) });
const Note = z.object({ note: z.string().trim().min(1).max(2000) });

export function view(t: Tracking): z.infer<typeof EventView> {
  return {
    eventId: t._id,
    topic: t.topic,
    type: t.type,
    producer: t.producer ?? null,
    sourceChannel: t.sourceChannel ?? null,
    aggregateId: t.aggregateId ?? null,
    occurredAt: t.occurredAt,
    state: t.state,
    expected: t.expected,
    lagging: laggingServices(t),
    slaMs: t.slaMs,
    acks: t.acks,
    retries: t.retries as never,
    escalation: (t.escalation ?? null) as never,
    actions: t.actions as never,
  };
}

const PROJECTION = { raw: 0, ...WITHOUT_OUTBOX };

export function buildApi(d: ApiDeps): HttpApi {
  const admin = [requireAuth(d.verifier, { kind: 'staff', roles: ['admin'] })];
  const staff = [requireAuth(d.verifier, { kind: 'staff' })];
  const api = new HttpApi({
    title: 'omnimall sync-monitor',
    version: '0.1.0',
    description: 'Propagation lag, SLA retries and escalations, consumer lag, channel status feeds.',
  });

  const recent = async (limit: number, filter: Record<string, string> = {}): Promise<Tracking[]> =>
    (await d.store.tracking.find(filter, PROJECTION).sort({ occurredAt: -1 }).limit(limit).lean()) as Tracking[];
  const issues = async (): Promise<Tracking[]> => {
    const open = (await d.store.tracking.find({ open: true }, PROJECTION).sort({ occurredAt: -1 }).limit(1000).lean()) as Tracking[];
    return open.filter((t) => t.state !== 'open' || t.acks.some((a) => a.outcome === 'failed' || a.outcome === 'dead_lettered'));
  };
  const channels = async (): Promise<z.infer<typeof ChannelView>[]> =>
    (await d.store.channels.find().sort({ _id: 1 }).lean()).map((c) => ({
      code: c._id,
      name: c.name,
      kind: c.kind,
      state: c.state,
      previousState: c.previousState ?? null,
      blockReasons: c.blockReasons ?? [],
      expectedBackAt: c.expectedBackAt ?? null,
      updatedAt: c.updatedAt,
    }));

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
      body: d.tracker.windows.percentiles(query.window, Date.now(), { type: query.type, consumer: query.consumer, channel: query.channel }),
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
    handler: async ({ query }) => ({ body: { window: query.window, types: d.tracker.windows.byType(query.window, Date.now()) } }),
  });

  api.route({
    method: 'get',
    path: '/propagation/events',
    summary: 'Recently tracked events, newest first; correlationId finds the events one request caused',
    tags: ['propagation'],
    auth: true,
    before: admin,
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50), correlationId: z.string().min(1).max(200).optional() }),
    responses: { 200: { description: 'Events', schema: z.object({ events: z.array(EventView) }) } },
    handler: async ({ query }) => ({
      body: { events: (await recent(query.limit, query.correlationId ? { correlationId: query.correlationId } : {})).map(view) },
    }),
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
    handler: async ({ params }) => ({ body: view(await d.tracker.get(params.eventId)) }),
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
      const open = await issues();
      return { body: { groups: groupIssues(open), events: open.slice(0, 100).map(view) } };
    },
  });

  api.route({
    method: 'post',
    path: '/propagation/events/:eventId/retry',
    summary: 'Retry now: re-deliver the event to every lagging consumer group',
    tags: ['remediation'],
    auth: true,
    before: admin,
    params: EventIdParams,
    body: z.object({ note: z.string().max(2000).optional() }),
    responses: { 200: { description: 'The event after the retry', schema: EventView } },
    handler: async ({ params, body, res }) => ({
      body: view(await d.tracker.retryNow(params.eventId, principalOf(res).sub, body.note ?? null)),
    }),
  });

  api.route({
    method: 'post',
    path: '/propagation/events/:eventId/reconcile',
    summary: 'Mark the event manually reconciled, with a note (closes its escalation)',
    tags: ['remediation'],
    auth: true,
    before: admin,
    params: EventIdParams,
    body: Note,
    responses: { 200: { description: 'The event', schema: EventView }, 409: { description: 'Already complete or reconciled' } },
    handler: async ({ params, body, res }) => ({ body: view(await d.tracker.reconcile(params.eventId, principalOf(res).sub, body.note)) }),
  });

  api.route({
    method: 'post',
    path: '/propagation/events/:eventId/support-case',
    summary: 'Open a support case about the event',
    tags: ['remediation'],
    auth: true,
    before: admin,
    params: EventIdParams,
    body: Note,
    responses: { 201: { description: 'The case', schema: z.object({ caseId: z.string(), event: EventView }) } },
    handler: async ({ params, body, res }) => {
      const r = await d.tracker.openSupportCase(params.eventId, principalOf(res).sub, body.note);
      return { status: 201, body: { caseId: r.caseId, event: view(r.tracking) } };
    },
  });

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
    path: '/channels',
    summary: 'Status of every channel: lifecycle state, blocks and their reasons',
    tags: ['channels'],
    auth: true,
    before: admin,
    responses: { 200: { description: 'Channels', schema: z.object({ channels: z.array(ChannelView) }) } },
    handler: async () => ({ body: { channels: await channels() } }),
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
    handler: async ({ params, query }) => {
      const entries = await d.store.feed.find({ channel: params.code }).sort({ at: -1, _id: -1 }).limit(query.limit).lean();
      const status = (await channels()).find((c) => c.code === params.code) ?? null;
      return {
        body: {
          channel: params.code,
          status,
          entries: entries.map(({ _id, ...e }) => ({ id: _id, ...e, eventId: e.eventId ?? null, escalationId: e.escalationId ?? null })),
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/dashboard/summary',
    summary: 'Everything the admin dashboard shows, in one call',
    tags: ['dashboard'],
    auth: true,
    before: admin,
    query: z.object({ window: Window }),
    responses: { 200: { description: 'Summary', schema: z.record(z.string(), z.unknown()) } },
    handler: async ({ query }) => {
      const open = await issues();
      return {
        body: {
          at: Date.now(),
          channels: await channels(),
          recentEvents: (await recent(30)).map(view),
          percentiles: d.tracker.windows.byType(query.window, Date.now()),
          window: query.window,
          issues: groupIssues(open),
          issueEvents: open.slice(0, 50).map(view),
          consumerLag: d.lag.latest().groups,
        },
      };
    },
  });

  return api;
}
