/**
 * What every flow on tracked events shares: the consumer groups seen acknowledging each topic (where
 * re-deliveries go, whose lag is measured), the sweep's work list (SLA deadlines of the open events
 * this instance wrote), the lag windows, and one way to change an event's tracking so the work list,
 * the status feed and the open-escalation gauge follow every write.
 */
import { NotFoundError } from '@omnimall/service-kit/errors';
import { serviceOfGroup, type Tracking } from '../domain/propagation';
import { feedEntriesForEscalation } from '../domain/status-feed';
import { LagWindows } from '../domain/windows';
import type { MonitorMetrics } from '../metrics';
import type { Store, TrackingChange } from '../store';

/** Open events whose deadlines the sweep keeps in memory; beyond this, only its store query finds them. */
const DUE_KEPT = 200_000;

export class TrackedEvents {
  readonly windows = new LagWindows();
  /** topic → consumer groups seen acknowledging it. */
  private readonly groups = new Map<string, Set<string>>();
  /** eventId → SLA deadline of every open event this instance wrote (the sweep's work list). */
  private readonly due = new Map<string, number>();

  constructor(
    readonly store: Store,
    readonly metrics: MonitorMetrics,
  ) {}

  /** Loads the known groups and the open events' deadlines, and sets the open-escalation gauge. */
  async init(): Promise<void> {
    for (const g of await this.store.groups.all()) this.rememberGroup(g.topic, g.group);
    for (const t of await this.store.tracking.openDeadlines()) this.noteOpen(t);
    this.metrics.openEscalations.set(await this.store.tracking.countOpenEscalations());
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

  /** Ids of the open events this instance wrote whose deadline is at or before `now`, earliest first. */
  dueBy(now: number, limit: number): string[] {
    return [...this.due]
      .filter(([, deadline]) => deadline <= now)
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit)
      .map(([id]) => id);
  }

  /** Keeps the sweep's work list in step with a tracking document just written. */
  private noteOpen(t: Pick<Tracking, '_id' | 'open' | 'slaDeadline'> | null): void {
    if (!t) return;
    if (!t.open) this.due.delete(t._id);
    else if (this.due.has(t._id) || this.due.size < DUE_KEPT) this.due.set(t._id, t.slaDeadline);
  }

  /**
   * Changes one event's tracking (see TrackingRepository.transact: `decide` may run again), then
   * keeps the work list, the channels' status feeds and the open-escalation gauge in step.
   * `onWritten` runs once the change is written, before the feed entries are. Returns the record
   * before and after the change (`next` null when nothing changed).
   */
  async change(
    id: string,
    decide: (current: Tracking | null) => TrackingChange | null | Promise<TrackingChange | null>,
    opts: { assumeNew?: boolean; onWritten?: () => void } = {},
  ): Promise<{ prev: Tracking | null; next: Tracking | null }> {
    let prev: Tracking | null = null;
    let next: Tracking | null = null;
    const doc = await this.store.tracking.transact(
      id,
      async (cur) => {
        prev = cur;
        const change = await decide(cur);
        next = change?.next ?? null;
        return change;
      },
      { assumeNew: opts.assumeNew },
    );
    this.noteOpen(doc);
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
    if (after === 'opened') this.metrics.openEscalations.inc();
    else if (before === 'opened') this.metrics.openEscalations.dec();
  }

  async get(id: string): Promise<Tracking> {
    const t = await this.store.tracking.get(id);
    if (!t)
      throw new NotFoundError(
        'event_not_tracked',
        `no event ${id} is tracked`,
        'check the eventId; the monitor tracks events it has seen since it started',
      );
    return t;
  }
}
