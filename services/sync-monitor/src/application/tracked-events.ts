/**
 * What every flow on tracked events shares: the in-memory tracking state (application/state.ts), the
 * consumer groups seen acknowledging each topic (where re-deliveries go, whose lag is measured), the
 * lag windows, and the one way an event becomes, and changes as, an exception.
 *
 * Guarantees: an event that propagates in time is never written to the database (the snapshot
 * carries it across a restart). An event that needs attention (late, failed, escalated, acted on) is
 * written to the exceptions collection by `change`, through the outbox's compare-and-set with the
 * events the change publishes (escalation alerts and notices), and from then on every change of it
 * is written there before memory shows it. Changes of one event are applied one at a time in this
 * process (a per-event queue), so memory always holds the last written version.
 */
import { NotFoundError } from '@omnimall/service-kit/errors';
import { serviceOfGroup, type Tracking } from '../domain/propagation';
import { feedEntriesForEscalation } from '../domain/status-feed';
import { EscalationSeries, LagSeries } from '../domain/series';
import { LagWindows } from '../domain/windows';
import type { MonitorMetrics } from '../metrics';
import type { Store, TrackingChange } from '../store';
import { TrackingState, type StateOptions } from './state';

/** Open exceptions loaded into memory at start (the rest stay reachable by query). */
const OPEN_LOADED = 50_000;

export class TrackedEvents {
  readonly windows = new LagWindows();
  /** Lag per channel over time, and escalations opened/resolved over time (the dashboard's charts; this instance's, since it started). */
  readonly lagSeries = new LagSeries();
  readonly escalationSeries = new EscalationSeries();
  readonly state: TrackingState;
  /** topic → consumer groups seen acknowledging it. */
  private readonly groups = new Map<string, Set<string>>();
  /**
   * Changes of one event run one at a time: each event's last queued change (the kit's KeyedQueue
   * is not exported, and this also tells whether an event has a change pending).
   */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    readonly store: Store,
    readonly metrics: MonitorMetrics,
    opts: StateOptions,
  ) {
    this.state = new TrackingState(opts);
  }

  /** Loads the known groups and the open exceptions, and sets the open-escalation gauge. */
  async init(): Promise<void> {
    for (const g of await this.store.groups.all()) this.rememberGroup(g.topic, g.group);
    await this.loadOpenExceptions();
    this.metrics.openEscalations.set(await this.store.tracking.countOpenEscalations());
  }

  /** Open exceptions from the store into memory (at start, and for what another instance opened). */
  async loadOpenExceptions(): Promise<number> {
    const docs = await this.store.tracking.openFull(OPEN_LOADED);
    for (const t of docs) {
      this.state.put(t);
      this.state.persisted.add(t._id);
    }
    return docs.length;
  }

  knownGroups(): Map<string, Set<string>> {
    return this.groups;
  }

  groupsOn(topic: string): string[] {
    return [...(this.groups.get(topic) ?? [])];
  }

  /** Records a group seen acking a topic, in memory and (the first time here) in the store. */
  async groupSeen(topic: string, group: string): Promise<void> {
    if (!this.rememberGroup(topic, group)) return;
    await this.store.groups.add({ topic, group, service: serviceOfGroup(group), firstSeenAt: Date.now() }).catch(() => undefined); // the same values from every writer: a lost race changes nothing
  }

  private rememberGroup(topic: string, group: string): boolean {
    const set = this.groups.get(topic) ?? new Set<string>();
    this.groups.set(topic, set);
    if (set.has(group)) return false;
    set.add(group);
    return true;
  }

  /**
   * Ids of the open events whose deadline is at or before the time they can be judged at, earliest
   * first: `now` for everyday events, `bulkNow` for bulk work (its acks are read by a group of their own).
   */
  dueBy(now: number, limit: number, bulkNow = now): string[] {
    return this.state
      .openEvents()
      .filter((t) => t.slaDeadline <= (t.bulk ? bulkNow : now))
      .sort((a, b) => a.slaDeadline - b.slaDeadline)
      .slice(0, limit)
      .map((t) => t._id);
  }

  /** True when a change of this event must be written (it is an exception, or a write of it is queued). */
  writesThrough(id: string): boolean {
    return this.state.persisted.has(id) || this.pending.has(id);
  }

  /**
   * Changes one event as an exception: `decide` gets the stored document (or, before the event's
   * first write, its in-memory tracking; null when neither exists) and may run more than once (the
   * compare-and-set). The result is written with its events, then put in memory. `onWritten` runs
   * once the change is written. Returns the record before and after the change (`next` null when
   * nothing changed).
   */
  change(
    id: string,
    decide: (current: Tracking | null) => TrackingChange | null | Promise<TrackingChange | null>,
    opts: { onWritten?: () => void } = {},
  ): Promise<{ prev: Tracking | null; next: Tracking | null }> {
    const before = this.pending.get(id);
    const run = (before ? before.catch(() => undefined) : Promise.resolve()).then(() => this.changeNow(id, decide, opts));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.pending.set(id, settled);
    void settled.then(() => this.pending.get(id) === settled && this.pending.delete(id));
    return run;
  }

  private async changeNow(
    id: string,
    decide: (current: Tracking | null) => TrackingChange | null | Promise<TrackingChange | null>,
    opts: { onWritten?: () => void },
  ): Promise<{ prev: Tracking | null; next: Tracking | null }> {
    let prev: Tracking | null = null;
    let next: Tracking | null = null;
    const known = this.state.persisted.has(id);
    // An event held in memory and never written: its first write need not read (the usual case).
    const memoryOnly = !known && this.state.get(id) !== undefined;
    const doc = await this.store.tracking.transact(
      id,
      async (cur) => {
        prev = cur ?? (known ? null : (this.state.get(id) ?? null));
        const change = await decide(prev);
        next = change?.next ?? null;
        return change;
      },
      { assumeNew: memoryOnly },
    );
    if (doc) {
      this.state.put(doc);
      this.state.persisted.add(id);
    }
    if (next) opts.onWritten?.();
    await this.afterChange(prev, next);
    return { prev, next };
  }

  /** Status feed entries and the open-escalation gauge after an escalation changed. */
  private async afterChange(prev: Tracking | null, next: Tracking | null): Promise<void> {
    const before = prev?.escalation?.status;
    const after = next?.escalation?.status;
    if (!next?.escalation || before === after) return;
    await this.store.feed.addOnce(feedEntriesForEscalation(prev, next, Date.now()));
    if (after === 'opened') {
      this.metrics.openEscalations.inc();
      this.escalationSeries.record('opened', Date.now());
    } else if (before === 'opened') {
      this.metrics.openEscalations.dec();
      this.escalationSeries.record('resolved', Date.now());
    }
  }

  /** The event from memory, else from the exceptions (null when unknown). */
  async find(id: string): Promise<Tracking | null> {
    return this.state.get(id) ?? (await this.store.tracking.get(id));
  }

  async get(id: string): Promise<Tracking> {
    const t = await this.find(id);
    if (!t)
      throw new NotFoundError(
        'event_not_tracked',
        `no event ${id} is tracked`,
        'check the eventId; the monitor tracks events it has seen since it started',
      );
    return t;
  }
}
