import { canonicalHash, chainRecord } from '@omnimall/evidence';
import { baseTopic, evidenceOf, kindOf, skippedBetween, subjectsOf, toJsonData, type RawRecord } from '../src/domain/records';

const raw = (over: Partial<RawRecord> = {}): RawRecord => ({
  topic: 'orders.order-status',
  partition: 2,
  offset: '41',
  timestamp: 1_700_000_000_500,
  key: 'ord_1',
  headers: {},
  value: Buffer.from('x'),
  ...over,
});

const envelope = {
  eventId: '00000000-0000-4000-8000-000000000001',
  type: 'order.placed',
  occurredAt: 1_700_000_000_000,
  producer: 'orders',
  sourceChannel: 'web',
  correlationId: 'c-1',
  aggregateId: 'ord_1',
  aggregateVersion: 3,
};

describe('evidence facts of a record', () => {
  it('takes source, event, subjects by reference and channel from the envelope and payload', () => {
    const e = evidenceOf(raw(), { value: { envelope, customerId: 'cus_1', orderId: 'ord_1', totalMinor: 1200 } }, 1_700_000_001_000);
    expect(e).toMatchObject({
      source: 'orders',
      topic: 'orders.order-status',
      partition: 2,
      offset: '41',
      eventId: envelope.eventId,
      type: 'order.placed',
      channel: 'web',
      occurredAt: envelope.occurredAt,
      recordedAt: 1_700_000_001_000,
      kind: 'business',
    });
    expect(e.subjects).toEqual([
      { kind: 'order', ref: 'ord_1' },
      { kind: 'customer', ref: 'cus_1' },
    ]);
    expect(e.payload).toEqual({ customerId: 'cus_1', orderId: 'ord_1', totalMinor: 1200 });
  });

  it('keeps an undecodable record as its bytes, named by its headers or its position', () => {
    const e = evidenceOf(
      raw({ topic: 'orders.order-status.dlq', headers: { 'x-dlq-reason': 'schema_mismatch', eventId: 'e-9' } }),
      { value: null, error: 'bad magic byte' },
      1,
    );
    expect(e).toMatchObject({ kind: 'dead_letter', type: 'undecodable', eventId: 'e-9', source: 'unknown', occurredAt: 1_700_000_000_500 });
    expect(e.payload).toEqual({ headers: { 'x-dlq-reason': 'schema_mismatch' }, raw: { base64: 'eA==' }, decodeError: 'bad magic byte' });
    const anonymous = evidenceOf(raw({ topic: 'cart.cart-changed' }), { value: null, error: 'x' }, 1);
    expect(anonymous.eventId).toBe('cart.cart-changed:2:41');
    expect(anonymous.kind).toBe('undecodable');
  });

  it('classifies exceptions, compensations, commands, acks and siblings', () => {
    expect(kindOf('platform.exception', { kind: 'refusal' }, 'exception.refusal')).toBe('policy');
    expect(kindOf('platform.exception', { kind: 'collision' }, 'exception.collision')).toBe('collision');
    expect(kindOf('orders.order-status', { reason: 'payment_failed' }, 'order.cancelled')).toBe('compensation');
    expect(kindOf('inventory.reservation-command', {}, 'reservation.reserve')).toBe('command');
    expect(kindOf('sync.applied', {}, 'sync.applied')).toBe('ack');
    expect(kindOf('cart.cart-changed.retry', {}, 'cart.changed')).toBe('retry');
    expect(baseTopic('cart.cart-changed.dlq')).toBe('cart.cart-changed');
  });

  it('names the subject of an exception by its own reference, once', () => {
    expect(subjectsOf('platform.exception', 'cus_1', { subjectKind: 'customer', subjectId: 'cus_1', customerId: 'cus_1' })).toEqual([
      { kind: 'customer', ref: 'cus_1' },
    ]);
  });

  it('turns Avro values into JSON data whose canonical hash is stable', () => {
    const value = { b: Buffer.from('hi'), when: new Date(5), big: 2n ** 70n, list: [1, undefined], nested: { z: 1, a: undefined } };
    const json = toJsonData(value);
    expect(json).toEqual({ b: 'aGk=', when: 5, big: '1180591620717411303424', list: [1, null], nested: { z: 1 } });
    expect(canonicalHash(json).equals(canonicalHash(JSON.parse(JSON.stringify(json))))).toBe(true);
  });

  it('says why offsets were skipped, and nothing when they follow on', () => {
    expect(skippedBetween(undefined, '5')).toBeUndefined();
    expect(skippedBetween('4', '5')).toBeUndefined();
    expect(skippedBetween('4', '8')).toMatch(/offsets 5\.\.7/);
  });

  it('chains the facts with the evidence package', () => {
    const { kind: _k, ...input } = evidenceOf(raw(), { value: { envelope, customerId: 'cus_1' } }, 2);
    const first = chainRecord(input, null);
    expect(first.index).toBe(0);
    expect(chainRecord({ ...input, offset: '42' }, first).prevHash).toBe(first.hash);
  });
});
