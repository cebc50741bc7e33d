/**
 * Stock levels, promotion starts and ends, and order statuses delivered to the partner endpoints
 * subscribed to them: signed, tracked with an ack per delivery, once per event, and to nobody else.
 */
import type { TopicValues } from '@omnimall/contracts';
import { ServiceRuntime, type OutgoingEvent } from '@omnimall/service-kit';
import { uniqueName, waitFor, type TopicRecorder } from '@omnimall/service-kit/testing';
import { DELIVERY_EVENT_TYPES, type DeliveryEventType } from '../src/domain/delivery';
import { orderStatus, promotionLifecycle, stockLevel } from './support/fixtures';
import type { ChannelsService } from './support/harness';
import { Receiver } from './support/receiver';
import { partnerChannel as partnerChannelOf, startPartnerHarness, type PartnerHarness } from './support/partner-harness';

let h: PartnerHarness;
let svc: ChannelsService;
let sim: ServiceRuntime;
let recorder: TopicRecorder;
let http: PartnerHarness['http'];
let admin: string;
const receivers: Receiver[] = [];

beforeAll(async () => {
  h = await startPartnerHarness(
    'partner-events-sim',
    ['inventory.stock-level', 'promotions.promotion-lifecycle', 'orders.order-status'],
    ['channels.partner-delivery'],
  );
  ({ svc, sim, recorder, http, admin } = h);
});
afterAll(async () => {
  await Promise.all([h?.stop(), ...receivers.map((r) => r.close())]);
});

const partnerChannel = () => partnerChannelOf(h);

/** A receiver registered as an endpoint of the channel for the given kinds. */
async function subscribed(channel: string, events: readonly string[]): Promise<{ id: string; receiver: Receiver }> {
  const receiver = await new Receiver().listen();
  receivers.push(receiver);
  const r = await http.post(`/channels/${channel}/webhooks`).set('authorization', admin).send({ url: receiver.url, events });
  expect(r.status).toBe(201);
  receiver.secret = r.body.secret;
  return { id: r.body.id, receiver };
}

async function acksFor(endpointId: string): Promise<TopicValues['channels.partner-delivery'][]> {
  const recs = recorder.where((r) => r.topic === 'channels.partner-delivery' && !!r.message.key?.toString().endsWith(`:${endpointId}`));
  const decoded = await Promise.all(
    recs.map((r) => svc.runtime.schemas.decode<TopicValues['channels.partner-delivery']>(r.message.value!)),
  );
  return [...new Map(decoded.map((a) => [a.deliveryId, a])).values()];
}

/**
 * Publishes `first` twice (a replay) and then `next` on the same key, and waits until the
 * subscribed endpoint has both: per-key order means the replay was handled before `next`, so
 * anything it would have caused exists by then.
 */
async function publishWithReplay(first: OutgoingEvent, next: OutgoingEvent, endpoint: { id: string; receiver: Receiver }) {
  await sim.publisher.publish([first, first, next]);
  await waitFor(
    async () =>
      (await svc.models.deliveries.countDocuments({
        endpointId: endpoint.id,
        sourceEventId: next.value.envelope.eventId,
        status: 'delivered',
      })) === 1,
    'the delivery of the event after the replay',
  );
  return waitFor(() => (endpoint.receiver.received.length >= 2 ? endpoint.receiver.received : undefined), 'two deliveries at the receiver');
}

/**
 * Every other kind of partner data. Not the channel's own lifecycle kinds: setting the channel up
 * (registration, activation) emits channel changes and notifications that may still be on their way
 * when the endpoint registers, and would be delivered to it rightly.
 */
const LIFECYCLE_KINDS: readonly DeliveryEventType[] = ['channel.changed', 'notification'];
const otherKinds = (kind: DeliveryEventType) => DELIVERY_EVENT_TYPES.filter((k) => k !== kind && !LIFECYCLE_KINDS.includes(k));

describe('stock, promotion and order status delivery', () => {
  it('delivers a stock level to the channel’s stock.level endpoint, signed and tracked, once, and to nobody else', async () => {
    const channel = await partnerChannel();
    const endpoint = await subscribed(channel, ['stock.level']);
    const other = await subscribed(channel, otherKinds('stock.level'));
    const sku = uniqueName('sku');
    const low = stockLevel(channel, sku, 1, 3, 'low_stock');
    const out = stockLevel(channel, sku, 2, 0);

    const received = await publishWithReplay(low, out, endpoint);
    expect(received).toHaveLength(2);
    expect(received.every((r) => r.signatureValid && r.event === 'stock.level')).toBe(true);
    expect(received.map((r) => r.body)).toEqual([
      expect.objectContaining({
        id: `${low.value.envelope.eventId}:${endpoint.id}`,
        type: 'stock.level',
        channel,
        data: { sku, availableQuantity: 3, status: 'low_stock', location: 'wh-berlin', version: 1 },
      }),
      expect.objectContaining({ data: expect.objectContaining({ availableQuantity: 0, status: 'out_of_stock', version: 2 }) }),
    ]);
    const rows = await svc.models.deliveries.find({ channel }).sort({ createdAt: 1 }).lean();
    expect(rows.map((r) => [r.endpointId, r.eventType, r.status])).toEqual([
      [endpoint.id, 'stock.level', 'delivered'],
      [endpoint.id, 'stock.level', 'delivered'],
    ]);
    expect(other.receiver.received).toEqual([]);

    const acks = await waitFor(async () => {
      const a = await acksFor(endpoint.id);
      return a.length === 2 ? a : undefined;
    }, 'two delivery acks');
    // Acks of different deliveries are keyed apart (other partitions): no order between them.
    expect(acks.map((a) => [a.sourceEventId, a.eventType, a.status, a.channel])).toEqual(
      expect.arrayContaining([
        [low.value.envelope.eventId, 'stock.level', 'delivered', channel],
        [out.value.envelope.eventId, 'stock.level', 'delivered', channel],
      ]),
    );
    expect(acks.every((a) => a.lagMs >= 0 && a.attempts === 1)).toBe(true);
  });

  it('delivers a promotion’s start and end to the promotion.lifecycle endpoints of each channel it applies to', async () => {
    const [first, second, notListed] = await Promise.all([partnerChannel(), partnerChannel(), partnerChannel()]);
    const endpoint = await subscribed(first, ['promotion.lifecycle']);
    const secondEndpoint = await subscribed(second, ['promotion.lifecycle', 'cart.changed']);
    const other = await subscribed(first, otherKinds('promotion.lifecycle'));
    const elsewhere = await subscribed(notListed, ['promotion.lifecycle']);
    const promotionId = uniqueName('promo');
    const started = promotionLifecycle(promotionId, 'started', [first, second, first], 1);
    const ended = promotionLifecycle(promotionId, 'ended', [first, second], 2);

    const received = await publishWithReplay(started, ended, endpoint);
    expect(received).toHaveLength(2);
    expect(received.every((r) => r.signatureValid && r.event === 'promotion.lifecycle')).toBe(true);
    expect(received.map((r) => r.body)).toEqual([
      expect.objectContaining({
        type: 'promotion.lifecycle',
        channel: first,
        data: {
          promotionId,
          name: 'Summer sale',
          phase: 'started',
          startsAt: '2025-06-01T00:00:00.000Z',
          endsAt: '2025-06-30T23:59:59.000Z',
          version: 1,
        },
      }),
      expect.objectContaining({ channel: first, data: expect.objectContaining({ phase: 'ended', version: 2 }) }),
    ]);
    const atSecond = await waitFor(
      () => (secondEndpoint.receiver.received.length >= 2 ? secondEndpoint.receiver.received : undefined),
      'both phases on the second channel',
    );
    expect(atSecond.map((r) => [r.body.channel, r.body.data.phase, r.signatureValid])).toEqual([
      [second, 'started', true],
      [second, 'ended', true],
    ]);
    expect(await svc.models.deliveries.countDocuments({ sourceEventId: started.value.envelope.eventId })).toBe(2); // one per endpoint
    expect(await svc.models.deliveries.countDocuments({ endpointId: { $in: [other.id, elsewhere.id] } })).toBe(0);
    expect([other.receiver.received, elsewhere.receiver.received]).toEqual([[], []]);
    const acks = await waitFor(async () => {
      const a = await acksFor(endpoint.id);
      return a.length === 2 ? a : undefined;
    }, 'two delivery acks');
    expect(acks.every((a) => a.eventType === 'promotion.lifecycle' && a.status === 'delivered' && a.channel === first)).toBe(true);
  });

  it('delivers an order’s status to the order.status endpoints of the order’s channel only', async () => {
    const [channel, otherChannel] = await Promise.all([partnerChannel(), partnerChannel()]);
    const endpoint = await subscribed(channel, ['order.status']);
    const other = await subscribed(channel, otherKinds('order.status'));
    const otherChannels = await subscribed(otherChannel, ['order.status']);
    const orderId = uniqueName('ord');
    const customerId = uniqueName('cus');
    const paid = orderStatus(orderId, customerId, channel, 'paid', 1);
    const shipped = orderStatus(orderId, customerId, channel, 'shipped', 2);

    const received = await publishWithReplay(paid, shipped, endpoint);
    expect(received).toHaveLength(2);
    expect(received.every((r) => r.signatureValid && r.event === 'order.status')).toBe(true);
    expect(received.map((r) => r.body)).toEqual([
      expect.objectContaining({
        type: 'order.status',
        channel,
        data: { orderId, customerId, status: 'paid', occurredAt: new Date(paid.value.occurredAt).toISOString(), version: 1 },
      }),
      expect.objectContaining({ data: expect.objectContaining({ status: 'shipped', version: 2 }) }),
    ]);
    expect(await svc.models.deliveries.countDocuments({ endpointId: { $in: [other.id, otherChannels.id] } })).toBe(0);
    expect([other.receiver.received, otherChannels.receiver.received]).toEqual([[], []]);
    const tracked = await http.get(`/channels/${channel}/deliveries?status=delivered`).set('authorization', admin);
    expect(tracked.body.deliveries.map((d: { eventType: string; attempts: number }) => [d.eventType, d.attempts])).toEqual([
      ['order.status', 1],
      ['order.status', 1],
    ]);
    for (const d of tracked.body.deliveries) for (const f of ['outbox', 'outboxCount', 'writeRev']) expect(d).not.toHaveProperty(f);
    const acks = await waitFor(async () => {
      const a = await acksFor(endpoint.id);
      return a.length === 2 ? a : undefined;
    }, 'two delivery acks');
    expect(acks.map((a) => [a.sourceEventId, a.eventType, a.status])).toEqual(
      expect.arrayContaining([
        [paid.value.envelope.eventId, 'order.status', 'delivered'],
        [shipped.value.envelope.eventId, 'order.status', 'delivered'],
      ]),
    );
  });

  it('refuses an unknown event kind at registration with the kinds it knows, and documents them', async () => {
    const channel = await partnerChannel();
    const r = await http
      .post(`/channels/${channel}/webhooks`)
      .set('authorization', admin)
      .send({ url: 'https://partner.example/hook', events: ['stock.level', 'inventory.levels'] });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'validation_failed', hint: expect.any(String) });
    expect(r.body.details.fields).toEqual([
      {
        field: 'body.events.1',
        code: 'invalid_value',
        problem: `unknown event kind "inventory.levels"; subscribe to ${DELIVERY_EVENT_TYPES.join(', ')}`,
      },
    ]);
    expect(await svc.models.endpoints.countDocuments({ channel })).toBe(0);

    const doc = (await http.get('/openapi.json')).body;
    const body = doc.paths['/channels/{code}/webhooks'].post.requestBody.content['application/json'].schema;
    expect(body.properties.events.items.enum).toEqual([
      'cart.changed',
      'channel.changed',
      'notification',
      'stock.level',
      'promotion.lifecycle',
      'order.status',
      'customer.erased',
    ]);
  });
});
