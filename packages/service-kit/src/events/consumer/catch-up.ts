/**
 * How current a consumer is: `caughtUpAt()` is a time (epoch millis; 0 when unknown) before which
 * every record of its partitions has been handled.
 *
 * Why it holds: kafkajs fetches from a broker again only once every batch of the previous fetch is
 * handled; if none of those batches left a lag behind (each ended at the partition's high
 * watermark), the member had then handled everything written before that previous fetch started.
 * So while the member keeps fetching (an idle consumer waits for its fetch at most
 * `fetch.maxWaitMs`) this stays within about two fetch cycles of now; it stops moving when the
 * member falls behind, and starts over after a rebalance, a crash or a stop (the partitions and
 * their positions may differ). A local cache fed by the consumer can rely on it (see
 * services/cart/src/store/projection-cache.ts).
 */
import type { Consumer } from 'kafkajs';

interface Fetcher {
  startedAt: number;
  lagged: boolean;
  caughtUpAt: number;
}

export class CatchUpTracker {
  /** Per broker fetcher: when its current fetch started, whether the batches handled since left a lag, and the time it was last caught up as of. */
  private readonly fetchers = new Map<number, Fetcher>();

  constructor(consumer: Pick<Consumer, 'on' | 'events'>) {
    const { FETCH_START, END_BATCH_PROCESS, REBALANCING, CRASH, STOP } = consumer.events;
    consumer.on(FETCH_START, ({ payload }: { payload: { nodeId: number } }) => this.fetchStarted(payload.nodeId, Date.now()));
    consumer.on(END_BATCH_PROCESS, ({ payload }: { payload: { offsetLag: string } }) => this.batchHandled(payload.offsetLag));
    for (const e of [REBALANCING, CRASH, STOP]) consumer.on(e, () => this.reset());
  }

  fetchStarted(nodeId: number, now: number): void {
    const f = this.fetchers.get(nodeId);
    if (!f) return void this.fetchers.set(nodeId, { startedAt: now, lagged: false, caughtUpAt: 0 });
    if (!f.lagged) f.caughtUpAt = f.startedAt;
    f.startedAt = now;
    f.lagged = false;
  }

  batchHandled(offsetLag: string): void {
    if (BigInt(offsetLag) > 0n) for (const f of this.fetchers.values()) f.lagged = true;
  }

  reset(): void {
    this.fetchers.clear();
  }

  /** The oldest of the fetchers' caught-up times; 0 when none has fetched yet. */
  caughtUpAt(): number {
    if (!this.fetchers.size) return 0;
    let at = Infinity;
    for (const f of this.fetchers.values()) at = Math.min(at, f.caughtUpAt);
    return at;
  }
}
