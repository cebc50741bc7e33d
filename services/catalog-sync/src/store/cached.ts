import { LRUCache } from 'lru-cache';

/** How long a cached table (channels, rules, rates) is used before it is read again: writes by other instances show within this. */
export const TABLE_TTL_MS = 1000;

/** A clock in milliseconds (tests pass their own). */
export interface Clock {
  now(): number;
}

/**
 * A whole table read on demand and kept for `ttlMs` from when its read started (so what it holds is
 * never older than that); `invalidate` drops it, and a read that started before an invalidation is
 * handed to its callers but not kept (it may predate the write that invalidated). Concurrent gets
 * share one read. One entry of an lru-cache: its fetch shares reads, its delete aborts the pending
 * fetch's write-back (`ignoreFetchAbort` still answers the read to whoever awaits it).
 */
export class Cached<T extends NonNullable<unknown>> {
  private readonly cache: LRUCache<'table', T>;

  constructor(load: () => Promise<T>, ttlMs = TABLE_TTL_MS, clock: Clock = performance) {
    this.cache = new LRUCache<'table', T>({
      max: 1,
      ttl: ttlMs,
      ttlResolution: 0,
      allowStale: false,
      ignoreFetchAbort: true,
      perf: clock,
      fetchMethod: async (_key, _stale, { options }) => {
        const startedAt = clock.now();
        const value = await load();
        options.ttl = Math.max(1, ttlMs - (clock.now() - startedAt)); // counted from the read's start
        return value;
      },
    });
  }

  async get(): Promise<T> {
    return (await this.cache.fetch('table')) as T; // fetchMethod never answers undefined
  }

  invalidate(): void {
    this.cache.delete('table');
  }
}
