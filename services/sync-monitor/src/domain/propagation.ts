/**
 * Pure rules of propagation tracking: which consumer services an event expects, what an ack does to
 * an event's tracking record, when the record is complete, late, to be retried or escalated.
 * No I/O here; the store and the sweep apply these decisions.
 */

export type AckOutcome = 'applied' | 'skipped_duplicate' | 'failed' | 'dead_lettered';

/** What the catalogue expects of one topic. */
export interface Expectation {
  consumers: string[];
  slaMs: number;
}

export interface AckRecord {
  ackId: string;
  service: string;
  group: string;
  channel: string | null;
  appliedAt: number;
  /** appliedAt − occurredAt of the acked event, exactly as the consumer reported both. */
  lagMs: number;
  outcome: AckOutcome;
  attempt: number;
  error: string | null;
}

export interface RetryRecord {
  at: number;
  service: string;
  group: string;
  attempt: number;
  trigger: 'sla_sweep' | 'manual';
  /** sent, no_known_group, no_record, send_failed; then recovered once the group acks. */
  outcome: string;
  error?: string | null;
  recoveredAt?: number | null;
}

export interface EscalationRecord {
  escalationId: string;
  at: number;
  status: 'opened' | 'resolved' | 'reconciled';
  laggingServices: string[];
  channels: string[];
  rootCause: string;
  resolvedAt?: number | null;
}

export interface ActionRecord {
  actionId: string;
  kind: 'retry_now' | 'reconciled' | 'support_case';
  at: number;
  by: string;
  note: string | null;
  outcome: string;
}

/** open: waiting within SLA; late: past SLA; complete: every expected service applied; reconciled: closed by an admin. */
export type TrackingState = 'open' | 'late' | 'escalated' | 'complete' | 'reconciled';

export interface RawRecord {
  key: string | null;
  value: string; // base64 of the original bytes
  headers: Record<string, string>;
}

export interface Tracking {
  _id: string; // eventId
  topic: string;
  type: string;
  producer: string | null;
  aggregateId: string | null;
  correlationId: string | null;
  sourceChannel: string | null;
  occurredAt: number;
  /** When the monitor first heard of the event (envelope or ack). */
  firstSeenAt: number;
  envelopeSeen: boolean;
  expected: string[];
  slaMs: number;
  slaDeadline: number;
  state: TrackingState;
  /** True while the event still needs attention from the sweep. */
  open: boolean;
  acks: AckRecord[];
  retries: RetryRecord[];
  escalation: EscalationRecord | null;
  actions: ActionRecord[];
  raw: RawRecord | null;
  completedAt: number | null;
  /** Customer ids the event's payload names (privacy.ts: how an erasure finds the customer's events). */
  customers?: string[];
  /** Events this one was made from (privacy.ts), erased with it. */
  relatedEvents?: string[];
  /** When an erasure last removed personal data from this event. */
  erasedAt?: number | null;
  /**
   * Bulk work (its record carried `lane: bulk`, or its acks came on sync.applied.bulk): its acks are
   * read by their own group, so it is judged late against that group's progress (application/sweep.ts).
   */
  bulk?: boolean;
}

/** A tracked event as listed to clients: everything but the original record. */
export type TrackingView = Omit<Tracking, 'raw'>;

/** A consumer group seen acknowledging a topic: where retries go and whose lag is measured. */
export interface KnownGroup {
  topic: string;
  group: string;
  service: string;
  firstSeenAt: number;
}

export interface EnvelopeInfo {
  eventId: string;
  type: string;
  occurredAt: number;
  producer: string;
  aggregateId: string;
  correlationId: string;
  sourceChannel: string | null;
}

export interface AckInfo {
  ackId: string;
  ackedEventId: string;
  ackedType: string;
  topic: string;
  consumer: string;
  channel: string | null;
  occurredAt: number;
  appliedAt: number;
  outcome: AckOutcome;
  attempt: number;
  error: string | null;
}

/** A consumer group id `<service>.<purpose>` names its service before the first dot. */
export function serviceOfGroup(group: string): string {
  const i = group.indexOf('.');
  return i < 0 ? group : group.slice(0, i);
}

export function isSuccess(outcome: AckOutcome): boolean {
  return outcome === 'applied' || outcome === 'skipped_duplicate';
}

export function newTracking(
  base: { eventId: string; topic: string; type: string; occurredAt: number },
  exp: Expectation,
  now: number,
): Tracking {
  return {
    _id: base.eventId,
    topic: base.topic,
    type: base.type,
    producer: null,
    aggregateId: null,
    correlationId: null,
    sourceChannel: null,
    occurredAt: base.occurredAt,
    firstSeenAt: now,
    envelopeSeen: false,
    expected: [...exp.consumers],
    slaMs: exp.slaMs,
    slaDeadline: base.occurredAt + exp.slaMs,
    state: 'open',
    open: true,
    acks: [],
    retries: [],
    escalation: null,
    actions: [],
    raw: null,
    completedAt: null,
  };
}

/** Services that have applied (or recognised as duplicate) the event. */
export function servicesDone(t: Pick<Tracking, 'acks'>): Set<string> {
  return new Set(t.acks.filter((a) => isSuccess(a.outcome)).map((a) => a.service));
}

export function laggingServices(t: Pick<Tracking, 'acks' | 'expected'>): string[] {
  const done = servicesDone(t);
  return t.expected.filter((s) => !done.has(s));
}

/** State after any change: complete once every expected service applied; otherwise kept (late/escalated are set by the sweep). */
function settle(t: Tracking, now: number): Tracking {
  if (t.state === 'reconciled') return { ...t, open: false };
  if (t.envelopeSeen || t.acks.length) {
    if (laggingServices(t).length === 0 && t.expected.length > 0) {
      const escalation =
        t.escalation && t.escalation.status === 'opened' ? { ...t.escalation, status: 'resolved' as const, resolvedAt: now } : t.escalation;
      return { ...t, state: 'complete', open: false, completedAt: t.completedAt ?? now, escalation };
    }
  }
  return t;
}

export function applyEnvelope(
  current: Tracking | null,
  topic: string,
  env: EnvelopeInfo,
  raw: RawRecord | null,
  exp: Expectation,
  now: number,
): Tracking {
  const t = current ?? newTracking({ eventId: env.eventId, topic, type: env.type, occurredAt: env.occurredAt }, exp, now);
  return settle(
    {
      ...t,
      type: env.type,
      occurredAt: env.occurredAt,
      slaDeadline: env.occurredAt + t.slaMs,
      producer: env.producer,
      aggregateId: env.aggregateId,
      correlationId: env.correlationId,
      sourceChannel: env.sourceChannel,
      envelopeSeen: true,
      raw: raw ?? t.raw,
    },
    now,
  );
}

/** Records an ack; a retry whose group now succeeded is marked recovered. Returns null for an ack already recorded. */
export function applyAck(current: Tracking | null, ack: AckInfo, exp: Expectation, now: number): Tracking | null {
  const t =
    current ?? newTracking({ eventId: ack.ackedEventId, topic: ack.topic, type: ack.ackedType, occurredAt: ack.occurredAt }, exp, now);
  if (t.acks.some((a) => a.ackId === ack.ackId)) return null;
  const rec: AckRecord = {
    ackId: ack.ackId,
    service: serviceOfGroup(ack.consumer),
    group: ack.consumer,
    channel: ack.channel,
    appliedAt: ack.appliedAt,
    lagMs: ack.appliedAt - ack.occurredAt,
    outcome: ack.outcome,
    attempt: ack.attempt,
    error: ack.error,
  };
  const retries = isSuccess(ack.outcome)
    ? t.retries.map((r) =>
        r.group === ack.consumer && r.outcome === 'sent' ? { ...r, outcome: 'recovered', recoveredAt: ack.appliedAt } : r,
      )
    : t.retries;
  return settle({ ...t, acks: [...t.acks, rec], retries }, now);
}

/**
 * Whether an ack is the first success of its consumer group for the event. Only those count as
 * propagation lag: a later success (the group's ack of a re-delivery, or of a replay) measures the
 * retry, not how long the change took to reach that consumer.
 */
export function isFirstSuccess(before: Pick<Tracking, 'acks'> | null, ack: Pick<AckInfo, 'consumer' | 'outcome'>): boolean {
  return isSuccess(ack.outcome) && !before?.acks.some((a) => a.group === ack.consumer && isSuccess(a.outcome));
}

/** The error class of an ack error `Name: message` (the kit's format). */
export function errorClass(error: string | null | undefined): string {
  if (!error) return 'unknown';
  const i = error.indexOf(':');
  return (i < 0 ? error : error.slice(0, i)).trim() || 'unknown';
}

/** Why a lagging service has not applied the event: the error class of its last failed ack, or no_ack. */
export function rootCauseOf(t: Pick<Tracking, 'acks'>, service: string): string {
  const failed = t.acks.filter((a) => a.service === service && !isSuccess(a.outcome));
  if (!failed.length) return 'no_ack';
  return errorClass(failed[failed.length - 1].error);
}

export function affectedChannels(t: Pick<Tracking, 'sourceChannel' | 'acks'>): string[] {
  const set = new Set<string>();
  if (t.sourceChannel) set.add(t.sourceChannel);
  for (const a of t.acks) if (a.channel) set.add(a.channel);
  return [...set].sort();
}

export interface SweepPolicy {
  /** Re-deliveries per lagging group at most. */
  maxRetries: number;
  /** Minimum time between two re-deliveries to one group. */
  retryIntervalMs: number;
  /** Business SLA after which a still-lagging event is escalated. */
  escalateAfterMs: number;
}

export interface SweepDecision {
  /** Lagging services to re-deliver to now (each to every group seen for it on this topic). */
  retry: string[];
  escalate: boolean;
  state: TrackingState;
}

/** What the periodic sweep does with an open event at `now`. */
export function decideSweep(t: Tracking, now: number, policy: SweepPolicy): SweepDecision | null {
  if (!t.open || now < t.slaDeadline) return null;
  const lagging = laggingServices(t);
  if (!lagging.length) return null;
  const retry = lagging.filter((s) => {
    // A last ack `failed` means the consumer's own retry path (kit: `<topic>.retry`) still holds the
    // record: let it finish (dead_lettered or applied) unless it has gone quiet for long.
    const acks = t.acks.filter((a) => a.service === s);
    const lastAck = acks[acks.length - 1];
    if (lastAck?.outcome === 'failed' && now - lastAck.appliedAt < 10 * policy.retryIntervalMs) return false;
    const mine = t.retries.filter((r) => r.service === s);
    if (mine.length >= policy.maxRetries) return false;
    const last = mine[mine.length - 1];
    return !last || now - last.at >= policy.retryIntervalMs;
  });
  const escalate = !t.escalation && now - t.occurredAt >= policy.escalateAfterMs;
  const state: TrackingState = escalate || t.escalation ? 'escalated' : 'late';
  if (!retry.length && !escalate && state === t.state) return null;
  return { retry, escalate, state };
}

/** The groups to re-deliver to for one service: those seen acking this topic, else none. */
export function groupsFor(service: string, known: readonly string[]): string[] {
  return known.filter((g) => serviceOfGroup(g) === service);
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export const WINDOWS = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000 } as const;
export type WindowName = keyof typeof WINDOWS;

/** Customers named by the event when its topic is keyed by customer id. */
export function affectedCustomers(topic: string, aggregateId: string | null): string[] {
  return aggregateId && topic.startsWith('identity.') ? [aggregateId] : [];
}
