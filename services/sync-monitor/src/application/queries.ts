/** What the API and the dashboard read: tracked events, events needing attention, channels and their feeds. */
import type { ChannelStatus, FeedEntry } from '../domain/status-feed';
import type { Tracking, TrackingView } from '../domain/propagation';
import type { LagWindows } from '../domain/windows';
import type { Store } from '../store';
import type { TrackedEvents } from './tracked-events';

/** Open events an issue list looks at, newest first. */
const ISSUE_SCAN = 1000;

export class MonitorQueries {
  readonly windows: LagWindows;

  constructor(
    private readonly store: Store,
    private readonly events: TrackedEvents,
  ) {
    this.windows = events.windows;
  }

  recent(limit: number, correlationId?: string): Promise<TrackingView[]> {
    return this.store.tracking.recent(limit, correlationId);
  }

  event(id: string): Promise<Tracking> {
    return this.events.get(id);
  }

  /** Open events that are late or have a failed or dead-lettered ack, newest first. */
  async issues(): Promise<TrackingView[]> {
    const open = await this.store.tracking.open(ISSUE_SCAN);
    return open.filter((t) => t.state !== 'open' || t.acks.some((a) => a.outcome === 'failed' || a.outcome === 'dead_lettered'));
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
