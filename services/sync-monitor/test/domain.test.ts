import { catalogue, type ChannelChanged, type EventEnvelope, type SyncApplied } from '@omnimall/contracts';
import { partitionLag } from '../src/domain/consumer-lag';
import { catalogueExpectations, envelopeTopics, trackedTopics } from '../src/domain/expectations';
import { groupIssues } from '../src/domain/issues';
import {
  affectedChannels,
  applyAck,
  applyEnvelope,
  decideSweep,
  errorClass,
  groupsFor,
  isFirstSuccess,
  laggingServices,
  percentile,
  serviceOfGroup,
  type AckInfo,
  type EnvelopeInfo,
  type EscalationRecord,
} from '../src/domain/propagation';
import { correlationScope } from '../src/domain/scope';
import { channelStatusOf, feedEntriesForEscalation, feedEntryForChannelChange } from '../src/domain/status-feed';
import { LagWindows } from '../src/domain/windows';

const exp = { consumers: ['cart', 'channels'], slaMs: 2000 };
const env: EnvelopeInfo = {
  eventId: 'e1',
  type: 'cart.changed',
  occurredAt: 10_000,
  producer: 'cart',
  aggregateId: 'c1',
  correlationId: 'k',
  sourceChannel: 'mobile',
};
const ack = (over: Partial<AckInfo>): AckInfo => ({
  ackId: Math.random().toString(36),
  ackedEventId: 'e1',
  ackedType: 'cart.changed',
  topic: 'cart.cart-changed',
  consumer: 'cart.projection',
  channel: null,
  occurredAt: 10_000,
  appliedAt: 10_120,
  outcome: 'applied',
  attempt: 1,
  error: null,
  ...over,
});
const policy = { maxRetries: 2, retryIntervalMs: 1000, escalateAfterMs: 30_000 };

describe('catalogue expectations', () => {
  it('tracks every topic with consumers except the acks and probes', () => {
    const topics = trackedTopics(catalogue);
    expect(topics).toContain('channels.channel-changed');
    expect(topics).toContain('cart.cart-changed');
    expect(topics).not.toContain('sync.applied');
    expect(topics).not.toContain('platform.probe');
    expect(topics).not.toContain('sync.escalation');
  });
  it('takes consumer services and the SLA from the catalogue', () => {
    expect(catalogueExpectations(catalogue)('identity.customer-status')).toEqual({
      consumers: ['cart', 'channels', 'orders', 'sync-monitor'],
      slaMs: 2000,
    });
    expect(catalogueExpectations(catalogue)('nope').consumers).toEqual([]);
  });
  it("expects of a partner's own topic what its family expects", () => {
    const expect_ = catalogueExpectations(catalogue);
    expect(expect_('partner.acme.order-status')).toEqual(expect_('partner.order-status'));
    expect(expect_('partner.acme.order-status').consumers).toEqual(['channels', 'sync-monitor']);
  });
  it('reads a per-partner family through the partner topics present, and drops it when there are none', () => {
    const present = (family: string) =>
      family === 'partner.order-status' ? ['partner.acme.order-status', 'partner.globex.order-status'] : [];
    expect(envelopeTopics(['cart.cart-changed', 'partner.order-status'], catalogue, present)).toEqual([
      'cart.cart-changed',
      'partner.acme.order-status',
      'partner.globex.order-status',
    ]);
    expect(envelopeTopics(['cart.cart-changed', 'partner.order-status'], catalogue, () => [])).toEqual(['cart.cart-changed']);
    expect(trackedTopics(catalogue)).toContain('partner.order-status');
  });
});

describe('propagation tracking', () => {
  it('maps a group to its service by the prefix before the first dot', () => {
    expect(serviceOfGroup('cart.identity-links')).toBe('cart');
    expect(serviceOfGroup('sync-monitor.acks-x.y')).toBe('sync-monitor');
    expect(serviceOfGroup('plain')).toBe('plain');
    expect(groupsFor('cart', ['cart.a', 'cartx.b', 'channels.c', 'cart.d'])).toEqual(['cart.a', 'cart.d']);
  });

  it('records lag exactly as appliedAt − occurredAt and completes once every expected service applied', () => {
    let t = applyEnvelope(null, 'cart.cart-changed', env, null, exp, 10_001);
    t = applyAck(t, ack({ appliedAt: 10_137 }), exp, 10_140)!;
    expect(t.acks[0]).toMatchObject({ service: 'cart', lagMs: 137 });
    expect(t.state).toBe('open');
    expect(laggingServices(t)).toEqual(['channels']);
    t = applyAck(t, ack({ consumer: 'channels.cart-activity', appliedAt: 10_400, channel: 'web' }), exp, 10_400)!;
    expect(t.state).toBe('complete');
    expect(t.open).toBe(false);
    expect(affectedChannels(t)).toEqual(['mobile', 'web']);
  });

  it('counts only the first success of a group as propagation lag, not its ack of a re-delivery or a failure', () => {
    let t = applyEnvelope(null, 'cart.cart-changed', env, null, exp, 10_001);
    const failed = ack({ outcome: 'failed', error: 'Error: down' });
    expect(isFirstSuccess(t, failed)).toBe(false);
    t = applyAck(t, failed, exp, 10_100)!;
    const first = ack({ appliedAt: 12_900, attempt: 2 });
    expect(isFirstSuccess(t, first)).toBe(true);
    t = applyAck(t, first, exp, 12_900)!;
    expect(isFirstSuccess(t, ack({ appliedAt: 13_500 }))).toBe(false);
    expect(isFirstSuccess(t, ack({ consumer: 'channels.cart-activity' }))).toBe(true);
  });

  it('ignores an ack already recorded, and accepts an ack that arrives before the envelope', () => {
    const a = ack({});
    const t = applyAck(null, a, exp, 10_200)!;
    expect(t.envelopeSeen).toBe(false);
    expect(applyAck(t, a, exp, 10_300)).toBeNull();
    const withEnv = applyEnvelope(t, 'cart.cart-changed', env, { key: 'c1', value: 'AA==', headers: {} }, exp, 10_300);
    expect(withEnv.acks).toHaveLength(1);
    expect(withEnv.raw?.key).toBe('c1');
  });

  it('a failed ack does not count; a later success marks the retry recovered', () => {
    let t = applyEnvelope(null, 'cart.cart-changed', env, null, { consumers: ['cart'], slaMs: 2000 }, 10_000);
    t = applyAck(t, ack({ outcome: 'dead_lettered', error: 'StoreUnavailable: down' }), exp, 10_300)!;
    expect(t.state).toBe('open');
    t = { ...t, retries: [{ at: 12_500, service: 'cart', group: 'cart.projection', attempt: 1, trigger: 'sla_sweep', outcome: 'sent' }] };
    t = applyAck(t, ack({ appliedAt: 12_600, attempt: 3 }), exp, 12_600)!;
    expect(t.state).toBe('complete');
    expect(t.retries[0]).toMatchObject({ outcome: 'recovered', recoveredAt: 12_600 });
  });

  it('the sweep waits for the SLA, retries within the budget, then escalates after the business SLA', () => {
    const t = applyEnvelope(null, 'cart.cart-changed', env, null, exp, 10_000);
    expect(decideSweep(t, 11_999, policy)).toBeNull();
    expect(decideSweep(t, 12_000, policy)).toEqual({ retry: ['cart', 'channels'], escalate: false, state: 'late' });
    const retried = {
      ...t,
      state: 'late' as const,
      retries: ['cart', 'channels'].map((s) => ({
        at: 12_000,
        service: s,
        group: `${s}.x`,
        attempt: 1,
        trigger: 'sla_sweep' as const,
        outcome: 'sent',
      })),
    };
    expect(decideSweep(retried, 12_500, policy)).toBeNull();
    expect(decideSweep(retried, 13_000, policy)?.retry).toEqual(['cart', 'channels']);
    const d = decideSweep(retried, 40_000, policy);
    expect(d).toMatchObject({ escalate: true, state: 'escalated' });
    const exhausted = {
      ...retried,
      retries: [...retried.retries, ...retried.retries],
      escalation: { escalationId: 'x', at: 40_000, status: 'opened' as const, laggingServices: [], channels: [], rootCause: 'no_ack' },
      state: 'escalated' as const,
    };
    expect(decideSweep(exhausted, 50_000, policy)).toBeNull();
  });

  it("does not re-deliver while the consumer's own retry path still holds the event", () => {
    let t = applyEnvelope(null, 'cart.cart-changed', env, null, { consumers: ['cart'], slaMs: 2000 }, 10_000);
    t = applyAck(t, ack({ outcome: 'failed', appliedAt: 11_500, error: 'E: x' }), exp, 11_500)!;
    expect(decideSweep(t, 12_000, policy)).toMatchObject({ retry: [], state: 'late' });
    expect(decideSweep(t, 11_500 + 10 * policy.retryIntervalMs, policy)?.retry).toEqual(['cart']);
    t = applyAck(t, ack({ outcome: 'dead_lettered', appliedAt: 12_100, error: 'E: x', attempt: 4 }), exp, 12_100)!;
    expect(decideSweep(t, 12_200, policy)?.retry).toEqual(['cart']);
  });

  it('escalation resolves when the last lagging service applies', () => {
    let t = applyEnvelope(null, 'cart.cart-changed', env, null, { consumers: ['cart'], slaMs: 2000 }, 10_000);
    t = {
      ...t,
      state: 'escalated',
      escalation: { escalationId: 'x', at: 40_000, status: 'opened', laggingServices: ['cart'], channels: ['mobile'], rootCause: 'no_ack' },
    };
    t = applyAck(t, ack({ appliedAt: 41_000 }), exp, 41_000)!;
    expect(t.escalation).toMatchObject({ status: 'resolved', resolvedAt: 41_000 });
  });
});

describe('percentiles and windows', () => {
  it('computes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 95)).toBe(95);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([], 99)).toBeNull();
  });
  it('slides: a sample older than the window is not counted', () => {
    const w = new LagWindows();
    const now = 10_000_000;
    w.add({ at: now - 2 * 60_000, lagMs: 900, type: 'a', consumer: 'cart', group: 'cart.x', channel: null }, now);
    w.add({ at: now - 1000, lagMs: 10, type: 'a', consumer: 'cart', group: 'cart.x', channel: 'web' }, now);
    w.add({ at: now - 1000, lagMs: 30, type: 'b', consumer: 'channels', group: 'channels.x', channel: 'web' }, now);
    expect(w.percentiles('1m', now)).toMatchObject({ count: 2, p99: 30 });
    expect(w.percentiles('5m', now, { type: 'a' })).toMatchObject({ count: 2, p50: 10, p99: 900 });
    expect(w.percentiles('5m', now, { consumer: 'channels' }).count).toBe(1);
    expect(w.byType('1h', now).map((r) => [r.type, r.count])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });
});

describe('root causes, feed and consumer lag', () => {
  it('groups issues by consumer, error class and channel', () => {
    let t = applyEnvelope(null, 'cart.cart-changed', env, null, exp, 10_000);
    t = applyAck(t, ack({ outcome: 'failed', error: 'StoreUnavailable: down' }), exp, 10_100)!;
    const groups = groupIssues([t, { ...t, _id: 'e2' }]);
    expect(groups).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ consumer: 'cart', errorClass: 'StoreUnavailable', channel: 'mobile', state: 'failing', count: 2 }),
        expect.objectContaining({ consumer: 'channels', errorClass: 'no_ack', count: 2 }),
      ]),
    );
    expect(errorClass('TypeError: x')).toBe('TypeError');
  });

  it('tells business users about limitations and recoveries, not about other changes', () => {
    const change = (state: string, blockReasons: string[], version: number): ChannelChanged =>
      ({
        envelope: { eventId: `v${version}`, aggregateVersion: version, occurredAt: 1000 * version },
        code: 'web',
        name: 'Web shop',
        state,
        blockReasons,
        expectedBackAt: null,
      }) as unknown as ChannelChanged;
    expect(feedEntryForChannelChange({ state: 'active', blockReasons: [] }, change('maintenance', [], 2))).toMatchObject({
      kind: 'limitation',
      channel: 'web',
    });
    expect(feedEntryForChannelChange({ state: 'active', blockReasons: [] }, change('active', ['outdated_branding'], 3))?.message).toContain(
      'outdated_branding',
    );
    expect(feedEntryForChannelChange({ state: 'maintenance', blockReasons: [] }, change('active', [], 4))).toMatchObject({
      kind: 'recovery',
    });
    expect(feedEntryForChannelChange({ state: 'active', blockReasons: [] }, change('active', [], 5))).toBeNull();
  });

  it('feeds a delay per affected channel when an escalation opens, a recovery when it closes, nothing otherwise', () => {
    const open = applyEnvelope(null, 'cart.cart-changed', env, null, exp, 10_000);
    const esc: EscalationRecord = {
      escalationId: 'x1',
      at: 40_000,
      status: 'opened',
      laggingServices: ['channels'],
      channels: ['kiosk', 'mobile'],
      rootCause: 'no_ack',
      resolvedAt: null,
    };
    const escalated = { ...open, state: 'escalated' as const, escalation: esc };
    const delays = feedEntriesForEscalation(open, escalated, 41_000);
    expect(delays.map((e) => [e._id, e.kind, e.channel, e.at])).toEqual([
      ['x1:opened:kiosk', 'delay', 'kiosk', 40_000],
      ['x1:opened:mobile', 'delay', 'mobile', 40_000],
    ]);
    expect(delays[0].message).toContain('channels lagging: no_ack');
    const reconciled = { ...escalated, escalation: { ...esc, status: 'reconciled' as const } };
    expect(feedEntriesForEscalation(escalated, reconciled, 50_000)).toEqual([
      expect.objectContaining({ _id: 'x1:reconciled:kiosk', kind: 'recovery', at: 50_000, message: expect.stringContaining('reconciled') }),
      expect.objectContaining({ _id: 'x1:reconciled:mobile', kind: 'recovery' }),
    ]);
    expect(feedEntriesForEscalation(escalated, escalated, 50_000)).toEqual([]);
    expect(feedEntriesForEscalation(null, open, 50_000)).toEqual([]);
  });

  it("keeps a channel change's status with its version and times as numbers", () => {
    const v = {
      envelope: { aggregateVersion: 7, occurredAt: 1234 },
      code: 'web',
      name: 'Web shop',
      kind: 'web',
      state: 'maintenance',
      previousState: undefined,
      blockReasons: ['missing_compliance_text'],
      expectedBackAt: 99_000,
    } as unknown as ChannelChanged;
    expect(channelStatusOf(v)).toEqual({
      _id: 'web',
      name: 'Web shop',
      kind: 'web',
      state: 'maintenance',
      previousState: null,
      blockReasons: ['missing_compliance_text'],
      expectedBackAt: 99_000,
      version: 7,
      updatedAt: 1234,
    });
  });

  it('computes partition lag from committed and end offsets', () => {
    expect(partitionLag('g', 't', 0, '40', '50', '0')).toMatchObject({ committed: 40, end: 50, lag: 10 });
    expect(partitionLag('g', 't', 1, '-1', '50', '20')).toMatchObject({ committed: null, lag: 30 });
  });
});

describe('tracking scope', () => {
  const envelope = (correlationId: string): EventEnvelope => ({ ...env, correlationId }) as unknown as EventEnvelope;
  const ackOf = (correlationId: string): SyncApplied => ({ envelope: { correlationId } }) as unknown as SyncApplied;

  it('tracks everything without a prefix', () => {
    expect(correlationScope(undefined)).toEqual({});
    expect(correlationScope('')).toEqual({});
  });

  it('tracks only envelopes and acks whose correlation id starts with the prefix', () => {
    const scope = correlationScope('run42');
    expect(scope.trackEnvelope!(envelope('run42-abc'), 'cart.cart-changed')).toBe(true);
    expect(scope.trackEnvelope!(envelope('other-run42'), 'cart.cart-changed')).toBe(false);
    expect(scope.trackAck!(ackOf('run42-abc'))).toBe(true);
    expect(scope.trackAck!(ackOf('run4'))).toBe(false);
    expect(scope.trackAck!({} as unknown as SyncApplied)).toBe(false);
  });
});
