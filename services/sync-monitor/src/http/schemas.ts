/** The zod schemas the routes validate with and OpenAPI is built from, and the views they answer with. */
import { z } from '@omnimall/service-kit';
import { ValidationError } from '@omnimall/service-kit/errors';
import { laggingServices, WINDOWS, type TrackingView, type WindowName } from '../domain/propagation';
import { SERIES_STEPS, SERIES_WINDOWS, stepGrid, type SeriesStep, type SeriesWindow, type StepGrid } from '../domain/series';
import type { ChannelStatus, FeedEntry as FeedEntryRecord } from '../domain/status-feed';

export const Window = z.enum(Object.keys(WINDOWS) as [WindowName, ...WindowName[]]).default('5m');
export const Percentiles = z.object({
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
export const EventView = z.object({
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
export const IssueGroup = z.object({
  consumer: z.string(),
  errorClass: z.string(),
  channel: z.string(),
  state: z.string(),
  count: z.number(),
  eventIds: z.array(z.string()),
});
export const ChannelView = z.object({
  code: z.string(),
  name: z.string(),
  kind: z.string(),
  state: z.string(),
  previousState: z.string().nullable(),
  blockReasons: z.array(z.string()),
  expectedBackAt: z.number().nullable(),
  updatedAt: z.number(),
});
export const FeedEntry = z.object({
  id: z.string(),
  channel: z.string(),
  at: z.number(),
  kind: z.string(),
  title: z.string(),
  message: z.string(),
  eventId: z.string().nullable(),
  escalationId: z.string().nullable(),
});
export const TrackingHealthView = z.object({
  at: z.number(),
  status: z.enum(['current', 'degraded']),
  behindMs: z.number(),
  shortestSlaMs: z.number(),
  groups: z.array(z.object({ group: z.string(), behindMs: z.number() })),
  trackedEvents: z.number(),
  openEvents: z.number(),
  snapshot: z.object({ at: z.number().nullable(), bytes: z.number(), events: z.number() }),
});
export const EventIdParams = z.object({ eventId: z.string().min(1).max(64) });
export const Note = z.object({ note: z.string().trim().min(1).max(2000) });

export function view(t: TrackingView): z.infer<typeof EventView> {
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
    // Records as stored; their shapes are documented on the domain types, not in the schema.
    retries: t.retries.map((r) => ({ ...r })),
    escalation: t.escalation ? { ...t.escalation } : null,
    actions: t.actions.map((a) => ({ ...a })),
  };
}

export function channelView(c: ChannelStatus): z.infer<typeof ChannelView> {
  return {
    code: c._id,
    name: c.name,
    kind: c.kind,
    state: c.state,
    previousState: c.previousState ?? null,
    blockReasons: c.blockReasons ?? [],
    expectedBackAt: c.expectedBackAt ?? null,
    updatedAt: c.updatedAt,
  };
}

export function feedView({ _id, ...e }: FeedEntryRecord): z.infer<typeof FeedEntry> {
  return { id: _id, ...e };
}

/** The query of a series route: a window and a step (default 15s, 1m for 1h). */
export const SeriesQuery = z.object({
  window: z.enum(Object.keys(SERIES_WINDOWS) as [SeriesWindow, ...SeriesWindow[]]).default('15m'),
  step: z.enum(Object.keys(SERIES_STEPS) as [SeriesStep, ...SeriesStep[]]).optional(),
});
const StepGridView = {
  stepMs: z.number(),
  from: z.number(),
  to: z.number(),
  steps: z.array(z.number()).describe('start of each step (epoch ms)'),
};
export const PropagationSeriesView = z.object({
  ...StepGridView,
  slaMs: z.number(),
  channels: z.array(
    z.object({ channel: z.string(), count: z.number(), p50: z.array(z.number().nullable()), p99: z.array(z.number().nullable()) }),
  ),
  more: z.number().describe('channels with samples in the window not shown (the 10 of the highest p99 are)'),
});
export const EscalationSeriesView = z.object({ ...StepGridView, opened: z.array(z.number()), resolved: z.array(z.number()) });
export const ConsumerLagSeriesView = z.object({
  ...StepGridView,
  groups: z.array(z.object({ group: z.string(), lag: z.array(z.number().nullable()) })),
  more: z.number().describe('groups measured in the window not shown (the 10 of the highest lag are)'),
});
export const SERIES_400 = { description: 'validation_failed, bad_step' };

/** The steps a series query asks for, now (400 bad_step when the step does not fit the window). */
export function gridOf(query: z.infer<typeof SeriesQuery>, now = Date.now()): StepGrid {
  const step = query.step ?? (query.window === '1h' ? '1m' : '15s');
  const grid = stepGrid(query.window, step, now);
  if ('error' in grid)
    throw new ValidationError(
      'bad_step',
      grid.error,
      'use step 15s or 30s with windows up to 15m, 1m or 5m with any window that is a multiple of it',
      {
        window: query.window,
        step,
      },
    );
  return grid;
}
