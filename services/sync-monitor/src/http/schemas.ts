/** The zod schemas the routes validate with and OpenAPI is built from, and the views they answer with. */
import { z } from '@omnimall/service-kit';
import { laggingServices, WINDOWS, type TrackingView, type WindowName } from '../domain/propagation';
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
