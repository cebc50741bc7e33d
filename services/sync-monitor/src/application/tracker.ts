import { randomUUID } from 'node:crypto';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { retryTopic, type EventEnvelope, type SyncApplied } from '@omnimall/contracts';
import {
  ConflictError,
  mapLimit,
  NotFoundError,
  newEvent,
  WITHOUT_OUTBOX,
  withoutOutbox,
  type OutgoingEvent,
  type ServiceRuntime,
} from '@omnimall/service-kit';
import {
  affectedChannels,
  affectedCustomers,
  applyAck,
  applyEnvelope,
  decideSweep,
  groupsFor,
  isFirstSuccess,
  laggingServices,
  rootCauseOf,
  serviceOfGroup,
  type ActionRecord,
  type AckInfo,
  type EscalationRecord,
  type RawRecord,
  type RetryRecord,
  type SweepPolicy,
  type Tracking,
} from '../domain/propagation';
import type { Expectations } from '../domain/expectations';
import { LagWindows } from '../domain/windows';
import type { MonitorMetrics } from '../metrics';
import type { FeedEntryDoc, Store, TrackingDoc } from '../store/models';

export interface TrackerOptions extends SweepPolicy {
  /** Which events and acks this instance tracks (tests narrow it to their own correlation ids). */
  trackEnvelope?: (env: EventEnvelope, topic: string) => boolean;
  trackAck?: (ack: SyncApplied) => boolean;
  /** How often the sweep also queries the store for open events (default 30 s; see sweep). */
  fullScanEveryMs?: number;
}

/** Open events whose deadlines the sweep keeps in memory; beyond this, only its store query finds them. */
const DUE_KEPT = 200_000;
/** Events with buffered inputs at which a flush starts without waiting for the next commit. */
const FLUSH_AT = 5000;
/** Tracking documents a flush writes at once. */
const FLUSH_WIDTH = 8;

/** One input (envelope or ack) to apply to an event's tracking; null when it changes nothing. */
type Step = (cur: Tracking | null, now: number) => { next: Tracking; firstApplied?: SyncApplied } | null;

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

function rawOf(m: KafkaMessage | undefined): RawRecord | null {
  if (!m?.value) return null;
  return { key: m.key ? m.key.toString() : null, value: m.value.toString('base64'), headers: headersOf(m.headers) };
}

/** The fields of a tracking document a write sets (the outbox fields are the kit's). */
function fieldsOf(t: Tracking): Omit<Tracking, '_id'> {
  const { _id, ...rest } = withoutOutbox(t as TrackingDoc);
  void _id;
  return rest;
}

/**
 * Propagation tracking and SLA handling.
 *
 * Write-behind: an envelope or ack is buffered per event, and a flush writes each event's document
 * once with everything received for it since the last flush (an event's envelope and its acks
 * usually arrive within a few hundred ms, so one write replaces four or five). The consumers flush
 * before they commit offsets (`beforeCommit`), so an input is durable before Kafka forgets it; a
 * crash replays the uncommitted inputs and applying them again changes nothing (acks are kept by
 * ack id). Lags are computed from the acks' own times, so buffering does not change them.
 * Every write goes through the kit's outbox.transact (a compare-and-set with its events).
 */
export class Tracker {
  readonly windows = new LagWindows();
  /** topic → consumer groups seen acknowledging it. */
  private readonly groups = new Map<string, Set<string>>();
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;
  /** eventId → SLA deadline of every open event this instance wrote (the sweep's work list). */
  private readonly due = new Map<string, number>();
  private lastFullScan = 0;
  /** eventId → inputs received since the last flush, in arrival order. */
  private buffer = new Map<string, Step[]>();
  private flushChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly store: Store,
    private readonly expectations: Expectations,
    private readonly metrics: MonitorMetrics,
    private readonly opts: TrackerOptions,
  ) {}

  async init(): Promise<void> {
    for (const g of await this.store.groups.find().lean()) this.rememberGroup(g.topic, g.group);
    for (const t of await this.store.tracking.find({ open: true }, { _id: 1, slaDeadline: 1, open: 1 }).lean())
      this.noteOpen(t as Tracking);
    this.lastFullScan = Date.now();
    this.metrics.openEscalations.set(await this.store.tracking.countDocuments({ 'escalation.status': 'opened' }));
  }

  knownGroups(): Map<string, Set<string>> {
    return this.groups;
  }

  /** Keeps the sweep's work list in step with a tracking document just written. */
  private noteOpen(t: Pick<Tracking, '_id' | 'open' | 'slaDeadline'> | null): void {
    if (!t) return;
    if (!t.open) this.due.delete(t._id);
    else if (this.due.has(t._id) || this.due.size < DUE_KEPT) this.due.set(t._id, t.slaDeadline);
  }

  private rememberGroup(topic: string, group: string): boolean {
    const set = this.groups.get(topic) ?? new Set<string>();
    this.groups.set(topic, set);
    if (set.has(group)) return false;
    set.add(group);
    return true;
  }

  // ---- inputs -----------------------------------------------------------------------------------

  /** An envelope of a business topic: remembers the event, its expectations and its original record (buffered, see flush). */
  onEnvelope(topic: string, env: EventEnvelope, record: KafkaMessage | undefined): boolean {
    if (this.opts.trackEnvelope && !this.opts.trackEnvelope(env, topic)) return false;
    const exp = this.expectations(topic);
    const raw = rawOf(record);
    this.enqueue(env.eventId, (cur, now) => ({ next: applyEnvelope(cur, topic, env, raw, exp, now) }));
    return true;
  }

  /** A sync.applied ack (buffered, see flush); false when it is not tracked here. */
  async onAck(ack: SyncApplied): Promise<boolean> {
    if (this.opts.trackAck && !this.opts.trackAck(ack)) return false;
    if (this.rememberGroup(ack.topic, ack.consumer)) {
      const now = Date.now();
      await this.store.groups
        .updateOne(
          { _id: `${ack.topic}|${ack.consumer}` },
          { $setOnInsert: { topic: ack.topic, group: ack.consumer, service: serviceOfGroup(ack.consumer), firstSeenAt: now } },
          { upsert: true },
        )
        .catch(() => undefined); // the same values from every writer: a lost race changes nothing
    }
    const info: AckInfo = { ...ack, ackId: ack.envelope.eventId, outcome: ack.outcome as AckInfo['outcome'] };
    const exp = this.expectations(ack.topic);
    this.enqueue(ack.ackedEventId, (cur, now) => {
      const next = applyAck(cur, info, exp, now);
      if (!next) return null; // this ack was recorded before
      return { next, firstApplied: info.outcome === 'applied' && isFirstSuccess(cur, info) ? ack : undefined };
    });
    return true;
  }

  private enqueue(eventId: string, step: Step): void {
    const steps = this.buffer.get(eventId);
    if (steps) steps.push(step);
    else this.buffer.set(eventId, [step]);
    if (this.buffer.size >= FLUSH_AT) this.flush().catch(() => undefined); // logged in flush; the next one retries
  }

  /**
   * Writes every buffered input: one compare-and-set per event. Flushes run one at a time. Inputs
   * whose write failed are kept (ahead of newer ones) and the flush rejects, so the consumers hold
   * their offsets back.
   */
  flush(): Promise<void> {
    const run = this.flushChain.then(() => this.flushBuffered());
    this.flushChain = run.catch(() => undefined);
    return run;
  }

  private async flushBuffered(): Promise<void> {
    const work = [...this.buffer];
    this.buffer = new Map();
    const failed: Array<[string, Step[]]> = [];
    await mapLimit(work, FLUSH_WIDTH, async ([id, steps]) => {
      try {
        await this.write(id, steps);
      } catch (err) {
        failed.push([id, steps]);
        this.rt.logger.warn('tracking write failed; kept for the next flush', { eventId: id, err: String(err) });
      }
    });
    if (!failed.length) return;
    const later = this.buffer;
    this.buffer = new Map(failed);
    for (const [id, steps] of later) this.buffer.set(id, [...(this.buffer.get(id) ?? []), ...steps]);
    throw new Error(`${failed.length} tracking writes failed`);
  }

  /** Applies an event's buffered inputs to its document in one write. */
  private async write(id: string, steps: Step[]): Promise<void> {
    let prev: Tracking | null = null;
    let next: Tracking | null = null;
    let firsts: SyncApplied[] = [];
    // assumeNew: most flushes carry an event's first inputs, so its document does not exist yet.
    const { doc } = await this.rt.outbox.transact(
      this.store.tracking,
      id,
      (cur) => {
        prev = cur as Tracking | null;
        next = prev;
        firsts = [];
        const now = Date.now();
        for (const step of steps) {
          const r = step(next, now);
          if (!r) continue;
          next = r.next;
          if (r.firstApplied) firsts.push(r.firstApplied);
        }
        if (!next || next === prev) return null;
        return { update: { $set: fieldsOf(next) }, events: this.resolutionEvents(prev, next) };
      },
      { assumeNew: true },
    );
    if (!next || next === prev) return;
    this.noteOpen(doc as Tracking | null);
    for (const ack of firsts) {
      const lagMs = ack.appliedAt - ack.occurredAt;
      const consumer = serviceOfGroup(ack.consumer);
      this.windows.add({ at: ack.appliedAt, lagMs, type: ack.ackedType, consumer, group: ack.consumer, channel: ack.channel }, Date.now());
      this.metrics.lag.labels(ack.ackedType, consumer, ack.channel ?? 'none').observe(lagMs / 1000);
    }
    await this.afterChange(prev, next);
  }

  // ---- escalation and recovery events ----------------------------------------------------------

  private resolutionEvents(prev: Tracking | null, next: Tracking): OutgoingEvent[] {
    if (prev?.escalation?.status === 'opened' && next.escalation?.status === 'resolved') return this.escalationEvents(next, 'resolved');
    return [];
  }

  private escalationEvents(t: Tracking, status: 'opened' | 'resolved' | 'reconciled'): OutgoingEvent[] {
    const esc = t.escalation!;
    const version = status === 'opened' ? 1 : 2;
    const env = { producer: 'sync-monitor', aggregateVersion: version, correlationId: t.correlationId ?? t._id };
    const ageMs = Date.now() - t.occurredAt;
    const events: OutgoingEvent[] = [
      newEvent(
        'sync.escalation',
        { ...env, type: `sync.escalation-${status}`, aggregateId: t._id },
        {
          escalationId: esc.escalationId,
          status,
          eventId: t._id,
          eventType: t.type,
          topic: t.topic,
          laggingConsumers: esc.laggingServices,
          channels: esc.channels,
          rootCause: esc.rootCause,
          ageMs,
          retries: t.retries.length,
        },
      ),
    ];
    const kind = status === 'opened' ? 'propagation_delayed' : 'propagation_recovered';
    const notice = (
      audience: 'admin' | 'customer',
      channel: string | null,
      subject: string,
      message: string,
      recipientIds: string[],
    ): OutgoingEvent =>
      newEvent(
        'sync.notice',
        { ...env, type: `sync.${kind}`, aggregateId: esc.escalationId },
        {
          noticeId: randomUUID(),
          kind,
          audience,
          channel,
          escalationId: esc.escalationId,
          eventId: t._id,
          eventType: t.type,
          subject,
          message,
          recipientIds,
        },
      );
    if (status === 'opened') {
      events.push(
        notice(
          'admin',
          null,
          `Propagation of ${t.type} delayed`,
          `Event ${t._id} (${t.topic}) has not been applied by ${esc.laggingServices.join(', ')} after ${Math.round(ageMs / 1000)} s; root cause ${esc.rootCause}; ${t.retries.length} re-deliveries so far.`,
          [],
        ),
      );
      for (const ch of esc.channels) {
        events.push(
          notice(
            'customer',
            ch,
            'Some recent changes are delayed',
            'A recent change to your account or cart is taking longer than usual to appear everywhere. We are on it; you do not need to do anything.',
            affectedCustomers(t.topic, t.aggregateId),
          ),
        );
      }
    } else {
      events.push(notice('admin', null, `Propagation of ${t.type} ${status}`, `Event ${t._id} (${t.topic}) is ${status}.`, []));
      for (const ch of esc.channels) {
        events.push(
          notice(
            'customer',
            ch,
            'Delayed changes are now up to date',
            'The delayed change now shows on every channel.',
            affectedCustomers(t.topic, t.aggregateId),
          ),
        );
      }
    }
    return events;
  }

  /** Status feed entries and the open-escalation gauge after an escalation changed. */
  private async afterChange(prev: Tracking | null, next: Tracking | null): Promise<void> {
    const before = prev?.escalation?.status;
    const after = next?.escalation?.status;
    if (!next || before === after || !next.escalation) return;
    const esc = next.escalation;
    const entries: FeedEntryDoc[] = esc.channels.map((channel) =>
      after === 'opened'
        ? {
            _id: `${esc.escalationId}:opened:${channel}`,
            channel,
            at: esc.at,
            kind: 'delay' as const,
            title: `Delayed: ${next.type}`,
            message: `Changes of type ${next.type} are delayed on this channel (${esc.laggingServices.join(', ')} lagging: ${esc.rootCause}).`,
            eventId: next._id,
            escalationId: esc.escalationId,
          }
        : {
            _id: `${esc.escalationId}:${after}:${channel}`,
            channel,
            at: Date.now(),
            kind: 'recovery' as const,
            title: `Recovered: ${next.type}`,
            message:
              after === 'reconciled'
                ? `The delayed ${next.type} change was reconciled by an administrator.`
                : `The delayed ${next.type} change has now reached every channel.`,
            eventId: next._id,
            escalationId: esc.escalationId,
          },
    );
    await this.insertFeed(entries);
    if (after === 'opened') this.metrics.openEscalations.inc();
    else if (before === 'opened') this.metrics.openEscalations.dec();
  }

  async insertFeed(entries: FeedEntryDoc[]): Promise<void> {
    for (const e of entries) {
      await this.store.feed.create(e).catch((err: { code?: number }) => {
        if (err.code !== 11000) throw err; // written before: the feed entry exists once
      });
    }
  }

  // ---- SLA sweep ---------------------------------------------------------------------------------

  startSweep(intervalMs: number): void {
    const tick = (): void => {
      this.sweeping = this.sweep()
        .catch((err) => this.rt.logger.warn('sweep failed', { err: String(err) }))
        .finally(() => {
          if (this.sweepTimer) this.sweepTimer = setTimeout(tick, intervalMs);
        });
    };
    this.sweepTimer = setTimeout(tick, intervalMs);
  }

  async stopSweep(): Promise<void> {
    const t = this.sweepTimer;
    this.sweepTimer = undefined;
    if (t) clearTimeout(t);
    await this.sweeping;
  }

  /**
   * One pass: every open event past its SLA is re-delivered to its lagging groups and, past the
   * business SLA, escalated. The work list is the deadlines this instance keeps in memory; every
   * `fullScanEveryMs` the store is queried too, for events another instance (or this one before a
   * restart) opened. On FerretDB that query reads the whole collection, so it is not run every pass.
   */
  async sweep(now = Date.now()): Promise<number> {
    await this.flush().catch(() => undefined); // decide on every input received so far (a failure is logged and kept)
    const ids = new Set(
      [...this.due]
        .filter(([, deadline]) => deadline <= now)
        .sort((a, b) => a[1] - b[1])
        .slice(0, 500)
        .map(([id]) => id),
    );
    if (Date.now() - this.lastFullScan >= (this.opts.fullScanEveryMs ?? 30_000)) {
      this.lastFullScan = Date.now();
      const stored = await this.store.tracking
        .find({ open: true, slaDeadline: { $lte: now } }, { _id: 1 })
        .sort({ slaDeadline: 1 })
        .limit(500)
        .lean();
      stored.forEach(({ _id }) => ids.add(_id));
    }
    let acted = 0;
    for (const id of ids) if (await this.sweepOne(id, 'sla_sweep')) acted++;
    return acted;
  }

  private async sweepOne(id: string, trigger: RetryRecord['trigger'], by?: { by: string; note: string | null }): Promise<boolean> {
    let prev: Tracking | null = null;
    let next: Tracking | null = null;
    const { doc } = await this.rt.outbox.transact(this.store.tracking, id, async (cur) => {
      const t = cur as Tracking | null;
      if (!t)
        throw new NotFoundError(
          'event_not_tracked',
          `no event ${id} is tracked`,
          'check the eventId; only events seen by the monitor can be retried',
        );
      prev = t;
      const now = Date.now();
      let retryServices: string[];
      let escalate = false;
      let state = t.state;
      if (trigger === 'manual') {
        if (!t.open && t.state !== 'complete')
          throw new ConflictError('event_closed', `event ${id} is ${t.state}`, 'a reconciled event needs no retry');
        retryServices = laggingServices(t);
      } else {
        const d = decideSweep(t, now, this.opts);
        if (!d) return null;
        retryServices = d.retry;
        escalate = d.escalate;
        state = d.state;
      }
      const retries: RetryRecord[] = [];
      for (const service of retryServices) retries.push(...(await this.redeliver(t, service, trigger, now)));
      let escalation: EscalationRecord | null = t.escalation;
      if (escalate) {
        const lagging = laggingServices(t);
        escalation = {
          escalationId: randomUUID(),
          at: now,
          status: 'opened',
          laggingServices: lagging,
          channels: affectedChannels(t),
          rootCause: lagging.map((s) => rootCauseOf(t, s)).join(','),
          resolvedAt: null,
        };
        this.metrics.escalations.labels(t.topic, escalation.rootCause).inc();
      }
      const actions: ActionRecord[] = by
        ? [
            ...t.actions,
            {
              actionId: randomUUID(),
              kind: 'retry_now',
              at: now,
              by: by.by,
              note: by.note,
              outcome: retries.length ? retries.map((r) => `${r.group}:${r.outcome}`).join(',') : 'nothing_to_retry',
            },
          ]
        : t.actions;
      next = { ...t, state, retries: [...t.retries, ...retries], escalation, actions };
      return { update: { $set: fieldsOf(next) }, events: escalate ? this.escalationEvents(next, 'opened') : [] };
    });
    this.noteOpen(doc as Tracking | null);
    await this.afterChange(prev, next);
    return next !== null;
  }

  /** Re-produces the original record to `<topic>.retry` for every group of `service` seen on the topic. */
  private async redeliver(t: Tracking, service: string, trigger: RetryRecord['trigger'], now: number): Promise<RetryRecord[]> {
    const attempt = t.retries.filter((r) => r.service === service).length + 1;
    const groups = groupsFor(service, [...(this.groups.get(t.topic) ?? [])]);
    const record = (group: string, outcome: string, error: string | null = null): RetryRecord => {
      this.metrics.retries.labels(t.topic, service, outcome).inc();
      return { at: now, service, group, attempt, trigger, outcome, error, recoveredAt: null };
    };
    if (!groups.length) return [record('', 'no_known_group')];
    if (!t.raw) return groups.map((g) => record(g, 'no_record'));
    const out: RetryRecord[] = [];
    for (const group of groups) {
      // The kit's consumer counts attempts from x-attempt: continue after what it already tried.
      const tried = Math.max(0, ...t.acks.filter((a) => a.group === group).map((a) => a.attempt));
      try {
        await this.rt.publisher.sendRaw(retryTopic(t.topic), [
          {
            key: t.raw.key,
            value: Buffer.from(t.raw.value, 'base64'),
            headers: {
              ...t.raw.headers,
              'x-consumer': group,
              'x-attempt': String(tried),
              'x-not-before': String(now),
              'x-redelivered-by': 'sync-monitor',
            },
          },
        ]);
        out.push(record(group, 'sent'));
      } catch (err) {
        out.push(record(group, 'send_failed', String(err)));
      }
    }
    return out;
  }

  // ---- remediation -------------------------------------------------------------------------------

  async retryNow(id: string, by: string, note: string | null): Promise<Tracking> {
    await this.flush();
    await this.sweepOne(id, 'manual', { by, note });
    this.metrics.actions.labels('retry_now').inc();
    return this.get(id);
  }

  async reconcile(id: string, by: string, note: string): Promise<Tracking> {
    await this.flush();
    let prev: Tracking | null = null;
    let next: Tracking | null = null;
    const { doc } = await this.rt.outbox.transact(this.store.tracking, id, (cur) => {
      const t = cur as Tracking | null;
      if (!t) throw new NotFoundError('event_not_tracked', `no event ${id} is tracked`, 'check the eventId');
      if (t.state === 'complete' || t.state === 'reconciled')
        throw new ConflictError('event_closed', `event ${id} is already ${t.state}`, 'nothing to reconcile');
      prev = t;
      const now = Date.now();
      const escalation =
        t.escalation?.status === 'opened' ? { ...t.escalation, status: 'reconciled' as const, resolvedAt: now } : t.escalation;
      next = {
        ...t,
        state: 'reconciled',
        open: false,
        escalation,
        actions: [...t.actions, { actionId: randomUUID(), kind: 'reconciled', at: now, by, note, outcome: 'closed' }],
      };
      return {
        update: { $set: fieldsOf(next) },
        events: t.escalation?.status === 'opened' ? this.escalationEvents(next, 'reconciled') : [],
      };
    });
    this.noteOpen(doc as Tracking | null);
    await this.afterChange(prev, next);
    this.metrics.actions.labels('reconciled').inc();
    return this.get(id);
  }

  async openSupportCase(id: string, by: string, note: string): Promise<{ caseId: string; tracking: Tracking }> {
    const caseId = `case-${randomUUID().slice(0, 8)}`;
    await this.rt.outbox.transact(this.store.tracking, id, (cur) => {
      const t = cur as Tracking | null;
      if (!t) throw new NotFoundError('event_not_tracked', `no event ${id} is tracked`, 'check the eventId');
      const actions = [...t.actions, { actionId: caseId, kind: 'support_case' as const, at: Date.now(), by, note, outcome: 'opened' }];
      return { update: { $set: { actions } }, events: [] };
    });
    this.metrics.actions.labels('support_case').inc();
    return { caseId, tracking: await this.get(id) };
  }

  async get(id: string): Promise<Tracking> {
    const t = await this.store.tracking.findById(id, WITHOUT_OUTBOX).lean();
    if (!t)
      throw new NotFoundError(
        'event_not_tracked',
        `no event ${id} is tracked`,
        'check the eventId; the monitor tracks events it has seen since it started',
      );
    return t as Tracking;
  }
}
