/**
 * outbox-backlog: a backlog of 200,000 acks queued at once (a sync-monitor catching up after a bulk
 * catalogue sync, issue 18 item 6) is published completely: every send resolves (the broker
 * acknowledged it), none is refused for size, and no produce request exceeds the publisher's caps.
 * Reports the time to drain the backlog, the requests it took and the largest request (records and
 * estimated bytes). BACKLOG_ACKS sets the size (default 200,000).
 */
import type { Producer, ProducerBatch } from 'kafkajs';
import { ServiceRuntime } from '../src';
import { ackEvent } from '../src/events/consumer/acknowledge';
import { recordBytes } from '../src/kafka/publisher/requests';
import { testConfig } from '../src/testing';
import type { BenchRow } from '../../../bench/harness';

export const rows = ['outbox-backlog'];
const ACKS = Number(process.env.BACKLOG_ACKS ?? 200_000);

export async function run(): Promise<BenchRow[]> {
  const rt = await ServiceRuntime.start({ config: testConfig('bench-backlog'), produces: [] });
  try {
    const producer = (rt.publisher as unknown as { producer: Producer }).producer;
    const sendBatch = producer.sendBatch.bind(producer);
    let requests = 0;
    let maxRecords = 0;
    let maxBytes = 0;
    producer.sendBatch = (batch: ProducerBatch) => {
      const messages = batch.topicMessages!.flatMap((t) => t.messages);
      requests++;
      maxRecords = Math.max(maxRecords, messages.length);
      maxBytes = Math.max(
        maxBytes,
        messages.reduce((n, m) => n + recordBytes(m), 0),
      );
      return sendBatch(batch);
    };
    const now = Date.now();
    const acks = Array.from({ length: ACKS }, (_, i) =>
      ackEvent('bench-backlog', 'bench-backlog.monitor', {
        topic: 'catalog.product-changed',
        eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        type: 'catalog.product_changed',
        occurredAt: now,
        correlationId: `bulk-sync-${i}`,
        outcome: 'applied',
        attempt: 1,
        channel: 'web',
      }),
    );
    const t0 = performance.now();
    const results = await Promise.allSettled(acks.map((a) => rt.publisher.publish([a], { lingerMs: 5, keep: true })));
    const ms = performance.now() - t0;
    const refused = results.filter((r) => r.status === 'rejected').length;
    const row: BenchRow = {
      name: 'outbox-backlog',
      achieved_rate: Math.round(ACKS / (ms / 1000)),
      p50_ms: NaN,
      p95_ms: NaN,
      p99_ms: NaN,
      samples: ACKS,
      drained_ms: Math.round(ms),
      published: ACKS - refused,
      refused,
      requests,
      max_request_records: maxRecords,
      max_request_bytes: maxBytes,
      limit_bytes: rt.publisher.limits.maxRequestBytes,
    };
    if (refused) row.error = `${refused} of ${ACKS} acks not published`;
    return [row];
  } finally {
    await rt.stop();
  }
}
