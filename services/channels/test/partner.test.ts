import type { TopicValues } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { uniqueName, waitFor, type TopicRecorder } from '@omnimall/service-kit/testing';
import { signatureHeader, verifySignature } from '../src/domain/signature';
import { activate, type ChannelsService } from './support/harness';
import { cartChanged } from './support/fixtures';
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
    'partner-sim',
    ['cart.cart-changed', 'partner.order-status'],
    ['channels.partner-order-status', 'partner.order-status.dlq', 'channels.partner-delivery'],
  );
  ({ svc, sim, recorder, http, admin } = h);
});
afterAll(async () => {
  await Promise.all([h?.stop(), ...receivers.map((r) => r.close())]);
});

const elsewhere = [{ sku: 'elsewhere', quantity: 1, channel: 'some-other-channel' }];

const partnerChannel = () => partnerChannelOf(h);

async function endpoint(channel: string, url: string, events = ['cart.changed']): Promise<{ id: string; secret: string }> {
  const r = await http.post(`/channels/${channel}/webhooks`).set('authorization', admin).send({ url, events });
  expect(r.status).toBe(201);
  return r.body;
}

describe('partner delivery', () => {
  it('signs each delivery so the partner can verify it, and a forged one fails the same check', async () => {
    const channel = await partnerChannel();
    const receiver = await new Receiver().listen();
    receivers.push(receiver);
    const ep = await endpoint(channel, receiver.url);
    receiver.secret = ep.secret;
    const customer = uniqueName('cus');
    await sim.publisher.publish([cartChanged(customer, channel, 1, elsewhere)]);
    const [got] = await waitFor(() => receiver.received.filter((r) => r.body.channel === channel), 'the cart delivery');
    expect(got).toMatchObject({
      event: 'cart.changed',
      signatureValid: true,
      body: { type: 'cart.changed', data: { customerId: customer, version: 1 } },
    });
    expect(got.body.data.lines).toEqual([expect.objectContaining({ sku: 'sku-1', quantity: 1 })]); // only this channel's lines

    const body = JSON.stringify(got.body);
    expect(verifySignature(ep.secret, signatureHeader(ep.secret, body), body)).toBe(true);
    expect(verifySignature(ep.secret, signatureHeader('whsec_attacker', body), body)).toBe(false);
    const forged = await fetch(receiver.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-omnimall-signature': signatureHeader('whsec_attacker', body) },
      body,
    });
    expect(forged.status).toBe(401);
  });

  it('keeps retrying a delivery the partner refuses (bad signature), without opening the breaker', async () => {
    const channel = await partnerChannel();
    const receiver = await new Receiver().listen();
    receivers.push(receiver);
    const ep = await endpoint(channel, receiver.url);
    receiver.secret = 'whsec_not_the_right_one';
    await sim.publisher.publish([cartChanged(uniqueName('cus'), channel, 1)]);
    const d = await waitFor(async () => {
      const row = await svc.models.deliveries.findOne({ endpointId: ep.id }).lean();
      return row && row.attempts >= 3 && row;
    }, 'three refused attempts');
    expect(d).toMatchObject({ status: 'pending', httpStatus: 401, lastError: 'endpoint answered 401' });
    expect(svc.delivery.breakerState(ep.id)).toBe('closed');
    receiver.secret = ep.secret; // the partner fixes its configuration
    await waitFor(async () => (await svc.models.deliveries.findById(d._id).lean())?.status === 'delivered', 'the delivery after the fix');
    expect(receiver.received).toHaveLength(1);
  });

  it('opens the breaker on a down endpoint, retries later, and loses nothing, in order', async () => {
    const channel = await partnerChannel();
    const probe = await new Receiver().listen();
    const port = probe.port;
    await probe.close(); // the partner is down: connections to this port are refused
    const receiver = new Receiver();
    receivers.push(receiver);
    const ep = await endpoint(channel, `http://127.0.0.1:${port}/hook`);
    receiver.secret = ep.secret;
    const customer = uniqueName('cus');
    await sim.publisher.publish([1, 2, 3, 4, 5, 6].map((v) => cartChanged(customer, channel, v, elsewhere)));

    await waitFor(() => svc.delivery.breakerState(ep.id) === 'open', 'the breaker to open');
    const pending = await waitFor(async () => {
      const rows = await svc.models.deliveries.find({ endpointId: ep.id }).lean();
      return rows.length === 6 && rows;
    }, 'six queued deliveries');
    expect(pending.every((r) => r.status === 'pending')).toBe(true);
    // What the channel can read is neutral: a refused connection and an open breaker are both `unreachable`.
    const tried = pending.filter((r) => r.attempts > 0);
    expect(tried.length).toBeGreaterThan(0);
    expect(new Set(tried.map((r) => r.lastError))).toEqual(new Set(['unreachable']));

    await receiver.listen(port); // the partner is back
    await waitFor(
      async () => (await svc.models.deliveries.countDocuments({ endpointId: ep.id, status: 'delivered' })) === 6,
      'all six delivered',
      20000,
    );
    expect(svc.delivery.breakerState(ep.id)).toBe('closed');
    const versions = receiver.received.map((r) => r.body.data.version);
    expect(new Set(versions).size).toBe(6);
    expect(versions).toEqual([1, 2, 3, 4, 5, 6]);
    const acks = await waitFor(async () => {
      const recs = recorder.where(
        (r) => r.topic === 'channels.partner-delivery' && r.message.key?.toString().endsWith(`:${ep.id}`) === true,
      );
      const decoded = await Promise.all(
        recs.map((r) => svc.runtime.schemas.decode<TopicValues['channels.partner-delivery']>(r.message.value!)),
      );
      const unique = [...new Map(decoded.map((a) => [a.deliveryId, a])).values()];
      return unique.length === 6 && unique;
    }, 'six delivery acks');
    expect(acks.every((a) => a.status === 'delivered' && a.channel === channel && a.lagMs >= 0)).toBe(true);
    expect(Math.max(...acks.map((a) => a.attempts))).toBeGreaterThan(1);
  });

  it('refuses a webhook URL that is not http(s)', async () => {
    const channel = await partnerChannel();
    const r = await http
      .post(`/channels/${channel}/webhooks`)
      .set('authorization', admin)
      .send({ url: 'ftp://partner/hook', events: ['cart.changed'] });
    expect([r.status, r.body.details.fields[0].field]).toEqual([400, 'body.url']);
    expect(
      (
        await http
          .post(`/channels/${channel}/webhooks`)
          .set('authorization', admin)
          .send({ url: 'https://p/h', events: ['gossip'] })
      ).status,
    ).toBe(400);
  });
});

describe('partner ingestion', () => {
  function orderStatus(
    channel: string,
    partnerOrderId: string,
    partnerCustomerId: string,
    status: string,
    patch: Partial<TopicValues['partner.order-status']> = {},
  ) {
    return newEvent(
      'partner.order-status',
      {
        type: 'partner.order_status',
        producer: 'partner-system',
        aggregateId: partnerOrderId,
        aggregateVersion: 1,
        sourceChannel: channel,
      },
      {
        partnerChannel: channel,
        partnerOrderId,
        partnerCustomerId,
        status,
        currency: 'EUR',
        totalMinor: 4999,
        statusAt: Date.now(),
        ...patch,
      },
    );
  }

  it('maps partner ids to global ids and dead-letters invalid records with the reason', async () => {
    const channel = await partnerChannel();
    await activate(svc, channel);
    const globalCustomer = uniqueName('cus');
    expect(
      (await http.put(`/channels/${channel}/partner-customers/p-cust-1`).set('authorization', admin).send({ customerId: globalCustomer }))
        .status,
    ).toBe(204);

    const paid = orderStatus(channel, 'p-order-1', 'p-cust-1', 'paid');
    const unknownCustomer = orderStatus(channel, 'p-order-2', 'p-cust-404', 'paid');
    const badStatus = orderStatus(channel, 'p-order-3', 'p-cust-1', 'teleported', { currency: 'XYZ' });
    await sim.publisher.publish([paid, unknownCustomer, badStatus]);

    const mapped = async (partnerOrderId: string) => {
      const recs = recorder.where((r) => r.topic === 'channels.partner-order-status');
      const decoded = await Promise.all(
        recs.map((r) => svc.runtime.schemas.decode<TopicValues['channels.partner-order-status']>(r.message.value!)),
      );
      return decoded.filter((d) => d.channel === channel && d.partnerOrderId === partnerOrderId);
    };
    const [first] = await waitFor(() => mapped('p-order-1'), 'the mapped order status');
    expect(first).toMatchObject({
      customerId: globalCustomer,
      status: 'paid',
      totalMinor: 4999,
      sourceEventId: paid.value.envelope.eventId,
      envelope: { aggregateVersion: 1 },
    });
    expect(first.orderId).toMatch(/^ord_[0-9a-f-]{36}$/);

    await sim.publisher.publish([orderStatus(channel, 'p-order-1', 'p-cust-1', 'shipped', { statusAt: Date.now() + 1000 })]);
    const shipped = await waitFor(
      async () => (await mapped('p-order-1')).find((d) => d.status === 'shipped'),
      'the second status of the same order',
    );
    expect([shipped.orderId, shipped.envelope.aggregateVersion]).toEqual([first.orderId, 2]);

    const dead = await waitFor(() => {
      const recs = recorder.where(
        (r) =>
          r.topic === 'partner.order-status.dlq' &&
          [unknownCustomer, badStatus].some((e) => e.value.envelope.eventId === r.message.headers?.eventId?.toString()),
      );
      return recs.length >= 2 && recs;
    }, 'two dead letters');
    const reasons = Object.fromEntries(dead.map((r) => [r.message.key?.toString(), r.message.headers?.['x-error']?.toString()]));
    expect(reasons['p-order-2']).toBe(`unknown_partner_customer: p-cust-404 is not mapped to a global customer on ${channel}`);
    expect(reasons['p-order-3']).toContain('invalid_status: teleported');
    expect(reasons['p-order-3']).toContain(`invalid_currency: XYZ is not a currency of ${channel}`);
    expect(dead.every((r) => r.message.headers?.['x-dlq-reason']?.toString() === 'invalid')).toBe(true);
    const redecoded = await svc.runtime.schemas.decode<TopicValues['partner.order-status']>(dead[0].message.value!);
    expect(redecoded.partnerChannel).toBe(channel);
  });
});
