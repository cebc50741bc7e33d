/** Lag of one consumer group on one partition: end offset minus committed offset. */
export interface PartitionLag {
  group: string;
  topic: string;
  partition: number;
  committed: number | null;
  end: number;
  lag: number;
}

/**
 * A group with no committed offset on a partition (-1) has consumed nothing there yet: its lag counts
 * from the partition's low watermark (what it would still have to read from the beginning).
 */
export function partitionLag(group: string, topic: string, partition: number, committed: string, high: string, low: string): PartitionLag {
  const end = Number(high);
  const c = Number(committed);
  const from = c >= 0 ? c : Number(low);
  return { group, topic, partition, committed: c >= 0 ? c : null, end, lag: Math.max(0, end - from) };
}
