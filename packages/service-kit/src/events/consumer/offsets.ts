/**
 * Offset commits: at-least-once delivery.
 *
 * Guarantees: an offset is committed only after its record's handling resolved (after the
 * handler's write) and after `beforeCommit` made buffered effects durable; if `beforeCommit` throws,
 * nothing is committed and the offsets are kept (later ones supersede them). Commits are batched on
 * a short timer, one OffsetCommit request per interval and one at a time: a crash replays at most
 * that interval's records, which effect-once turns into duplicates. A commit a rebalance refuses is
 * dropped: the partition's next owner replays from the last committed offset.
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

  constructor(
    private readonly consumer: Pick<Consumer, 'commitOffsets'>,
    private readonly group: string,
    private readonly logger: Logger,
    private readonly beforeCommit?: () => Promise<void>,
  ) {}

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

  private async commitHandled(): Promise<void> {
    if (!this.handled.size) return;
    const offsets = this.handled;
    this.handled = new Map();
    try {
      await this.beforeCommit?.();
    } catch (err) {
      for (const [k, o] of offsets) if (!this.handled.has(k)) this.handled.set(k, o); // later offsets supersede
      this.logger.warn('offsets held back: the effects before them are not durable yet', { group: this.group, err: errorText(err) });
      return;
    }
    try {
      await this.consumer.commitOffsets([...offsets.values()]);
      for (const k of offsets.keys()) this.committed.add(k);
    } catch (err) {
      // A partition lost in a rebalance refuses the commit: its next owner replays from the last one.
      this.logger.debug('offset commit refused', { group: this.group, err: errorText(err) });
    }
  }
}
