/**
 * identity.password-reset on the real stack: published as identity publishes it, delivered with its
 * token to the requesting channel's endpoint only, stored and published without the token (in the
 * stored delivery only sealed, until the delivery ends), never logged, and not delivered twice when
 * the event is replayed.
 */
import supertest from 'supertest';
import type { TopicValues } from '@omnimall/contracts';
import { ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { adminToken, managerToken, startTestChannels, type ChannelsService } from './support/harness';
import { channelBody, passwordReset } from './support/fixtures';
import { open } from '../src/domain/sealed';
import { channelsSettings } from '../src/settings';
import { Receiver, Responder } from './support/receiver';

let svc: ChannelsService;
let identitySim: ServiceRuntime;
let recorder: TopicRecorder;
let receiver: Receiver;
let otherReceiver: Receiver;
let http: ReturnType<typeof supertest>;
const logged: string[] = [];

beforeAll(async () => {
  [svc, identitySim, recorder, receiver, otherReceiver] = await Promise.all([
    startTestChannels(),
    ServiceRuntime.start({ config: testConfig('identity-sim'), produces: ['identity.password-reset'] }),
    new TopicRecorder(testKafka(), ['channels.notification']).start(),
    new Receiver().listen(),
    new Receiver().listen(),
  ]);
  http = supertest(svc.app);
  // Every line the service logs (logs are silent in tests, the logger's stream still carries them).
  svc.runtime.logger.on('data', (info: Record<string | symbol, unknown>) => logged.push(String(info[Symbol.for('message')])));
});
afterAll(async () => {
  await Promise.all([svc?.stop(), identitySim?.stop(), recorder?.stop(), receiver?.close(), otherReceiver?.close()]);
});

/** A channel with a webhook endpoint for notifications at `url`: its code and the endpoint's id and secret. */
async function channelWithEndpoint(url: string): Promise<{ code: string; endpointId: string; secret: string }> {
  const code = uniqueName('pwr').replace(/_/g, '-');
  expect(
    (
      await http
        .post('/channels')
        .set('authorization', await adminToken())
        .send(channelBody(code))
    ).status,
  ).toBe(201);
  const hook = await http
    .post(`/channels/${code}/webhooks`)
    .set('authorization', await managerToken([code]))
    .send({ url, events: ['notification'] });
  expect(hook.status).toBe(201);
  return { code, endpointId: hook.body.id, secret: hook.body.secret };
}

/** A channel with a webhook endpoint for notifications, received by `at`. */
async function channelWithHook(at: Receiver): Promise<string> {
  const { code, secret } = await channelWithEndpoint(at.url);
  at.secret = secret;
  return code;
}

const deliveredTo = (at: Receiver, requestId: string) =>
  at.received.filter((r) => (r.body.data.passwordReset as { requestId?: string } | undefined)?.requestId === requestId);

it('delivers the token to that customer on the requesting channel only, stores and publishes it without the token, logs it nowhere', async () => {
  const [code, otherCode] = await Promise.all([channelWithHook(receiver), channelWithHook(otherReceiver)]);
  const customer = uniqueName('cus');
  const ev = passwordReset(customer, code);
  await identitySim.publisher.publish([ev]);

  const [delivery] = await waitFor(() => {
    const r = deliveredTo(receiver, ev.value.requestId);
    return r.length ? r : null;
  }, 'the password reset delivered to the channel endpoint');
  expect(delivery.signatureValid).toBe(true);
  expect(delivery.event).toBe('notification');
  expect(delivery.body.channel).toBe(code);
  expect(delivery.body.data).toMatchObject({
    kind: 'password_reset',
    audience: 'customer',
    recipientIds: [customer],
    passwordReset: {
      requestId: ev.value.requestId,
      customerId: customer,
      email: ev.value.email,
      token: ev.value.token,
      expiresAt: new Date(ev.value.expiresAt).toISOString(),
    },
  });

  // The stored notification and its channels.notification event carry no token.
  const stored = await svc.models.notifications.find({ causeEventId: ev.value.envelope.eventId }).lean();
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ channel: code, kind: 'password_reset', recipientIds: [customer] });
  expect(JSON.stringify(stored)).not.toContain(ev.value.token);
  const published = await waitFor(async () => {
    const recs = recorder.where((r) => r.topic === 'channels.notification' && String(r.message.key) === stored[0]._id);
    return recs.length ? recs : null;
  }, 'the channels.notification event');
  const decoded = await svc.runtime.schemas.decode<TopicValues['channels.notification']>(published[0].message.value!);
  expect(decoded).toMatchObject({ channel: code, kind: 'password_reset', audience: 'customer', recipientIds: [customer] });
  expect(JSON.stringify(decoded)).not.toContain(ev.value.token);
  const listed = await http.get(`/channels/${code}/notifications`).set('authorization', await managerToken([code]));
  expect(listed.status).toBe(200);
  expect(JSON.stringify(listed.body)).not.toContain(ev.value.token);

  // Another channel's endpoint got nothing of it, and the token was never logged.
  expect(otherReceiver.received.filter((r) => r.body.channel === otherCode || JSON.stringify(r.body).includes(ev.value.token))).toEqual([]);
  expect(logged.some((l) => l.includes('password reset queued') && l.includes(ev.value.requestId))).toBe(true);
  expect(logged.filter((l) => l.includes(ev.value.token))).toEqual([]);
});

it('a replayed password reset is delivered once', async () => {
  const code = await channelWithHook(receiver);
  const customer = uniqueName('cus');
  const first = passwordReset(customer, code);
  await identitySim.publisher.publish([first]);
  await waitFor(() => deliveredTo(receiver, first.value.requestId).length > 0 || null, 'the first delivery');

  // The replay, then a later reset of the same customer (same key, same partition: handled after it).
  const later = passwordReset(customer, code);
  await identitySim.publisher.publish([first]);
  await identitySim.publisher.publish([later]);
  await waitFor(() => deliveredTo(receiver, later.value.requestId).length > 0 || null, 'the later delivery');
  expect(deliveredTo(receiver, first.value.requestId)).toHaveLength(1);
  expect(await svc.models.notifications.countDocuments({ causeEventId: first.value.envelope.eventId })).toBe(1);
});

it('a reset without a channel or for an unknown channel is delivered nowhere', async () => {
  const code = await channelWithHook(receiver);
  const customer = uniqueName('cus');
  const noChannel = passwordReset(customer, null);
  const unknown = passwordReset(customer, uniqueName('nochannel').replace(/_/g, '-'));
  const known = passwordReset(customer, code);
  await identitySim.publisher.publish([noChannel, unknown, known]);
  await waitFor(() => deliveredTo(receiver, known.value.requestId).length > 0 || null, 'the delivery on the known channel');
  expect(
    await svc.models.notifications.countDocuments({
      causeEventId: { $in: [noChannel.value.envelope.eventId, unknown.value.envelope.eventId] },
    }),
  ).toBe(0);
  expect(receiver.received.filter((r) => [noChannel, unknown].some((e) => JSON.stringify(r.body).includes(e.value.token)))).toEqual([]);
  expect(logged.some((l) => l.includes('password reset not delivered') && l.includes(unknown.value.requestId))).toBe(true);
});

describe('the token at rest (sealed in the stored delivery)', () => {
  it('the stored delivery holds neither token nor e-mail in clear; the webhook receives them; the sealed part goes when the delivery ends', async () => {
    const code = await channelWithHook(receiver);
    const ev = passwordReset(uniqueName('cus'), code);
    await identitySim.publisher.publish([ev]);
    const [got] = await waitFor(() => {
      const r = deliveredTo(receiver, ev.value.requestId);
      return r.length ? r : null;
    }, 'the delivery');
    expect(got.body.data.passwordReset).toMatchObject({ token: ev.value.token, email: ev.value.email });
    const stored = await waitFor(async () => {
      const d = await svc.models.deliveries.findById(got.deliveryId).lean();
      return d?.status === 'delivered' ? d : null;
    }, 'the delivery recorded as delivered');
    expect(JSON.stringify(stored)).not.toContain(ev.value.token);
    expect(JSON.stringify(stored)).not.toContain(ev.value.email);
    expect(stored.sealed ?? null).toBeNull(); // delivered: the secret is gone
    expect(JSON.parse(stored.body).data.passwordReset).toBeUndefined();
  });

  it('while pending, only the sealed box holds the token (it opens with the delivery key alone); deactivating the endpoint drops it', async () => {
    const down = await new Responder({ status: 503 }).listen();
    try {
      const { code, endpointId } = await channelWithEndpoint(down.url());
      const ev = passwordReset(uniqueName('cus'), code);
      await identitySim.publisher.publish([ev]);
      const pending = await waitFor(async () => {
        const d = await svc.models.deliveries.findOne({ endpointId }).lean();
        return d && d.attempts >= 1 ? d : null;
      }, 'a failed attempt');
      expect(down.hits.length).toBeGreaterThanOrEqual(1);
      expect(pending.status).toBe('pending');
      expect(JSON.stringify(pending)).not.toContain(ev.value.token);
      expect(JSON.stringify(pending)).not.toContain(ev.value.email);
      const opened = JSON.parse(
        open(channelsSettings({ ...process.env, OMNIMALL_LOCAL: 'true' }).deliveryKey, pending.sealed!, pending._id),
      );
      expect(opened.data.passwordReset).toMatchObject({ token: ev.value.token, email: ev.value.email });
      expect(() => open(Buffer.alloc(32, 1), pending.sealed!, pending._id)).toThrow(); // another key cannot
      expect(() => open(channelsSettings({ ...process.env, OMNIMALL_LOCAL: 'true' }).deliveryKey, pending.sealed!, 'other:id')).toThrow();

      expect((await http.delete(`/channels/${code}/webhooks/${endpointId}`).set('authorization', await managerToken([code]))).status).toBe(
        204,
      );
      const ended = await svc.models.deliveries.findById(pending._id).lean();
      expect([ended!.status, ended!.lastError, ended!.sealed ?? null]).toEqual(['failed', 'endpoint_deactivated', null]);
    } finally {
      await down.close();
    }
  });
});

it('a sealed part that no longer opens (the delivery key changed) ends its delivery as failed instead of retrying it', async () => {
  const down = await new Responder({ status: 503 }).listen();
  try {
    const { endpointId } = await channelWithEndpoint(down.url());
    await identitySim.publisher.publish([
      passwordReset(uniqueName('cus'), (await svc.models.endpoints.findById(endpointId).lean())!.channel),
    ]);
    const pending = await waitFor(async () => {
      const d = await svc.models.deliveries.findOne({ endpointId }).lean();
      return d && d.attempts >= 1 ? d : null;
    }, 'a failed attempt');
    // as if sealed under another key
    const [v, iv, tag, ct] = pending.sealed!.split('.');
    await svc.models.deliveries.updateOne(
      { _id: pending._id },
      { $set: { sealed: [v, iv, tag.split('').reverse().join(''), ct].join('.') } },
    );
    const ended = await waitFor(async () => {
      const d = await svc.models.deliveries.findById(pending._id).lean();
      return d?.status === 'failed' ? d : null;
    }, 'the delivery ended');
    expect([ended.lastError, ended.sealed ?? null]).toEqual(['secret_unreadable', null]);
  } finally {
    await down.close();
  }
});
