/** Unit tests of the consumer's pure stages: routing a record, the headers of its retry and dead-letter copies, catch-up tracking. */
import type { Consumer, KafkaMessage } from 'kafkajs';
import { ackEvent } from '../src/events/consumer/acknowledge';
import { CatchUpTracker } from '../src/events/consumer/catch-up';
import { attemptsBefore, retryWait, sourceOf } from '../src/events/consumer/decode';
import { deadLetterHeaders, retryHeaders } from '../src/events/consumer/failure';

const record = (headers: KafkaMessage['headers']): KafkaMessage =>
  ({ key: Buffer.from('k'), value: Buffer.from('v'), offset: '41', timestamp: '0', attributes: 0, headers }) as KafkaMessage;

describe('decode stage', () => {
  it('routes a retry-topic record to its source topic, for its own group only, no earlier than asked and no later than the delay', () => {
    expect(sourceOf('cart.line.retry')).toEqual({ source: 'cart.line', isRetry: true });
    expect(sourceOf('cart.line')).toEqual({ source: 'cart.line', isRetry: false });
    const h = { 'x-consumer': 'cart.projections', 'x-not-before': '1500', 'x-attempt': '3' };
    expect(retryWait(h, 'other.group', 1000, 1000)).toBeNull();
    expect(retryWait(h, 'cart.projections', 1000, 1000)).toBe(500);
    expect(retryWait(h, 'cart.projections', 100, 1000)).toBe(100);
    expect(retryWait(h, 'cart.projections', 1000, 2000)).toBe(0);
    expect(retryWait({ 'x-consumer': 'g', 'x-not-before': 'garbage' }, 'g', 1000, 0)).toBe(0);
    expect([attemptsBefore(h, true, 5), attemptsBefore({}, true, 5), attemptsBefore(h, false, 5)]).toEqual([3, 5, 0]);
  });
});

describe('retry and dead-letter stage', () => {
  it('keeps the original headers and adds where the record came from and why it moved', () => {
    const original = record({ eventId: 'e-1', origin: 'partner' });
    const err = new TypeError('downstream refused');
    expect(retryHeaders(original, 'g', 3, 12345, err)).toEqual({
      eventId: 'e-1',
      origin: 'partner',
      'x-consumer': 'g',
      'x-attempt': '3',
      'x-not-before': '12345',
      'x-error': 'TypeError: downstream refused',
    });
    const at = new Date(0);
    expect(deadLetterHeaders(original, 'g', { topic: 't', partition: 2 }, 'handler_failed', 'boom', at)).toEqual({
      eventId: 'e-1',
      origin: 'partner',
      'x-consumer': 'g',
      'x-dlq-reason': 'handler_failed',
      'x-error': 'boom',
      'x-error-class': 'Error',
      'x-source-topic': 't',
      'x-source-partition': '2',
      'x-source-offset': '41',
      'x-failed-at': '1970-01-01T00:00:00.000Z',
    });
  });
});

describe('acknowledge stage', () => {
  it('reports the outcome keyed by the acknowledged event, with the attempt and the error', () => {
    const ack = ackEvent('cart', 'cart.projections', {
      topic: 't',
      eventId: 'e-1',
      type: 'x.changed',
      occurredAt: 10,
      correlationId: 'c-1',
      outcome: 'failed',
      attempt: 2,
      channel: 'web',
      err: new Error('nope'),
      appliedAt: 20,
    });
    expect(ack.key).toBe('e-1');
    expect(ack.value.envelope).toMatchObject({ producer: 'cart', aggregateId: 'e-1', aggregateVersion: 2, correlationId: 'c-1' });
    expect(ack.value).toMatchObject({ consumer: 'cart.projections', outcome: 'failed', appliedAt: 20, error: 'Error: nope' });
  });
});

describe('CatchUpTracker', () => {
  const events = { FETCH_START: 'fs', END_BATCH_PROCESS: 'eb', REBALANCING: 'rb', CRASH: 'cr', STOP: 'st' };
  const tracker = () => new CatchUpTracker({ events, on: () => () => undefined } as unknown as Pick<Consumer, 'on' | 'events'>);

  it('moves to the start of the previous fetch once a fetch cycle left no lag, and holds while one does', () => {
    const t = tracker();
    expect(t.caughtUpAt()).toBe(0);
    t.fetchStarted(1, 100);
    t.fetchStarted(1, 200);
    expect(t.caughtUpAt()).toBe(100);
    t.batchHandled('3'); // the batches of the fetch at 200 left a lag
    t.fetchStarted(1, 300);
    expect(t.caughtUpAt()).toBe(100);
    t.fetchStarted(1, 400);
    expect(t.caughtUpAt()).toBe(300);
    t.fetchStarted(2, 450); // a second broker: the oldest answer counts
    expect(t.caughtUpAt()).toBe(0);
    t.reset();
    expect(t.caughtUpAt()).toBe(0);
  });
});
