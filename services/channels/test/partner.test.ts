import type { TopicValues } from '@omnimall/contracts';
import type { ServiceRuntime } from '@omnimall/service-kit';
import { uniqueName, waitFor, type TopicRecorder } from '@omnimall/service-kit/testing';
import { signatureHeader, verifySignature } from '../src/domain/signature';
import type { ChannelsService } from './support/harness';
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
  h = await startPartnerHarness('partner-sim', ['cart.cart-changed'], ['channels.partner-delivery']);
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
