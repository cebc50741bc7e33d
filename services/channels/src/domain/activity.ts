/**
 * Which customers are active on which channel is read for one purpose: who hears of a channel's
 * maintenance or sunset. Whether the pair exists matters; when exactly it was last active does not.
 * So a process records a (channel, customer) pair's activity at most once per `refreshMs` of event
 * time, and a cart changed on every tap costs one projection write a minute instead of one per change.
 * `lastActivityAt` is therefore accurate to `refreshMs`.
 *
 * Bounded: past `max` pairs the least recently recorded is forgotten (and simply recorded again).
 * Recency is by write only: `due` peeks (a read does not make a pair recent), `record` sets.
 */
import { LRUCache } from 'lru-cache';

export class RecentActivity {
  /** `${channel}:${customerId}` → event time of the last recorded activity. */
  private readonly recorded: LRUCache<string, number>;

  constructor(
    private readonly refreshMs = 60_000,
    max = 50_000,
  ) {
    this.recorded = new LRUCache<string, number>({ max });
  }

  static key(channel: string, customerId: string): string {
    return `${channel}:${customerId}`;
  }

  /** Whether activity at `at` (event time, ms) should be written. */
  due(key: string, at: number): boolean {
    const last = this.recorded.peek(key);
    return last === undefined || at - last >= this.refreshMs || at < last;
  }

  /** The activity at `at` is written. */
  record(key: string, at: number): void {
    this.recorded.set(key, at);
  }

  /** A customer's pairs were removed from the projection (erasure): record them afresh if they come back. */
  forgetCustomer(customerId: string): void {
    const suffix = `:${customerId}`;
    for (const key of [...this.recorded.keys()]) if (key.endsWith(suffix)) this.recorded.delete(key);
  }
}
