/**
 * Offset commits: at-least-once delivery.
 *
 * Guarantees: an offset is committed only after its record's handling resolved (after the
 * handler's write) and after `beforeCommit` made buffered effects durable; if `beforeCommit` throws,
 * nothing is committed and the offsets are kept (later ones supersede them). Commits are batched on
 * a short timer, one OffsetCommit request per interval and one at a time: a crash replays at most
 * that interval's records, which effect-once turns into duplicates. A commit a rebalance refuses is
 * dropped: the partition's next owner replays from the last committed offset.
 *
 * A commit counts (`hasCommitted`, which tells a rejoin which partitions need no seek) only if the
 * member was joined when it was sent and had not crashed when it resolved: kafkajs resolves a commit
 * made while its runner is restarting (a broker restart) without sending it. Such offsets are kept
 * and sent again after the next join; believing them committed let a rejoin start a partition that
 * had nothing committed at the latest offset, skipping what was appended before it rejoined.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from '../../observability/logger';
import { errorText } from './types';

interface Position {
  topic: string;
  partition: number;
  offset: string;
}

const partitionKey = (topic: string, partition: number): string => `${topic}/${partition}`;

export class OffsetCommitter {
  /** Next offset to commit per topic/partition, recorded once a record's handling finished. */
  private handled = new Map<string, Position>();
  /** Partitions this member has committed an offset for (a rejoin need not seek them). */
  private readonly committed = new Set<string>();
  private committing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** Joined and not crashed since: a commit now is sent. */
  private live = false;
  /** Crashes so far: a commit that resolves after one may not have been sent. */
  private crashes = 0;

  constructor(
    private readonly consumer: Pick<Consumer, 'commitOffsets' | 'on' | 'events'>,
    private readonly group: string,
    private readonly logger: Logger,
    private readonly beforeCommit?: () => Promise<void>,
  ) {
    consumer.on(consumer.events.GROUP_JOIN, () => (this.live = true));
    for (const e of [consumer.events.CRASH, consumer.events.STOP])
      consumer.on(e, () => {
        this.live = false;
        this.crashes++;
      });
  }

  /** Records that the record at `offset` was handled: the next commit moves past it. */
  handledUpTo(topic: string, partition: number, offset: string): void {
    this.handled.set(partitionKey(topic, partition), { topic, partition, offset: (BigInt(offset) + 1n).toString() });
  }

  hasCommitted(topic: string, partition: number): boolean {
    return this.committed.has(partitionKey(topic, partition));
  }

  /** Commits every `everyMs` until stopped. */
  start(everyMs: number): void {
    this.timer = setInterval(() => void this.commit(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Commits what was handled, after the commit in progress (if any). */
  async flush(): Promise<void> {
    await this.committing;
    await this.commit();
  }

  /** Commits what was handled since the last commit, one commit at a time. */
  commit(): Promise<void> {
    this.committing ??= this.commitHandled().finally(() => (this.committing = undefined));
    return this.committing;
  }

  /** Puts offsets back to be committed later, unless later ones superseded them meanwhile. */
  private keep(offsets: Map<string, Position>): void {
    for (const [k, o] of offsets) if (!this.handled.has(k)) this.handled.set(k, o);
  }

  private async commitHandled(): Promise<void> {
    if (!this.handled.size || !this.live) return;
    const offsets = this.handled;
    this.handled = new Map();
    try {
      await this.beforeCommit?.();
    } catch (err) {
      this.keep(offsets);
      this.logger.warn('offsets held back: the effects before them are not durable yet', { group: this.group, err: errorText(err) });
      return;
    }
    const crashes = this.crashes;
    try {
      if (!this.live) return this.keep(offsets);
      await this.consumer.commitOffsets([...offsets.values()]);
      if (this.live && this.crashes === crashes) for (const k of offsets.keys()) this.committed.add(k);
      else this.keep(offsets); // the member crashed meanwhile: kafkajs may have dropped it
    } catch (err) {
      // A partition lost in a rebalance refuses the commit: its next owner replays from the last one.
      this.logger.debug('offset commit refused', { group: this.group, err: errorText(err) });
    }
  }
}
