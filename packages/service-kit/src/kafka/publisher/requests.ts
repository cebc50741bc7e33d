/**
 * How queued records are cut into produce requests (pure, no I/O).
 *
 * Guarantees:
 *  - no request holds more than `maxRequestRecords` records nor more than `maxRequestBytes` of them
 *    (estimated from the record's key, value and headers plus the record format's overhead, an upper
 *    bound), so a backlog never becomes one request the broker refuses for size (issue 18 saw
 *    128,773 acks lost that way); a record alone over the limit is never sent (see `tooLarge`);
 *  - requests are cut from the front of the queue, so records leave in the order they were queued
 *    (per-key order holds).
 * The defaults keep below Kafka's default `message.max.bytes` (1,048,588) with room for the batch
 * headers; a broker or topic configured lower needs KAFKA_MAX_REQUEST_BYTES set to match.
 */
import type { Message } from 'kafkajs';
import { positiveIntEnv } from '../../service/env';

export interface PublisherLimits {
  /** Most bytes (estimated) in one produce request, and so in one record (default 1,000,000). */
  maxRequestBytes: number;
  /** Most records in one produce request (default 5,000). */
  maxRequestRecords: number;
  /** Queued bytes above which `backpressure()` holds callers until it drains to half (default 64 MiB). */
  maxQueuedBytes: number;
}

export const DEFAULT_LIMITS: PublisherLimits = { maxRequestBytes: 1_000_000, maxRequestRecords: 5_000, maxQueuedBytes: 64 * 1024 * 1024 };

/** The limits from KAFKA_MAX_REQUEST_BYTES, KAFKA_MAX_REQUEST_RECORDS and KAFKA_MAX_QUEUED_BYTES (positive integers), else the defaults. */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): PublisherLimits {
  const read = (name: string, fallback: number): number => positiveIntEnv(env, name, fallback);
  return {
    maxRequestBytes: read('KAFKA_MAX_REQUEST_BYTES', DEFAULT_LIMITS.maxRequestBytes),
    maxRequestRecords: read('KAFKA_MAX_REQUEST_RECORDS', DEFAULT_LIMITS.maxRequestRecords),
    maxQueuedBytes: read('KAFKA_MAX_QUEUED_BYTES', DEFAULT_LIMITS.maxQueuedBytes),
  };
}

/** Per-record overhead of the v2 record format (length, attributes, deltas, varint lengths), rounded up. */
const RECORD_OVERHEAD = 32;
/** Per-header overhead (two varint lengths). */
const HEADER_OVERHEAD = 10;

const lengthOf = (v: unknown): number => {
  if (v === null || v === undefined) return 0;
  if (Buffer.isBuffer(v)) return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + lengthOf(x), 0);
  return Buffer.byteLength(String(v));
};

/** An upper bound of the bytes a record takes in a produce request. */
export function recordBytes(message: Message): number {
  let n = RECORD_OVERHEAD + lengthOf(message.key) + lengthOf(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) n += HEADER_OVERHEAD + Buffer.byteLength(name) + lengthOf(value);
  return n;
}

export interface Sized {
  bytes: number;
}

/**
 * Removes and returns the longest prefix of `queue` within the limits (at least one item; the caller
 * refuses items over `maxRequestBytes` before they are queued).
 */
export function takeRequest<T extends Sized>(queue: T[], limits: Pick<PublisherLimits, 'maxRequestBytes' | 'maxRequestRecords'>): T[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < limits.maxRequestRecords) {
    if (n > 0 && bytes + queue[n].bytes > limits.maxRequestBytes) break;
    bytes += queue[n].bytes;
    n++;
  }
  return queue.splice(0, Math.max(n, Math.min(1, queue.length)));
}
