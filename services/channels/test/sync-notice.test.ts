import type { TopicValues } from '@omnimall/contracts';
import { newEvent } from '@omnimall/service-kit';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { adminToken, managerToken } from './support/harness';
import { cartChanged, channelBody } from './support/fixtures';
import { ackOutcomes as acked, hookNotifications, notificationsOf, startNoticeBench, type NoticeBench } from './support/notice-bench';

let bench: NoticeBench;

beforeAll(async () => {
  bench = await startNoticeBench('sync-monitor-sim', ['sync.notice', 'cart.cart-changed']);
});
afterAll(async () => {
  await bench?.stop();
});

type Notice = Omit<TopicValues['sync.notice'], 'envelope'>;

/** A sync.notice as the sync-monitor publishes it (customer audience on a channel unless changed). */
function notice(patch: Partial<Notice> = {}) {
  const escalationId = uniqueName('esc');
  const n: Notice = {
    noticeId: uniqueName('notice'),
    kind: 'propagation_delayed',
    audience: 'customer',
    channel: null,
    escalationId,
    eventId: uniqueName('evt'),
    eventType: 'cart.line_added',
    subject: 'Some recent changes are delayed',
    message: 'A recent change to your account or cart is taking longer than usual to appear everywhere.',
    recipientIds: [],
    ...patch,
  };
  return newEvent('sync.notice', { type: `sync.${n.kind}`, producer: 'sync-monitor', aggregateId: escalationId, aggregateVersion: 1 }, n);
}

/** A channel with a webhook endpoint for notifications and customers known from cart events. */
async function channelWithCustomers(languages: string[], customerCount: number): Promise<{ code: string; customers: string[] }> {
  const { sim, http } = bench;
  const code = uniqueName('sync').replace(/_/g, '-');
  expect(
    (
      await http
        .post('/channels')
        .set('authorization', await adminToken())
        .send(channelBody(code, { languages }))
    ).status,
  ).toBe(201);
  await hookNotifications(bench, code);
  const customers = Array.from({ length: customerCount }, () => uniqueName('cus')).sort();
  await sim.publisher.publish(customers.map((c, i) => cartChanged(c, code, i + 1)));
  await waitFor(
    async () => (await bench.svc.models.channelCustomers.countDocuments({ channel: code })) === customerCount,
    `${customerCount} active customers`,
  );
  return { code, customers };
}

/** The channels.notification events published for these notification ids (one per id). */
async function publishedFor(ids: string[]): Promise<TopicValues['channels.notification'][]> {
  return waitFor(async () => {
    const recs = bench.recorder.where((r) => r.topic === 'channels.notification' && ids.includes(String(r.message.key)));
    const decoded = await Promise.all(
      recs.map((r) => bench.svc.runtime.schemas.decode<TopicValues['channels.notification']>(r.message.value!)),
    );
    const unique = [...new Map(decoded.map((d) => [d.notificationId, d])).values()];
    return unique.length === ids.length ? unique : null;
  }, `${ids.length} channels.notification events`);
}

/** The outcome this service's sync-notice consumer acknowledged for an event (sync.applied). */
const ackOutcomes = (eventId: string, count: number) => acked(bench, 'sync-notices', eventId, count);

it('a delayed notice for a channel’s customers is stored per language, published and delivered with tracking', async () => {
  const { code, customers } = await channelWithCustomers(['de-DE', 'ja'], 2);
  const ev = notice({ channel: code });
  await bench.sim.publisher.publish([ev]);

  const { notes, byLanguage } = await notificationsOf(bench, code, 'propagation_delayed', 2);
  // ja has no text of its own: it gets the notice's English text.
  expect(Object.keys(byLanguage).sort()).toEqual(['de', 'en']);
  expect(byLanguage.en).toMatchObject({
    audience: 'customer',
    subject: ev.value.subject,
    message: ev.value.message,
    recipientIds: customers,
    causeEventId: ev.value.envelope.eventId,
  });
  expect(byLanguage.de.subject).toBe('Einige Änderungen verzögern sich');
  expect(byLanguage.de.recipientIds).toEqual(customers);

  const published = await publishedFor(notes.map((n) => n._id));
  expect(published.map((p) => [p.channel, p.kind, p.audience, p.expectedBackAt]).sort()).toEqual([
    [code, 'propagation_delayed', 'customer', null],
    [code, 'propagation_delayed', 'customer', null],
  ]);

  const received = await waitFor(() => {
    const r = bench.receiver.received.filter((x) => x.body.channel === code);
    return r.length === 2 ? r : null;
  }, 'two signed deliveries');
  expect(received.every((r) => r.event === 'notification' && r.signatureValid)).toBe(true);
  expect(received.map((r) => r.body.data.notificationId).sort()).toEqual(notes.map((n) => n._id).sort());
  const deliveries = await waitFor(async () => {
    const r = await bench.http.get(`/channels/${code}/deliveries`).set('authorization', await managerToken([code]));
    return r.body.deliveries.every((d: { status: string }) => d.status === 'delivered') ? r.body.deliveries : null;
  }, 'deliveries tracked as delivered');
  expect(deliveries).toHaveLength(2);
  expect(await ackOutcomes(ev.value.envelope.eventId, 1)).toEqual(['applied']);
});

it('an admin notice without a channel reaches every admin', async () => {
  const ev = notice({
    audience: 'admin',
    subject: 'Propagation of cart.line_added delayed',
    message: 'Event e1 (cart.cart-changed) has not been applied by catalog-sync after 5 s.',
  });
  await bench.sim.publisher.publish([ev]);
  const [note] = await waitFor(
    () => bench.svc.models.notifications.find({ causeEventId: ev.value.envelope.eventId }).lean(),
    'the admin notification',
  );
  expect(note).toMatchObject({
    channel: '*',
    kind: 'propagation_delayed',
    audience: 'admin',
    language: 'en',
    subject: ev.value.subject,
    message: ev.value.message,
    recipientIds: [],
  });
  const [published] = await publishedFor([note._id]);
  expect(published).toMatchObject({ channel: '*', audience: 'admin', subject: ev.value.subject });
  expect(published.envelope.sourceChannel).toBeNull();
  expect(await ackOutcomes(ev.value.envelope.eventId, 1)).toEqual(['applied']);
  expect(await bench.svc.models.deliveries.countDocuments({ sourceEventId: note._id })).toBe(0); // no channel, no endpoint
});

it('a replayed notice (same event, or same noticeId in a new event) is applied once', async () => {
  const { code } = await channelWithCustomers(['en'], 1);
  const ev = notice({ channel: code });
  await bench.sim.publisher.publish([ev]);
  const [first] = await waitFor(() => bench.svc.models.notifications.find({ channel: code }).lean(), 'the notification');
  await publishedFor([first._id]);
  await waitFor(() => bench.receiver.received.some((r) => r.body.channel === code), 'its delivery');

  // The same record again (a re-delivery), then the same notice under a new envelope (a re-publish).
  const { envelope: _envelope, ...sameNotice } = ev.value;
  void _envelope;
  const again = notice(sameNotice);
  await bench.sim.publisher.publish([ev]);
  await bench.sim.publisher.publish([again]);
  expect((await ackOutcomes(ev.value.envelope.eventId, 2)).sort()).toEqual(['applied', 'skipped_duplicate']);
  expect(await ackOutcomes(again.value.envelope.eventId, 1)).toEqual(['skipped_duplicate']);

  const rows = await bench.svc.models.notifications.find({ channel: code }).lean();
  expect(rows.map((r) => r._id)).toEqual([first._id]);
  expect(await bench.svc.models.deliveries.countDocuments({ channel: code })).toBe(1);
  expect(bench.recorder.where((r) => r.topic === 'channels.notification' && String(r.message.key) === first._id)).toHaveLength(1);
});

it('recipientIds restrict a notice to those customers; an unknown channel is skipped', async () => {
  const { code, customers } = await channelWithCustomers(['fr'], 3);
  const ev = notice({
    channel: code,
    kind: 'propagation_recovered',
    subject: 'Delayed changes are now up to date',
    message: 'The delayed change now shows on every channel.',
    recipientIds: [customers[1]],
  });
  await bench.sim.publisher.publish([ev]);
  const [note] = await waitFor(() => bench.svc.models.notifications.find({ channel: code }).lean(), 'the notification');
  expect(note).toMatchObject({
    kind: 'propagation_recovered',
    audience: 'customer',
    language: 'fr',
    subject: 'Les modifications retardées sont à jour',
    recipientIds: [customers[1]],
  });
  await waitFor(
    () => bench.receiver.received.some((r) => r.body.channel === code && r.body.data.notificationId === note._id),
    'its delivery',
  );

  const unknown = notice({ channel: uniqueName('gone').replace(/_/g, '-') });
  await bench.sim.publisher.publish([unknown]);
  expect(await ackOutcomes(unknown.value.envelope.eventId, 1)).toEqual(['skipped_duplicate']);
  expect(await bench.svc.models.notifications.countDocuments({ causeEventId: unknown.value.envelope.eventId })).toBe(0);
});
