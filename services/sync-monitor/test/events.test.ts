import { catalogue, type SyncEscalation, type SyncNotice } from '@omnimall/contracts';
import type { KafkaMessage } from 'kafkajs';
import { escalationEvents, resolutionEvents } from '../src/application/escalations';
import { trackedTopics } from '../src/domain/expectations';
import { applyEnvelope, type EscalationRecord, type Tracking } from '../src/domain/propagation';
import { manifest } from '../src/events';
import { envelopeHandlers } from '../src/events/in';
import { rawOf } from '../src/events/in/record';
import { monitorSettings } from '../src/settings';

const base = applyEnvelope(
  null,
  'identity.customer-merged',
  {
    eventId: 'e1',
    type: 'identity.customer-merged',
    occurredAt: Date.now() - 40_000,
    producer: 'identity',
    aggregateId: 'cus_1',
    correlationId: 'corr-1',
    sourceChannel: 'web',
  },
  null,
  { consumers: ['cart'], slaMs: 2000 },
  Date.now(),
);
const esc: EscalationRecord = {
  escalationId: 'x1',
  at: Date.now(),
  status: 'opened',
  laggingServices: ['cart'],
  channels: ['kiosk', 'web'],
  rootCause: 'no_ack',
  resolvedAt: null,
};
const escalated: Tracking = { ...base, state: 'escalated', escalation: esc };

describe('the event manifest', () => {
  it("consumes the acks, the jobs' progress and every tracked topic, and produces escalations and notices", () => {
    expect(manifest.produces).toEqual(['sync.escalation', 'sync.notice']);
    // plus the table topics, which the kit's trust reader holds in memory (not tracked, no handler here)
    const tables = catalogue.filter((t) => t.table).map((t) => t.name);
    expect(tables.length).toBeGreaterThan(0);
    expect(manifest.consumes).toEqual([
      'sync.applied',
      'sync.applied.bulk',
      'platform.job-progress',
      ...trackedTopics(catalogue),
      ...tables,
    ]);
    expect(trackedTopics(catalogue).filter((t) => tables.includes(t))).toEqual([]);
    // the jobs' progress goes to the job board, not tracked as a propagation (nobody acknowledges it)
    expect(trackedTopics(catalogue)).not.toContain('platform.job-progress');
  });

  it('the envelope subscription handles exactly the tracked topics the manifest lists, data requests included', () => {
    const sink = { onEnvelope: async () => 'applied' as const };
    const erasure = { erase: async () => 0, recordOnce: async () => true };
    const handlers = envelopeHandlers(trackedTopics(catalogue), sink, { apply: async () => true }, erasure, { raise: async () => 0 });
    const tables = new Set<string>(catalogue.filter((t) => t.table).map((t) => t.name));
    expect(Object.keys(handlers).sort()).toEqual(
      manifest.consumes
        .filter((t) => t !== 'sync.applied' && t !== 'sync.applied.bulk' && t !== 'platform.job-progress' && !tables.has(t))
        .sort(),
    );
    expect(Object.keys(handlers)).toContain('identity.data-request');
  });
});

describe('escalation events', () => {
  it('an opened escalation publishes the alert, an admin notice and a customer notice per affected channel', () => {
    const events = escalationEvents(escalated, 'opened');
    expect(events.map((e) => e.topic)).toEqual(['sync.escalation', 'sync.notice', 'sync.notice', 'sync.notice']);
    const alert = events[0].value as SyncEscalation;
    expect(alert).toMatchObject({ escalationId: 'x1', status: 'opened', eventId: 'e1', laggingConsumers: ['cart'], rootCause: 'no_ack' });
    expect(alert.ageMs).toBeGreaterThanOrEqual(40_000);
    expect(alert.envelope).toMatchObject({
      type: 'sync.escalation-opened',
      aggregateId: 'e1',
      aggregateVersion: 1,
      correlationId: 'corr-1',
    });
    const notices = events.slice(1).map((e) => e.value as SyncNotice);
    expect(notices.map((n) => [n.audience, n.channel, n.kind, n.recipientIds])).toEqual([
      ['admin', null, 'propagation_delayed', []],
      // identity topics are keyed by customer id: the customer is named.
      ['customer', 'kiosk', 'propagation_delayed', ['cus_1']],
      ['customer', 'web', 'propagation_delayed', ['cus_1']],
    ]);
    expect(notices[0].envelope).toMatchObject({ type: 'sync.propagation_delayed', aggregateId: 'x1' });
    expect(new Set(notices.map((n) => n.noticeId)).size).toBe(3);
  });

  it('a resolution publishes the resolved alert and recovery notices only when an opened escalation resolves', () => {
    const resolved: Tracking = { ...escalated, state: 'complete', escalation: { ...esc, status: 'resolved' } };
    const events = resolutionEvents(escalated, resolved);
    expect(events.map((e) => e.topic)).toEqual(['sync.escalation', 'sync.notice', 'sync.notice', 'sync.notice']);
    expect(events[0].value).toMatchObject({ status: 'resolved', envelope: { aggregateVersion: 2 } });
    expect((events[1].value as SyncNotice).kind).toBe('propagation_recovered');
    expect(resolutionEvents(resolved, resolved)).toEqual([]);
    expect(resolutionEvents(null, base)).toEqual([]);
  });
});

describe('the record kept for re-delivery', () => {
  it('keeps the key, the value in base64 and the first value of each header', () => {
    const m = {
      key: Buffer.from('cus_1'),
      value: Buffer.from([0, 1, 2, 255]),
      headers: { eventId: Buffer.from('e1'), multi: [Buffer.from('a'), Buffer.from('b')], none: undefined },
    } as unknown as KafkaMessage;
    expect(rawOf(m)).toEqual({
      key: 'cus_1',
      value: Buffer.from([0, 1, 2, 255]).toString('base64'),
      headers: { eventId: 'e1', multi: 'a' },
    });
    expect(rawOf({ ...m, key: null })?.key).toBeNull();
    expect(rawOf({ ...m, value: null })).toBeNull();
    expect(rawOf(undefined)).toBeNull();
  });
});

describe('settings', () => {
  it('reads the environment, with defaults for what is unset or not a number, and takes the overrides that are set', () => {
    expect(monitorSettings({})).toEqual({
      maxRetries: 3,
      retryIntervalMs: 2000,
      escalateAfterMs: 30_000,
      fullScanEveryMs: 30_000,
      sweepIntervalMs: 500,
      consumerLagIntervalMs: 10_000,
      trackCorrelationPrefix: undefined,
      rawRetentionHours: 24,
      eventRetentionDays: 14,
      pruneIntervalMs: 600_000,
      memoryRetentionMs: 900_000,
      memoryMaxEvents: 200_000,
      snapshotIntervalMs: 5000,
      bulkSlaMs: 600_000, // sync.applied.bulk's slaSeconds
    });
    expect(monitorSettings({ SYNC_BULK_SLA_MS: '120000' }).bulkSlaMs).toBe(120_000);
    expect(monitorSettings({ SYNC_RAW_RETENTION_HOURS: '2', SYNC_EVENT_RETENTION_DAYS: '7' })).toMatchObject({
      rawRetentionHours: 2,
      eventRetentionDays: 7,
    });
    const env = { SYNC_SWEEP_INTERVAL_MS: '50', SYNC_MAX_RETRIES: 'many', SYNC_TRACK_CORRELATION_PREFIX: 'e2e-7' };
    expect(monitorSettings(env)).toMatchObject({ sweepIntervalMs: 50, maxRetries: 3, trackCorrelationPrefix: 'e2e-7' });
    expect(monitorSettings(env, { sweepIntervalMs: 100, maxRetries: undefined })).toMatchObject({ sweepIntervalMs: 100, maxRetries: 3 });
    expect(monitorSettings({ SYNC_TRACK_CORRELATION_PREFIX: '' }).trackCorrelationPrefix).toBeUndefined();
  });
});
