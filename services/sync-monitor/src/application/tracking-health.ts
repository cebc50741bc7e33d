/**
 * The monitor's own health: how far behind its topics its tracking is, per consumer group, as a time
 * (`now − caughtUpAt`: every record its partitions held before `caughtUpAt` has been handled, the
 * kit's catch-up tracker). Tracking is `degraded` while any group is behind by more than the
 * shortest SLA of the tracked topics (the bulk acks group: its own lane's SLA, sync.applied.bulk):
 * the monitor cannot then tell an event late within its SLA.
 * Published as the gauge `omnimall_sync_monitor_behind_seconds{group}` (an alert rule fires on it),
 * in the dashboard summary and at GET /tracking/health.
 *
 * `caughtUp` is the gate of a restart: envelopes are decided only once the ack group has handled
 * every ack its partitions held at start (application/ingest.ts).
 */
import type { Logger } from '@omnimall/service-kit';
import type { MonitorMetrics } from '../metrics';

/** What is watched of a consumer (the kit's EventConsumer). */
export interface Watched {
  readonly group: string;
  caughtUpAt(): number;
}

export interface GroupHealth {
  group: string;
  behindMs: number;
  /** How far it may fall behind before tracking is degraded (the shortest SLA; a bulk lane's own). */
  boundMs: number;
}

export interface HealthReport {
  at: number;
  /** current: every group within the shortest SLA; degraded: some group behind by more. */
  status: 'current' | 'degraded';
  behindMs: number;
  shortestSlaMs: number;
  groups: GroupHealth[];
  trackedEvents: number;
  openEvents: number;
  snapshot: { at: number | null; bytes: number; events: number };
}

export class TrackingHealth {
  private readonly watched: Array<{ consumer: Watched; since: number; boundMs: number }> = [];

  constructor(
    private readonly metrics: MonitorMetrics,
    private readonly shortestSlaMs: number,
    private readonly facts: () => { trackedEvents: number; openEvents: number; snapshot: { at: number; bytes: number; events: number } },
  ) {}

  /** Watches a group, degraded once behind by more than `boundMs` (default the shortest SLA). */
  watch(consumer: Watched, boundMs = this.shortestSlaMs): void {
    this.watched.push({ consumer, since: Date.now(), boundMs });
  }

  report(now = Date.now()): HealthReport {
    const groups = this.watched.map(({ consumer, since, boundMs }) => ({
      group: consumer.group,
      // Not caught up once yet: behind since it joined.
      behindMs: Math.max(0, now - (consumer.caughtUpAt() || since)),
      boundMs,
    }));
    for (const g of groups) this.metrics.behind.labels(g.group).set(g.behindMs / 1000);
    const behindMs = Math.max(0, ...groups.map((g) => g.behindMs));
    const f = this.facts();
    return {
      at: now,
      status: groups.some((g) => g.behindMs > g.boundMs) ? 'degraded' : 'current',
      behindMs,
      shortestSlaMs: this.shortestSlaMs,
      groups,
      trackedEvents: f.trackedEvents,
      openEvents: f.openEvents,
      snapshot: { at: f.snapshot.at || null, bytes: f.snapshot.bytes, events: f.snapshot.events },
    };
  }

  /**
   * Resolves once `consumer` (when it exists) has handled every record its partitions held at
   * `since`; after `timeoutMs` it resolves anyway, logged (tracking goes on rather than waiting forever).
   */
  static async caughtUp(consumer: Promise<Watched>, since: number, timeoutMs: number, logger: Logger): Promise<void> {
    const c = await consumer;
    const until = Date.now() + timeoutMs;
    while (c.caughtUpAt() < since) {
      if (Date.now() > until) {
        logger.warn('acks not replayed up to the start within the bound; envelopes decided without them', { group: c.group, timeoutMs });
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
