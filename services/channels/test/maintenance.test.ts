import supertest from 'supertest';
import type { TopicValues } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { activate, adminToken, managerToken, startTestChannels, type ChannelsService } from './support/harness';
import { cartChanged, channelBody } from './support/fixtures';
import { Receiver } from './support/receiver';
import { startShop, type Shop } from './support/shop-consumer';

let svc: ChannelsService;
let shop: Shop;
let cartSim: ServiceRuntime;
let recorder: TopicRecorder;
let receiver: Receiver;
let http: ReturnType<typeof supertest>;

beforeAll(async () => {
  [svc, shop, cartSim, recorder, receiver] = await Promise.all([
    startTestChannels(),
    startShop(),
    ServiceRuntime.start({ config: testConfig('cart-sim'), produces: ['cart.cart-changed', 'identity.customer-status'] }),
    new TopicRecorder(testKafka(), ['channels.notification', 'channels.partner-delivery']).start(),
    new Receiver().listen(),
  ]);
  http = supertest(svc.app);
});
afterAll(async () => {
  await Promise.all([svc?.stop(), shop?.stop(), cartSim?.stop(), recorder?.stop(), receiver?.close()]);
});

const transact = (channel: string) =>
  fetch(`${shop.url}/transactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel }) });

it('a channel put into maintenance is refused by another service, its customers, sellers and admins are notified and the notices delivered', async () => {
  const code = uniqueName('maint').replace(/_/g, '-');
  const admin = await adminToken();
  const manager = await managerToken([code]);
  expect(
    (
      await http
        .post('/channels')
        .set('authorization', admin)
        .send(channelBody(code, { languages: ['de-DE', 'fr'] }))
    ).status,
  ).toBe(201);
  await activate(svc, code);
  const hook = await http
    .post(`/channels/${code}/webhooks`)
    .set('authorization', manager)
    .send({ url: receiver.url, events: ['notification'] });
  expect(hook.status).toBe(201);
  expect(hook.body.secret).toMatch(/^whsec_/);
  receiver.secret = hook.body.secret;
  expect((await http.get(`/channels/${code}/webhooks`).set('authorization', manager)).body.endpoints[0]).not.toHaveProperty('secret');

  // Customers with activity on the channel, known from cart events; one of them is later erased.
  const customers = [uniqueName('cus'), uniqueName('cus'), uniqueName('cus')].sort();
  await cartSim.publisher.publish(customers.map((c, i) => cartChanged(c, code, i + 1)));
  await waitFor(async () => (await svc.models.channelCustomers.countDocuments({ channel: code })) === 3, 'three active customers');
  const erased = customers[2];
  await cartSim.publisher.publish([
    newEvent(
      'identity.customer-status',
      { type: 'customer.erased', producer: 'identity', aggregateId: erased, aggregateVersion: 9 },
      {
        customerId: erased,
        status: 'erased',
        reason: 'gdpr',
        until: null,
        loyaltyTier: 'none',
        verified: false,
        dataRegion: 'eu',
        change: 'erased',
      },
    ),
  ]);
  await waitFor(async () => (await svc.models.channelCustomers.countDocuments({ channel: code })) === 2, 'the erased customer forgotten');

  await waitFor(async () => (await transact(code)).status === 201, 'the shop to accept transactions on the active channel');

  const expectedBackAt = new Date(Date.now() + 2 * 3600_000).toISOString();
  const moved = await http
    .post(`/channels/${code}/transitions`)
    .set('authorization', manager)
    .send({ action: 'enter_maintenance', expectedBackAt, reason: 'payment provider upgrade' });
  expect(moved.body.state).toBe('maintenance');

  const refusal = await waitFor(
    async () => {
      const r = await transact(code);
      return r.status === 409 && ((await r.json()) as { code: string; message: string; hint: string; details: Record<string, unknown> });
    },
    'the shop to refuse transactions',
    2000,
  );
  expect(refusal).toMatchObject({
    code: 'channel_not_active',
    message: `channel ${code} is maintenance`,
    hint: `expected back at ${expectedBackAt}`,
    details: { state: 'maintenance', expectedBackAt },
  });

  // Channel-specific messages in the channel's languages, stored, published and delivered.
  const notes = await waitFor(async () => {
    const rows = await svc.models.notifications.find({ channel: code, kind: 'maintenance' }).lean();
    return rows.length === 5 && rows;
  }, 'five maintenance notifications');
  const byKey = Object.fromEntries(notes.map((n) => [`${n.audience}:${n.language}`, n]));
  expect(Object.keys(byKey).sort()).toEqual(['admin:en', 'customer:de', 'customer:fr', 'seller:de', 'seller:en']);
  expect(byKey['customer:de'].recipientIds).toEqual(customers.slice(0, 2));
  expect(byKey['customer:de'].message).toBe(
    `Channel ${code} wird bis ${expectedBackAt} gewartet. Ihr Warenkorb bleibt erhalten: Sie können ihn weiter ansehen und danach wieder ändern und bestellen.`,
  );
  expect(byKey['customer:fr'].message).toContain('est en maintenance');
  expect(byKey['seller:de'].recipientIds).toEqual([]);

  const published = await waitFor(async () => {
    const recs = recorder.where((r) => r.topic === 'channels.notification' && notes.some((n) => n._id === r.message.key?.toString()));
    const decoded = await Promise.all(recs.map((r) => svc.runtime.schemas.decode<TopicValues['channels.notification']>(r.message.value!)));
    const unique = [...new Map(decoded.map((d) => [d.notificationId, d])).values()];
    return unique.length === 5 && unique;
  }, 'five notification events');
  expect(published.find((p) => p.audience === 'customer' && p.language === 'fr')).toMatchObject({
    channel: code,
    kind: 'maintenance',
    expectedBackAt: Date.parse(expectedBackAt),
  });

  await waitFor(
    () => new Set(receiver.received.filter((r) => r.body.channel === code).map((r) => r.deliveryId)).size === 5,
    'five signed deliveries',
  );
  expect(receiver.received.every((r) => r.event === 'notification' && r.signatureValid)).toBe(true);
  // The receiver answers before the service records the outcome: wait for the records, then check them.
  const deliveries = await waitFor(async () => {
    const rows = (await http.get(`/channels/${code}/deliveries`).set('authorization', manager)).body.deliveries as {
      id: string;
      status: string;
    }[];
    return rows.every((d) => d.status !== 'pending') && rows;
  }, 'the five delivery outcomes recorded');
  expect(deliveries.map((d) => d.status)).toEqual(Array(5).fill('delivered'));
  await waitFor(
    () =>
      recorder.where((r) => r.topic === 'channels.partner-delivery' && deliveries.some((d) => d.id === r.message.key?.toString())).length >=
      5,
    'delivery acks',
  );
  expect((await http.get(`/channels/${code}/notifications`).set('authorization', manager)).body.notifications).toHaveLength(5);

  // Back to active: the shop takes transactions again.
  expect(
    (await http.post(`/channels/${code}/transitions`).set('authorization', manager).send({ action: 'end_maintenance' })).body.state,
  ).toBe('active');
  await waitFor(async () => (await transact(code)).status === 201, 'the shop to accept transactions again');
});
