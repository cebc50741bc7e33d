/**
 * The SLA sweep: every open event past its SLA is re-delivered to the groups of its lagging
 * services and, past the business SLA, escalated. Re-delivery re-produces the original record to
 * `<topic>.retry`, addressed to one group (`x-consumer`), continuing that group's attempts.
 */
import { randomUUID } from 'node:crypto';
import { retryTopic } from '@omnimall/contracts';
import type { EventPublisher, Logger } from '@omnimall/service-kit';
import { ConflictError, NotFoundError } from '@omnimall/service-kit/errors';
import {
  affectedChannels,
  decideSweep,
  groupsFor,
  laggingServices,
  rootCauseOf,
  type ActionRecord,
  type EscalationRecord,
  type RetryRecord,
  type SweepPolicy,
  type Tracking,
} from '../domain/propagation';
import { escalationEvents } from './escalations';
import { Periodic } from '@omnimall/service-kit';
import type { TrackedEvents } from './tracked-events';

export interface SweepOptions extends SweepPolicy {
  /** How often the sweep also queries the exceptions for overdue events another instance opened (see sweep). */
  fullScanEveryMs: number;
}

/** How often closed events past their retention leave memory. */
const EVICT_EVERY_MS = 5000;

/** Events one pass handles at most. */
const PASS_LIMIT = 500;

export class SlaSweep {
  private readonly loop = new Periodic(
    () => this.sweep(),
    (err) => this.logger.warn('sweep failed', { err: String(err) }),
  );
  private lastFullScan = Date.now();
  private lastEvict = Date.now();

  constructor(
    private readonly events: TrackedEvents,
    private readonly publisher: EventPublisher,
    private readonly logger: Logger,
    private readonly opts: SweepOptions,
    /**
     * The time before which every ack has been read (the acks group's caughtUpAt). An event is judged
     * late only once its deadline is behind that time: while the acks group is behind (a bulk's acks
     * ahead of it), an event whose acks are merely unread is not re-delivered nor escalated.
     */
    private readonly acksReadUpTo: () => number = () => Date.now(),
    /** The same for the acks of bulk work (sync.applied.bulk), against which bulk events are judged. */
    private readonly bulkAcksReadUpTo: () => number = acksReadUpTo,
  ) {}

  /** Sweeps every `intervalMs` until stopped. */
  start(intervalMs: number): void {
    this.lastFullScan = Date.now();
    this.loop.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * One pass. The work list is the open events in memory whose SLA deadline passed; every
   * `fullScanEveryMs` the exceptions are queried too (by their deadline index), for overdue events
   * another instance opened. Closed events past their retention leave memory every few seconds.
   */
  async sweep(now = Date.now()): Promise<number> {
    const judgedAt = Math.min(now, this.acksReadUpTo());
    const bulkJudgedAt = Math.min(judgedAt, this.bulkAcksReadUpTo());
    const ids = new Set(this.events.dueBy(judgedAt, PASS_LIMIT, bulkJudgedAt));
    if (Date.now() - this.lastFullScan >= this.opts.fullScanEveryMs) {
      this.lastFullScan = Date.now();
      // exceptions another instance opened: judged against the later of the two lanes' progress
      for (const id of await this.events.store.tracking.overdue(bulkJudgedAt, PASS_LIMIT)) ids.add(id);
    }
    if (Date.now() - this.lastEvict >= EVICT_EVERY_MS) {
      this.lastEvict = Date.now();
      this.events.state.evict();
      this.events.metrics.trackedEvents.set(this.events.state.size);
    }
    let acted = 0;
    for (const id of ids) if (await this.sweepOne(id, 'sla_sweep')) acted++;
    return acted;
  }

  /**
   * Re-delivers (and, from the sweep, escalates) one event: `sla_sweep` does what decideSweep
   * decides; `manual` re-delivers to every lagging service now and records the admin's action.
   * Returns whether the event's tracking changed.
   */
  async sweepOne(id: string, trigger: RetryRecord['trigger'], by?: { by: string; note: string | null }): Promise<boolean> {
    const { next } = await this.events.change(id, async (t) => {
      if (!t)
        throw new NotFoundError(
          'event_not_tracked',
          `no event ${id} is tracked`,
          'check the eventId; only events seen by the monitor can be retried',
        );
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
      const escalation: EscalationRecord | null = escalate ? this.escalationOf(t, now) : t.escalation;
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
      const next: Tracking = { ...t, state, retries: [...t.retries, ...retries], escalation, actions };
      return { next, events: escalate ? escalationEvents(next, 'opened') : [] };
    });
    return next !== null;
  }

  private escalationOf(t: Tracking, now: number): EscalationRecord {
    const lagging = laggingServices(t);
    const escalation: EscalationRecord = {
      escalationId: randomUUID(),
      at: now,
      status: 'opened',
      laggingServices: lagging,
      channels: affectedChannels(t),
      rootCause: lagging.map((s) => rootCauseOf(t, s)).join(','),
      resolvedAt: null,
    };
    this.events.metrics.escalations.labels(t.topic, escalation.rootCause).inc();
    return escalation;
  }

  /** Re-produces the original record to `<topic>.retry` for every group of `service` seen on the topic. */
  private async redeliver(t: Tracking, service: string, trigger: RetryRecord['trigger'], now: number): Promise<RetryRecord[]> {
    const attempt = t.retries.filter((r) => r.service === service).length + 1;
    const groups = groupsFor(service, this.events.groupsOn(t.topic));
    const record = (group: string, outcome: string, error: string | null = null): RetryRecord => {
      this.events.metrics.retries.labels(t.topic, service, outcome).inc();
      return { at: now, service, group, attempt, trigger, outcome, error, recoveredAt: null };
    };
    if (!groups.length) return [record('', 'no_known_group')];
    if (!t.raw) return groups.map((g) => record(g, 'no_record'));
    const out: RetryRecord[] = [];
    for (const group of groups) {
      // The kit's consumer counts attempts from x-attempt: continue after what it already tried.
      const tried = Math.max(0, ...t.acks.filter((a) => a.group === group).map((a) => a.attempt));
      try {
        await this.publisher.sendRaw(retryTopic(t.topic), [
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
}
