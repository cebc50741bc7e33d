/**
 * Effect-once is every group's, with no opt-out (src/events/consumer/dedupe.ts): a handler that leaves
 * no mark of its own (a live push, an in-memory cache, a buffered tracking write) still sees a
 * redelivered event as a duplicate, and a shared group cannot rely on memory alone. Against the real
 * Kafka and FerretDB.
 */
import type { SyncApplied } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '../src';
import { dedupeModeOf, EventDedupe } from '../src/events/consumer/dedupe';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';

const probe = (aggregateId: string) =>
  newEvent(
    'platform.probe',
    { type: 'probe.changed', producer: 'kit-test', aggregateId, aggregateVersion: 1 },
    { sequence: 1, payload: '' },
  );

describe('every consumer group is effect-once', () => {
  let rt: ServiceRuntime;
  let recorder: TopicRecorder;
  const outcomes = async (eventId: string, group: string): Promise<string[]> => {
    const mine = recorder.where((r) => r.topic === 'sync.applied' && r.message.key?.toString() === eventId);
    const acks = await Promise.all(mine.map((r) => rt.schemas.decode<SyncApplied>(r.message.value!)));
    return acks
      .filter((a) => a.consumer === group)
      .map((a) => a.outcome)
      .sort();
  };

  beforeAll(async () => {
    rt = await ServiceRuntime.start({ config: testConfig('kit-effect-once'), produces: ['platform.probe'] });
    recorder = await new TopicRecorder(testKafka(), ['sync.applied']).start();
  });
  afterAll(async () => {
    await recorder.stop();
    await rt.stop();
  });

  it.each([
    ['a shared in-document group whose handler writes no mark', { dedupe: 'in-document' as const }],
    ['a per-instance group (memory)', { ephemeral: true }],
  ])('%s: a redelivered event is skipped_duplicate and not handled again', async (_, mode) => {
    const id = uniqueName('once');
    const group = uniqueName('kit.once');
    let handled = 0;
    const consumer = await rt.consume({
      group,
      ...mode,
      handlers: {
        'platform.probe': async (v, ctx) => {
          if (v.envelope.aggregateId !== id) return ctx.skip();
          handled++; // an effect with no database mark: a push to live sessions, a cache update
        },
      },
    });
    try {
      const e = probe(id);
      await rt.publisher.publish([e]);
      await rt.publisher.publish([e]); // what an outbox re-sends after a crash: the same event at a new offset
      const got = await waitFor(async () => {
        const o = await outcomes(e.value.envelope.eventId, group);
        return o.length === 2 && o;
      }, 'two acks');
      expect(got).toEqual(['applied', 'skipped_duplicate']);
      expect(handled).toBe(1);
    } finally {
      await consumer.stop();
    }
  });

  it('refuses memory-only dedupe for a shared group, and gives per-instance groups memory and shared ones the inbox by default', () => {
    expect(() => dedupeModeOf({ group: 'svc.shared', dedupe: 'memory' })).toThrow(/only for per-instance groups/);
    expect(dedupeModeOf({ group: 'svc.push.i-1', ephemeral: true })).toBe('memory');
    expect(dedupeModeOf({ group: 'svc.shared' })).toBe('inbox');
    expect(dedupeModeOf({ group: 'svc.shared', dedupe: 'in-document' })).toBe('in-document');
  });

  it('keeps a bounded recent set: the least recently seen ids are forgotten first', async () => {
    const dedupe = new EventDedupe(rt.db, uniqueName('kit.bounded'), 'memory', 2);
    await dedupe.mark('e-1');
    await dedupe.mark('e-2');
    expect(await dedupe.seen('e-1')).toBe(true);
    await dedupe.mark('e-3'); // e-2 is now the least recently used
    expect([await dedupe.seen('e-1'), await dedupe.seen('e-2'), await dedupe.seen('e-3'), await dedupe.seen('e-4')]).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });
});
