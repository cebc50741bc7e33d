/**
 * identity.data-request erasures on the real stack (finding 11, channels' part): each partner channel
 * that mapped the customer gets a signed `customer.erased` delivery naming its own customer id (every
 * active endpoint, subscribed or not); stored delivery bodies and notifications naming the customer
 * are pseudonymised; a pending password reset of the customer ends; the mappings and activity go;
 * the event is acknowledged, and a replay sends nothing twice.
 */
import supertest from 'supertest';
import type { TopicValues } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { pseudonymFor } from '../src/domain/erasure';
import { adminToken, startTestChannels, type ChannelsService } from './support/harness';
import { cartChanged, channelBody, orderStatus, passwordReset } from './support/fixtures';
import { Receiver, Responder } from './support/receiver';

let svc: ChannelsService;
let sim: ServiceRuntime;
let recorder: TopicRecorder;
let http: ReturnType<typeof supertest>;
let admin: string;
const closers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  [svc, sim, recorder] = await Promise.all([
    startTestChannels(),
    ServiceRuntime.start({
      config: testConfig('identity-sim'),
      produces: ['identity.data-request', 'identity.password-reset', 'orders.order-status', 'cart.cart-changed'],
    }),
    new TopicRecorder(testKafka(), ['sync.applied']).start(),
  ]);
  http = supertest(svc.app);
  admin = await adminToken();
});
afterAll(async () => {
  await Promise.all([svc?.stop(), sim?.stop(), recorder?.stop(), ...closers.map((c) => c.close())]);
});

const code = (p: string) => uniqueName(p).replace(/_/g, '-');

async function channelWith(url: string | null, events: string[]): Promise<{ code: string; endpointId: string | null; secret: string }> {
  const c = code('era');
  expect((await http.post('/channels').set('authorization', admin).send(channelBody(c))).status).toBe(201);
  if (!url) return { code: c, endpointId: null, secret: '' };
  const hook = await http.post(`/channels/${c}/webhooks`).set('authorization', admin).send({ url, events });
  expect(hook.status).toBe(201);
  return { code: c, endpointId: hook.body.id, secret: hook.body.secret };
}

async function mapCustomer(channel: string, partnerCustomerId: string, customerId: string): Promise<void> {
  const r = await http.put(`/channels/${channel}/partner-customers/${partnerCustomerId}`).set('authorization', admin).send({ customerId });
  expect(r.status).toBe(204);
}

function dataRequest(customerId: string, kind: 'erasure' | 'export') {
  const value: Omit<TopicValues['identity.data-request'], 'envelope'> = {
    requestId: uniqueName('dsr'),
    customerId,
    kind,
    requestedBy: 'stf_compliance',
    completedAt: Date.now(),
  };
  return newEvent(
    'identity.data-request',
    { type: `customer.data_${kind}`, producer: 'identity', aggregateId: customerId, aggregateVersion: 3 },
    value,
  );
}

/** This service's data-request consumer's acks of an event (sync.applied). */
async function acks(eventId: string): Promise<string[]> {
  return waitFor(async () => {
    const recs = recorder.where((r) => r.topic === 'sync.applied' && String(r.message.key) === eventId);
    const decoded = await Promise.all(recs.map((r) => svc.runtime.schemas.decode<TopicValues['sync.applied']>(r.message.value!)));
    const ours = decoded.filter((a) => a.consumer === svc.consumers['data-requests'].name).map((a) => a.outcome);
    return ours.length ? ours : null;
  }, `the ack of ${eventId}`);
}

const erasedNotices = (r: Receiver) => r.received.filter((x) => x.event === 'customer.erased');

it('notifies each partner that mapped the customer, pseudonymises deliveries and notifications, ends a pending reset, forgets the mappings', async () => {
  const receiver = await new Receiver().listen();
  const down = await new Responder({ status: 503 }).listen();
  closers.push(receiver, down);
  // a partner channel whose only endpoint subscribed to order statuses: the notice reaches it anyway
  const partner = await channelWith(receiver.url, ['order.status']);
  receiver.secret = partner.secret;
  const quiet = await channelWith(null, []); // mapped the customer, but no endpoint to notify
  const resets = await channelWith(down.url(), ['notification']); // its endpoint is down: the reset stays pending

  const [customer, other] = [uniqueName('cus'), uniqueName('cus')];
  const [partnerId, otherPartnerId, quietId] = [uniqueName('p-cust'), uniqueName('p-cust'), uniqueName('q-cust')];
  await mapCustomer(partner.code, partnerId, customer);
  await mapCustomer(partner.code, otherPartnerId, other);
  await mapCustomer(quiet.code, quietId, customer);

  // copies naming the customer: an order status delivered to the partner, a pending password reset with its notification
  const order = orderStatus(uniqueName('ord'), customer, partner.code, 'paid', 1);
  const reset = passwordReset(customer, resets.code);
  await sim.publisher.publish([order, reset, cartChanged(customer, partner.code, 1)]);
  await waitFor(() => receiver.received.some((r) => r.body.data.customerId === customer) || null, 'the order status delivered');
  const pendingReset = await waitFor(async () => {
    const d = await svc.models.deliveries.findOne({ endpointId: resets.endpointId }).lean();
    return d && d.attempts >= 1 ? d : null;
  }, 'a failed attempt of the reset');
  await waitFor(async () => (await svc.models.channelCustomers.countDocuments({ customerId: customer })) > 0 || null, 'the activity');

  const erasure = dataRequest(customer, 'erasure');
  await sim.publisher.publish([erasure]);
  expect(await acks(erasure.value.envelope.eventId)).toContain('applied');
  const pseudonym = pseudonymFor(erasure.value.requestId);

  // the partner's notice: signed, naming the partner's own id (and nothing of the global one)
  const [notice] = await waitFor(() => (erasedNotices(receiver).length ? erasedNotices(receiver) : null), 'the erasure notice');
  expect(notice.signatureValid).toBe(true);
  expect(notice.body).toMatchObject({
    type: 'customer.erased',
    channel: partner.code,
    data: { requestId: erasure.value.requestId, partnerCustomerId: partnerId, erasedAt: new Date(erasure.value.completedAt).toISOString() },
  });
  expect(JSON.stringify(notice.body)).not.toContain(customer);
  expect(JSON.stringify(notice.body)).not.toContain(otherPartnerId);
  const noticeDoc = await waitFor(async () => {
    const d = await svc.models.deliveries.findById(notice.deliveryId).lean();
    return d?.status === 'delivered' ? d : null;
  }, 'the notice recorded as delivered');
  expect(JSON.stringify(noticeDoc)).not.toContain(partnerId); // the partner's id was sealed, and went with the delivery

  // stored copies: no delivery or notification names the customer any more
  expect(await svc.models.deliveries.countDocuments({ subjects: customer })).toBe(0);
  const orderDoc = await svc.models.deliveries.findOne({ sourceEventId: order.value.envelope.eventId }).lean();
  expect(orderDoc!.body).not.toContain(customer);
  expect(JSON.parse(orderDoc!.body).data.customerId).toBe(pseudonym);
  expect(orderDoc!.subjects).toEqual([pseudonym]);
  const resetNotification = await svc.models.notifications.findOne({ channel: resets.code }).lean();
  expect(resetNotification!.recipientIds).toEqual([pseudonym]);
  const allDocs = JSON.stringify([
    await svc.models.deliveries.find({ channel: { $in: [partner.code, resets.code] } }).lean(),
    await svc.models.notifications.find({ channel: { $in: [partner.code, resets.code] } }).lean(),
  ]);
  expect(allDocs).not.toContain(customer);

  // the pending reset ended, its sealed token gone
  const ended = await svc.models.deliveries.findById(pendingReset._id).lean();
  expect([ended!.status, ended!.lastError, ended!.sealed ?? null]).toEqual(['failed', 'customer_erased', null]);

  // mappings and activity of the customer are gone; the other customer's mapping stays
  expect(await svc.models.partnerIds.countDocuments({ globalId: customer })).toBe(0);
  expect(await svc.models.partnerIds.countDocuments({ globalId: other })).toBe(1);
  expect(await svc.models.channelCustomers.countDocuments({ customerId: customer })).toBe(0);

  // a replay sends nothing twice; an export changes nothing (both acknowledged as skipped)
  const exported = dataRequest(customer, 'export');
  await sim.publisher.publish([erasure, exported]);
  expect(await acks(exported.value.envelope.eventId)).toEqual(['skipped_duplicate']);
  expect(await acks(erasure.value.envelope.eventId)).toContain('skipped_duplicate');
  expect(erasedNotices(receiver)).toHaveLength(1);
});

it('a pending notice is sealed at rest: the partner customer id is not stored in clear', async () => {
  const down = await new Responder({ status: 503 }).listen();
  closers.push(down);
  const partner = await channelWith(down.url(), ['stock.level']);
  const customer = uniqueName('cus');
  const partnerId = uniqueName('p-cust');
  await mapCustomer(partner.code, partnerId, customer);
  const erasure = dataRequest(customer, 'erasure');
  await sim.publisher.publish([erasure]);
  const pending = await waitFor(async () => {
    const d = await svc.models.deliveries.findOne({ endpointId: partner.endpointId, eventType: 'customer.erased' }).lean();
    return d && d.attempts >= 1 ? d : null;
  }, 'a failed attempt of the notice');
  expect(down.hits.length).toBeGreaterThanOrEqual(1);
  expect(pending.status).toBe('pending');
  expect(typeof pending.sealed).toBe('string');
  expect(JSON.stringify(pending)).not.toContain(partnerId);
  expect(JSON.stringify(pending)).not.toContain(customer);
});
