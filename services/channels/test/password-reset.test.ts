/**
 * identity.password-reset on the real stack: published as identity publishes it, delivered with its
 * token to the requesting channel's endpoint only, stored and published without the token, never
 * logged, and not delivered twice when the event is replayed.
 */
import supertest from 'supertest';
import type { TopicValues } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { adminToken, managerToken, startTestChannels, type ChannelsService } from './support/harness';
import { channelBody } from './support/fixtures';
import { Receiver } from './support/receiver';

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

/** A channel with a webhook endpoint for notifications, received by `at`. */
async function channelWithHook(at: Receiver): Promise<string> {
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
    .send({ url: at.url, events: ['notification'] });
  expect(hook.status).toBe(201);
  at.secret = hook.body.secret;
  return code;
}

/** identity.password-reset as identity's outbox publishes it (events/out/accounts.ts). */
function passwordReset(customerId: string, channel: string | null) {
  const value: Omit<TopicValues['identity.password-reset'], 'envelope'> = {
    requestId: uniqueName('pwr'),
    customerId,
    email: `${customerId}@example.test`,
    channel,
    token: uniqueName('secret-token'),
    expiresAt: Date.now() + 30 * 60_000,
  };
  return newEvent(
    'identity.password-reset',
    { type: 'customer.password_reset_requested', producer: 'identity', aggregateId: customerId, aggregateVersion: 1 },
    value,
  );
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
