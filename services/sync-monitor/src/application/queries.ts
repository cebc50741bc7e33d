/**
 * What the API and the dashboard read: tracked events (from memory, and the exceptions that left
 * it), events needing attention, channels and their feeds, and the monitor's own health. No query
 * scans a collection: memory has indexes by id, correlation id and channel, and every exceptions
 * filter has its index.
 */
import type { ChannelStatus, FeedEntry } from '../domain/status-feed';
import type { Tracking, TrackingView } from '../domain/propagation';
import type { EscalationSeries, LagSeries } from '../domain/series';
import type { LagWindows } from '../domain/windows';
import type { Store } from '../store';
import type { EventFilter } from './state';
import type { TrackedEvents } from './tracked-events';
import type { HealthReport, TrackingHealth } from './tracking-health';

const withoutRaw = ({ raw, ...rest }: Tracking): TrackingView => {
  void raw;
  return rest;
};

export class MonitorQueries {
  readonly windows: LagWindows;
  readonly lagSeries: LagSeries;
  readonly escalationSeries: EscalationSeries;

  constructor(
    private readonly store: Store,
    private readonly events: TrackedEvents,
    private readonly tracking: Pick<TrackingHealth, 'report'>,
  ) {
    this.windows = events.windows;
    this.lagSeries = events.lagSeries;
    this.escalationSeries = events.escalationSeries;
  }

  /** Newest first: the events in memory, and the exceptions already gone from memory. */
  async recent(limit: number, filter: EventFilter = {}): Promise<TrackingView[]> {
    const inMemory = this.events.state.find(limit, filter);
    const stored = await this.store.tracking.recent(limit, filter);
    const seen = new Set(inMemory.map((t) => t._id));
    return [...inMemory.map(withoutRaw), ...stored.filter((t) => !seen.has(t._id))]
      .sort((a, b) => b.occurredAt - a.occurredAt)
      .slice(0, limit);
  }

  event(id: string): Promise<Tracking> {
    return this.events.get(id);
  }

  /** Open events that are late or have a failed or dead-lettered ack, newest first. */
  async issues(): Promise<TrackingView[]> {
    return this.events.state
      .openEvents()
      .filter((t) => t.state !== 'open' || t.acks.some((a) => a.outcome === 'failed' || a.outcome === 'dead_lettered'))
      .sort((a, b) => b.occurredAt - a.occurredAt)
      .map(withoutRaw);
  }

  /** How far behind its topics the monitor's own tracking is. */
  health(): HealthReport {
    return this.tracking.report();
  }

  channels(): Promise<ChannelStatus[]> {
    return this.store.channels.list();
  }

  channel(code: string): Promise<ChannelStatus | null> {
    return this.store.channels.get(code);
  }

  feed(channel: string, limit: number): Promise<FeedEntry[]> {
    return this.store.feed.latest(channel, limit);
  }
}
