/**
 * The monitor's customer data on the real stack: an erasure (identity.data-request) leaves no email
 * or name of the customer in memory nor in any document of any monitor collection (the exceptions,
 * and the snapshots once decompressed), leaves other customers' data, is acknowledged, and is
 * effect-once; the retention pass drops records of exceptions past their hours and closed
 * exceptions past their days, and nothing younger. The monitor is isolated as in monitor.test.ts.
 * The events stay open here (a consumer that never answers, or fails), so their records are kept.
 */
import { gunzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import type { TopicName } from '@omnimall/contracts';
import { newEvent, ServiceRuntime, type OutgoingEvent } from '@omnimall/service-kit';
import { ackEvent } from '@omnimall/service-kit/events/consumer/acknowledge';
import { testConfig, testKafka, waitFor } from '@omnimall/service-kit/testing';
import { partnerTopic } from '@omnimall/contracts';
import type { Tracking } from '../src/domain/propagation';
import { adminToken, GHOST_TOPIC, startHarness, TOPIC, type Harness } from './support/harness';

const REQUESTS = 'identity.data-request';
const ORDERS = 'orders.order-status';
const MAPPED = 'channels.partner-order-status';
const PARTNER = 'acme'; // a local partner: its topic partner.acme.order-status exists on the stack's Kafka
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let h: Harness;
let sim: ServiceRuntime;

/** Expected consumers per topic: TOPIC and GHOST_TOPIC as the harness has them; the others wait for a service that never answers. */
const names = { sim: '', ghost: '' };
const expectations = (topic: string) =>
  topic === TOPIC
    ? { consumers: [names.sim], slaMs: 700 }
    : topic === GHOST_TOPIC
      ? { consumers: [names.ghost], slaMs: 700 }
      : topic === REQUESTS
        ? { consumers: ['sync-monitor'], slaMs: 2000 }
        : { consumers: ['privacyghost'], slaMs: 600_000 };

beforeAll(async () => {
  h = await startHarness({
    topics: [TOPIC, GHOST_TOPIC, 'channels.channel-changed', REQUESTS, ORDERS, MAPPED, 'partner.order-status'],
    expectations,
  });
  Object.assign(names, { sim: h.sim, ghost: h.ghost });
  sim = await ServiceRuntime.start({
    config: testConfig('privacy-sim'),
    produces: [TOPIC, REQUESTS, ORDERS, MAPPED, 'partner.order-status', 'sync.applied'],
  });
});

afterAll(async () => {
  await sim?.stop();
  await h?.stop();
});

/** Publishes an event of this run (the monitor tracks it) as identity would. */
async function publish<T extends TopicName>(topic: T, aggregateId: string, value: Record<string, unknown>): Promise<OutgoingEvent<T>> {
  const e = newEvent(
    topic,
    {
      type: topic,
      producer: 'identity',
      aggregateId,
      aggregateVersion: 1,
      correlationId: `${h.run}-${randomUUID()}`,
      sourceChannel: 'web',
    },
    value as never,
  );
  await sim.publisher.publish([e]);
  return e;
}

/** The partner writes an order status for its own customer id on its own topic (as the partner's principal). */
async function partnerRecord(partnerCustomerId: string): Promise<string> {
  const partnerOrderId = `po-${randomUUID().slice(0, 8)}`;
  const e = newEvent(
    'partner.order-status',
    {
      type: 'partner.order_status',
      producer: 'partner-system',
      aggregateId: partnerOrderId,
      aggregateVersion: 1,
      correlationId: `${h.run}-${randomUUID()}`,
      sourceChannel: PARTNER,
    },
    { partnerChannel: PARTNER, partnerOrderId, partnerCustomerId, status: 'paid', currency: 'EUR', totalMinor: 4999, statusAt: Date.now() },
  );
  const producer = testKafka(`partner-${PARTNER}`).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = await sim.schemas.encode('partner.order-status', e.value);
  await producer.send({
    topic: partnerTopic('partner.order-status', PARTNER),
    acks: -1,
    messages: [{ key: e.key, value, headers: { eventId: e.value.envelope.eventId } }],
  });
  await producer.disconnect();
  return e.value.envelope.eventId;
}

const tracked = (id: string, pred: (t: Tracking) => boolean, what: string): Promise<Tracking> =>
  waitFor(async () => {
    const t = await h.monitor.events.find(id);
    return t && pred(t) ? t : null;
  }, what);

/** Every string in a document, and what it reads as when it is base64 (records, outbox payloads). */
function texts(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v, Buffer.from(v, 'base64').toString('latin1'));
  else if (v && typeof v === 'object') {
    const b = v as { _bsontype?: string; buffer?: Uint8Array };
    if (b._bsontype === 'Binary' && b.buffer) out.push(Buffer.from(b.buffer).toString('latin1'));
    else for (const x of Object.values(v)) texts(x, out);
  }
  return out;
}

/** A snapshot chunk's text, decompressed (each snapshot here fits one chunk). */
function snapshotText(doc: { data?: { buffer?: Uint8Array } }): string {
  return doc.data?.buffer ? gunzipSync(Buffer.from(doc.data.buffer)).toString('utf8') : '';
}

/** `<collection>/<_id>` of every document of every monitor collection that holds the needle (snapshots decompressed). */
async function holders(needle: string): Promise<string[]> {
  const db = h.monitor.runtime.db.db!;
  const found: string[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    for (const doc of await db.collection(name).find().toArray()) {
      const strings = name === 'snapshot_chunks' ? texts(JSON.parse(snapshotText(doc as { data?: { buffer?: Uint8Array } }))) : texts(doc);
      if (strings.some((s) => s.includes(needle))) found.push(`${name}/${String(doc._id)}`);
    }
  }
  return found;
}

/** The collections holding the needle, the snapshots as one. */
const holdingCollections = async (needle: string): Promise<string[]> =>
  [...new Set((await holders(needle)).map((x) => (x.startsWith('snapshot_chunks/') ? 'snapshot_chunks' : x)))].sort();

describe('erasure of a customer', () => {
  const ada = {
    id: `cus_${randomUUID().slice(0, 8)}`,
    email: `ada.${randomUUID().slice(0, 6)}@example.com`,
    name: `Ada Lovelace ${randomUUID().slice(0, 6)}`,
    partnerId: `acme-customer-${randomUUID().slice(0, 6)}`,
  };
  const bob = { id: `cus_${randomUUID().slice(0, 8)}`, email: `bob.${randomUUID().slice(0, 6)}@example.com` };
  let linkedAda: string;
  let orderAda: string;
  let partnerAda: string;
  let linkedBob: string;
  let request: OutgoingEvent<typeof REQUESTS>;

  it('before: the customer’s email, name and partner id are in the monitor’s memory and documents (records, ack error, note)', async () => {
    // The sim consumer fails the linked identities: they stay open, with their records, as exceptions.
    const linked = async (who: { id: string; email: string }) => {
      const e = newEvent(
        TOPIC,
        {
          type: TOPIC,
          producer: 'identity',
          aggregateId: who.id,
          aggregateVersion: 1,
          correlationId: `${h.run}-${randomUUID()}`,
          sourceChannel: 'web',
        },
        { customerId: who.id, identityType: 'external_login', externalId: who.email, channel: 'web' },
      );
      h.failing.add(e.value.envelope.eventId);
      await sim.publisher.publish([e]);
      return e;
    };
    linkedAda = (await linked(ada)).value.envelope.eventId;
    linkedBob = (await linked(bob)).value.envelope.eventId;
    const orderId = `ord_${randomUUID().slice(0, 8)}`;
    orderAda = (await publish(ORDERS, orderId, { orderId, customerId: ada.id, channel: 'web', status: 'shipped', occurredAt: Date.now() }))
      .value.envelope.eventId;
    // A partner's record names Ada only by the partner's id; channels' mapped status names both.
    partnerAda = await partnerRecord(ada.partnerId);
    const mapped = await publish(MAPPED, `ord_${randomUUID().slice(0, 8)}`, {
      orderId: `ord_${randomUUID().slice(0, 8)}`,
      customerId: ada.id,
      channel: 'web',
      partnerOrderId: 'po-x',
      status: 'paid',
      currency: 'EUR',
      totalMinor: 4999,
      statusAt: Date.now(),
      sourceEventId: partnerAda,
    });
    await tracked(partnerAda, (x) => x.raw !== null, 'the partner’s record tracked with its record');
    await tracked(mapped.value.envelope.eventId, (x) => x.relatedEvents?.includes(partnerAda) === true, 'the mapped status tracked');
    const t = await tracked(linkedAda, (x) => x.raw !== null, 'Ada’s linked identity tracked with its record');
    await tracked(orderAda, (x) => x.raw !== null, 'Ada’s order tracked with its record');
    await tracked(linkedBob, (x) => x.raw !== null, 'Bob’s linked identity tracked with its record');

    // A consumer failing on Ada's event quotes her email in its error; an admin's note names her.
    const err = Object.assign(new Error(`no account for ${ada.email}`), { name: 'LookupFailed' });
    const facts = {
      topic: TOPIC,
      eventId: linkedAda,
      type: TOPIC,
      occurredAt: t.occurredAt,
      correlationId: t.correlationId!,
      outcome: 'failed' as const,
      attempt: 1,
      channel: 'web',
      err,
    };
    await sim.publisher.publish([ackEvent(h.sim, `${h.sim}.lookup`, facts)]);
    await tracked(linkedAda, (x) => x.acks.some((a) => a.error?.includes(ada.email) === true), 'the failed ack recorded');
    const note = { note: `${ada.name} called about ${ada.email}` };
    const r = await supertest(h.monitor.app)
      .post(`/propagation/events/${linkedAda}/support-case`)
      .set('authorization', await adminToken())
      .send(note);
    expect(r.status).toBe(201);

    await h.monitor.snapshots.take();
    expect(await holdingCollections(ada.email)).toEqual([`exceptions/${linkedAda}`, 'snapshot_chunks']);
    expect(await holdingCollections(ada.name)).toEqual([`exceptions/${linkedAda}`, 'snapshot_chunks']);
    expect(await holdingCollections(bob.email)).toEqual([`exceptions/${linkedBob}`, 'snapshot_chunks']);
    // Open and in time: in memory and the snapshot only.
    expect(await holdingCollections(ada.partnerId)).toEqual(['snapshot_chunks']);
    expect((await h.monitor.events.find(orderAda))?.customers).toEqual([ada.id]);
  });

  it('after the erasure request: no email, name or partner id of the customer in any document; others keep theirs', async () => {
    request = await publish(REQUESTS, ada.id, {
      requestId: randomUUID(),
      customerId: ada.id,
      kind: 'erasure',
      requestedBy: 'stf_dpo',
      completedAt: Date.now(),
    });
    const record = await waitFor(() => h.monitor.store.erasures.get(request.value.requestId), 'the erasure recorded');
    expect(record).toMatchObject({ customerId: ada.id, trackedEventsErased: expect.any(Number) });
    expect(record.trackedEventsErased).toBeGreaterThanOrEqual(3);

    expect(await holders(ada.email)).toEqual([]);
    expect(await holders(ada.name)).toEqual([]);
    expect(await holders(ada.partnerId)).toEqual([]);
    expect(await holdingCollections(bob.email)).toEqual([`exceptions/${linkedBob}`, 'snapshot_chunks']);
    expect((await h.monitor.events.find(partnerAda))?.raw).toBeNull();
    const linked = await h.monitor.events.find(linkedAda);
    expect(linked).toMatchObject({ raw: null, erasedAt: expect.any(Number) });
    expect(linked!.acks.find((a) => a.group === `${h.sim}.lookup`)?.error).toBe('LookupFailed: [erased]');
    expect(linked!.actions.map((a) => [a.kind, a.note])).toEqual([['support_case', null]]);
    expect((await h.monitor.events.find(orderAda))?.raw).toBeNull();
    expect((await h.monitor.events.find(linkedBob))?.raw).not.toBeNull();
  });

  it('is acknowledged as applied, and a redelivery of the request is a duplicate', async () => {
    const id = request.value.envelope.eventId;
    const monitorAcks = (t: Tracking) => t.acks.filter((a) => a.service === 'sync-monitor').map((a) => a.outcome);
    await tracked(id, (t) => t.state === 'complete' && monitorAcks(t).includes('applied'), 'the request applied by the monitor');
    await sim.publisher.publish([request]);
    const t = await tracked(id, (x) => monitorAcks(x).length === 2, 'the redelivery acknowledged');
    expect(monitorAcks(t).sort()).toEqual(['applied', 'skipped_duplicate']);
  });
});

describe('retention', () => {
  it('drops records of exceptions past SYNC_RAW_RETENTION_HOURS and closed exceptions past SYNC_EVENT_RETENTION_DAYS, nothing younger', async () => {
    const open = await h.publishGhost('web', `cus_${randomUUID().slice(0, 8)}`); // expects a service that never answers: late, escalated
    const done = await h.publish({ channel: 'web', fail: true }); // failed first (an exception), then applied
    await tracked(open, (t) => t.raw !== null && t.state !== 'open', 'the late event tracked as an exception');
    await tracked(done, (t) => t.acks.some((a) => a.outcome === 'failed'), 'the failure recorded');
    h.failing.delete(done);
    await tracked(done, (t) => t.state === 'complete' && t.raw !== null, 'the exception complete');
    const channel = `c${h.run}`; // a channel of this test's own: escalation entries go to 'web'
    await h.monitor.store.feed.addOnce([
      { _id: `f-${h.run}`, channel, at: Date.now(), kind: 'delay', title: 't', message: 'm', eventId: null, escalationId: null },
    ]);

    // Now: everything is younger than both retentions.
    expect(await h.monitor.retention.prune(Date.now())).toEqual({ rawDropped: 0, eventsRemoved: 0, feedEntriesRemoved: 0 });
    expect((await h.monitor.events.find(done))?.raw).not.toBeNull();

    // A day later (default 24 h): records dropped, events kept.
    const later = await h.monitor.retention.prune(Date.now() + DAY + HOUR);
    expect(later.rawDropped).toBeGreaterThanOrEqual(2);
    expect(later.eventsRemoved).toBe(0);
    expect(await h.monitor.events.find(done)).toMatchObject({ raw: null, state: 'complete' });
    expect((await h.monitor.events.find(open))?.raw).toBeNull();

    // Past the event retention (default 14 days): closed events and old feed entries removed, the open one kept.
    const much = await h.monitor.retention.prune(Date.now() + 15 * DAY);
    expect(much.eventsRemoved).toBeGreaterThanOrEqual(1);
    expect(much.feedEntriesRemoved).toBeGreaterThanOrEqual(1);
    expect(await h.monitor.store.tracking.get(done)).toBeNull();
    expect(await h.monitor.store.tracking.get(open)).toMatchObject({ open: true });
    expect(await h.monitor.store.feed.latest(channel, 10)).toEqual([]);
  });
});
