/**
 * Which Kafka records the in-memory tracking already holds: per topic partition (a `.retry` topic
 * counted apart), the offset after the last record applied. A snapshot keeps them with the state
 * they describe, captured in the same instant, so after a restart a record below its partition's
 * position is known to be in the restored state (applied before the snapshot): it is not applied
 * again, and a record at or above it is applied for the first time. That makes the replay exact
 * whatever offsets the consumer groups had committed (they commit only what a snapshot covers).
 */

/** Where a record was read: its topic as read (`<topic>.retry` for a retry), partition and offset. */
export interface RecordAt {
  topic: string;
  partition: number;
  offset: string;
}

export class Positions {
  private readonly next = new Map<string, number>();

  private static key(at: RecordAt): string {
    return `${at.topic}/${at.partition}`;
  }

  /** True when the record is already part of the state (it lies below its partition's position). */
  covers(at: RecordAt): boolean {
    const n = this.next.get(Positions.key(at));
    return n !== undefined && Number(at.offset) < n;
  }

  /** The record was applied: its partition's position moves past it. */
  advance(at: RecordAt): void {
    const k = Positions.key(at);
    const after = Number(at.offset) + 1;
    if ((this.next.get(k) ?? -1) < after) this.next.set(k, after);
  }

  /** Next offset per `topic/partition`. */
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.next);
  }

  restore(saved: Record<string, number>): void {
    this.next.clear();
    for (const [k, v] of Object.entries(saved)) this.next.set(k, v);
  }

  /** Next offset of one partition (undefined: nothing applied from it). */
  of(topic: string, partition: number): number | undefined {
    return this.next.get(`${topic}/${partition}`);
  }
}
