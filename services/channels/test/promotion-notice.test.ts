import type { TopicValues } from '@omnimall/contracts';
import { newEvent } from '@omnimall/service-kit';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { activate, adminToken } from './support/harness';
import { channelBody } from './support/fixtures';
import { ackOutcomes as acked, hookNotifications, notificationsOf, startNoticeBench, type NoticeBench } from './support/notice-bench';

/**
 * cart.promotion-notice against the real Kafka, FerretDB and schema registry: cart is simulated (its
 * notice records published on the real topic); channels stores, publishes and delivers the messages.
 */
let bench: NoticeBench;

beforeAll(async () => {
  bench = await startNoticeBench('cart-sim', ['cart.promotion-notice']);
});
afterAll(async () => {
  await bench?.stop();
});

type Notice = Omit<TopicValues['cart.promotion-notice'], 'envelope'>;

/** A cart.promotion-notice record as cart publishes it (one batch). */
function notice(patch: Partial<Notice> = {}) {
  const n: Notice = {
    promotionId: uniqueName('promo'),
    version: 1,
    name: 'Spring sale',
    startsAt: Date.parse('2026-03-01T00:00:00Z'),
    endsAt: Date.parse('2026-03-31T00:00:00Z'),
    channels: [],
    skus: ['SHOE-1'],
    batch: 0,
    batches: 1,
    customers: [],
    ...patch,
  };
  const id = `${n.promotionId}:${n.version}:${n.batch}`;
  return newEvent('cart.promotion-notice', { type: 'promotion.notice', producer: 'cart', aggregateId: id, aggregateVersion: n.version }, n);
}

/** A registered channel (active unless told otherwise), with a webhook endpoint for notifications when active. */
async function channel(languages: string[], active = true): Promise<string> {
  const code = uniqueName('promo').replace(/_/g, '-');
  const created = await bench.http
    .post('/channels')
    .set('authorization', await adminToken())
    .send(channelBody(code, { languages }));
  expect(created.status).toBe(201);
  if (!active) return code;
  await activate(bench.svc, code);
  await hookNotifications(bench, code);
  return code;
}

/** The outcomes the promotion-notices consumer acknowledged for an event (sync.applied). */
const ackOutcomes = (eventId: string, count: number) => acked(bench, 'promotion-notices', eventId, count);

it('tells the customers on their active channel, per language, published and delivered, once', async () => {
  const code = await channel(['de-DE', 'en']);
  const customers = [uniqueName('cus'), uniqueName('cus')].sort();
  const elsewhere = uniqueName('cus');
  const ev = notice({
    channels: [code],
    customers: [
      { customerId: customers[1], channel: code },
      { customerId: elsewhere, channel: null },
      { customerId: customers[0], channel: code },
    ],
  });
  await bench.sim.publisher.publish([ev]);

  const { notes, byLanguage } = await notificationsOf(bench, code, 'promotion_started', 2);
  expect(Object.keys(byLanguage).sort()).toEqual(['de', 'en']);
  expect(byLanguage.en).toMatchObject({
    audience: 'customer',
    subject: 'Spring sale has started',
    message: 'A promotion on items in your cart or wishlist has started: Spring sale (until 2026-03-31T00:00:00.000Z).',
    recipientIds: customers,
    causeEventId: ev.value.envelope.eventId,
  });
  expect(byLanguage.de).toMatchObject({ subject: 'Spring sale hat begonnen', recipientIds: customers });
  expect(notes.flatMap((n) => n.recipientIds)).not.toContain(elsewhere);

  const published = await waitFor(async () => {
    const recs = bench.recorder.where((r) => r.topic === 'channels.notification' && notes.some((n) => n._id === String(r.message.key)));
    return recs.length === 2 ? recs : null;
  }, 'two channels.notification events');
  const decoded = await Promise.all(
    published.map((r) => bench.svc.runtime.schemas.decode<TopicValues['channels.notification']>(r.message.value!)),
  );
  expect(decoded.map((d) => [d.channel, d.kind, d.audience]).sort()).toEqual([
    [code, 'promotion_started', 'customer'],
    [code, 'promotion_started', 'customer'],
  ]);
  const received = await waitFor(() => {
    const r = bench.receiver.received.filter((x) => x.body.channel === code);
    return r.length === 2 ? r : null;
  }, 'two signed deliveries');
  expect(received.every((r) => r.event === 'notification' && r.signatureValid)).toBe(true);
  expect(await ackOutcomes(ev.value.envelope.eventId, 1)).toEqual(['applied']);

  // the same record again (a re-delivery), then the same notice under a new envelope (cart's outbox publishing it twice)
  const { envelope: _envelope, ...same } = ev.value;
  void _envelope;
  const again = notice(same);
  await bench.sim.publisher.publish([ev]);
  await bench.sim.publisher.publish([again]);
  expect((await ackOutcomes(ev.value.envelope.eventId, 2)).sort()).toEqual(['applied', 'skipped_duplicate']);
  expect(await ackOutcomes(again.value.envelope.eventId, 1)).toEqual(['skipped_duplicate']);
  expect((await bench.svc.models.notifications.find({ channel: code }).lean()).map((n) => n._id).sort()).toEqual(
    notes.map((n) => n._id).sort(),
  );
  expect(await bench.svc.models.deliveries.countDocuments({ channel: code })).toBe(2);
});

it('a channel that is not active, an unknown channel or no channel gets nothing', async () => {
  const pending = await channel(['en'], false);
  const ev = notice({
    customers: [
      { customerId: uniqueName('cus'), channel: pending },
      { customerId: uniqueName('cus'), channel: uniqueName('gone').replace(/_/g, '-') },
      { customerId: uniqueName('cus'), channel: null },
    ],
  });
  await bench.sim.publisher.publish([ev]);
  expect(await ackOutcomes(ev.value.envelope.eventId, 1)).toEqual(['skipped_duplicate']);
  expect(await bench.svc.models.notifications.countDocuments({ causeEventId: ev.value.envelope.eventId })).toBe(0);
  expect(await bench.svc.models.notifications.countDocuments({ channel: pending })).toBe(0);
});
