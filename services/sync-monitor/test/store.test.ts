/** The repositories against the real FerretDB: the filters, orderings and write-once rules they promise. */
import { ServiceRuntime } from '@omnimall/service-kit';
import { testConfig } from '@omnimall/service-kit/testing';
import { applyEnvelope, type Tracking } from '../src/domain/propagation';
import type { ChannelStatus } from '../src/domain/status-feed';
import { createStore, type Store } from '../src/store';

let runtime: ServiceRuntime;
let store: Store;

beforeAll(async () => {
  runtime = await ServiceRuntime.start({ config: testConfig('sync-monitor'), produces: [] });
  store = await createStore(runtime);
});

afterAll(async () => {
  await runtime?.stop();
});

const tracking = (id: string, occurredAt: number, slaMs: number, correlationId = 'c'): Tracking =>
  applyEnvelope(
    null,
    'cart.cart-changed',
    { eventId: id, type: 'cart.changed', occurredAt, producer: 'cart', aggregateId: 'a', correlationId, sourceChannel: null },
    { key: 'a', value: 'AAE=', headers: { eventId: id } },
    { consumers: ['channels'], slaMs },
    occurredAt,
  );

const write = (t: Tracking): Promise<Tracking | null> =>
  store.tracking.transact(t._id, () => ({ next: t, events: [] }), { assumeNew: true });

describe('tracking repository', () => {
  it('finds overdue open events by deadline, earliest first, and lists without the original record', async () => {
    await write(tracking('t1', 1000, 500, 'corr-a')); // due at 1500
    await write(tracking('t2', 900, 300, 'corr-b')); // due at 1200
    await write(tracking('t3', 5000, 500, 'corr-a')); // due at 5500
    await write({ ...tracking('t4', 100, 100), open: false, state: 'complete' });
    expect(await store.tracking.overdue(2000, 10)).toEqual(['t2', 't1']);
    expect(await store.tracking.overdue(2000, 1)).toEqual(['t2']);
    expect((await store.tracking.openDeadlines()).map((t) => [t._id, t.slaDeadline]).sort()).toEqual([
      ['t1', 1500],
      ['t2', 1200],
      ['t3', 5500],
    ]);
    const byCorrelation = await store.tracking.recent(10, { correlationId: 'corr-a' });
    expect(byCorrelation.map((t) => t._id)).toEqual(['t3', 't1']);
    expect(byCorrelation[0]).not.toHaveProperty('raw');
    expect(byCorrelation[0]).not.toHaveProperty('writeRev');
    expect((await store.tracking.open(10)).map((t) => t._id)).toEqual(['t3', 't1', 't2']);
    expect((await store.tracking.get('t1'))?.raw).toEqual({ key: 'a', value: 'AAE=', headers: { eventId: 't1' } });
    expect(await store.tracking.get('nope')).toBeNull();
  });

  it('counts opened escalations, and a decision that returns null writes nothing', async () => {
    const before = await store.tracking.countOpenEscalations();
    const t = tracking('t5', 1000, 500);
    await write({
      ...t,
      state: 'escalated',
      escalation: { escalationId: 'x', at: 1, status: 'opened', laggingServices: [], channels: [], rootCause: 'no_ack' },
    });
    expect(await store.tracking.countOpenEscalations()).toBe(before + 1);
    const same = await store.tracking.transact('t5', () => null);
    expect(same?.state).toBe('escalated');
  });
});

describe('channel status repository', () => {
  const status = (version: number, state: string): ChannelStatus => ({
    _id: 'kiosk',
    name: 'Kiosk',
    kind: 'kiosk',
    state,
    previousState: null,
    blockReasons: [],
    expectedBackAt: null,
    version,
    updatedAt: version * 1000,
  });

  it('keeps the newest version: an older or equal one is not written', async () => {
    expect(await store.channels.replaceIfNewer(status(2, 'active'))).toEqual({ written: true, before: null });
    const older = await store.channels.replaceIfNewer(status(1, 'draft'));
    expect(older).toMatchObject({ written: false, before: { version: 2, state: 'active' } });
    expect((await store.channels.replaceIfNewer(status(2, 'maintenance'))).written).toBe(false);
    expect(await store.channels.replaceIfNewer(status(3, 'maintenance'))).toMatchObject({ written: true, before: { state: 'active' } });
    expect(await store.channels.get('kiosk')).toMatchObject({ version: 3, state: 'maintenance' });
    expect((await store.channels.list()).map((c) => c._id)).toEqual(['kiosk']);
  });
});

describe('status feed repository', () => {
  it('writes each entry once and lists a channel newest first', async () => {
    const entry = (id: string, at: number) =>
      ({ _id: id, channel: 'web', at, kind: 'delay', title: 't', message: 'm', eventId: null, escalationId: null }) as const;
    await store.feed.addOnce([entry('f1', 1), entry('f2', 2)]);
    await store.feed.addOnce([{ ...entry('f1', 1), title: 'again' }, entry('f3', 3)]);
    const feed = await store.feed.latest('web', 10);
    expect(feed.map((e) => [e._id, e.title])).toEqual([
      ['f3', 't'],
      ['f2', 't'],
      ['f1', 't'],
    ]);
    expect(feed[0]).toMatchObject({ eventId: null, escalationId: null });
    expect(await store.feed.latest('web', 1)).toHaveLength(1);
    expect(await store.feed.latest('other', 10)).toEqual([]);
  });
});

describe('known groups repository', () => {
  it('records a group once per topic', async () => {
    const g = { topic: 'cart.cart-changed', group: 'channels.projections', service: 'channels', firstSeenAt: 1 };
    await store.groups.add(g);
    await store.groups.add({ ...g, firstSeenAt: 2 });
    await store.groups.add({ ...g, topic: 'identity.customer-status' });
    expect((await store.groups.all()).sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      g,
      { ...g, topic: 'identity.customer-status' },
    ]);
  });
});
