/**
 * Retention on the real stack: the `retention` worker prunes ended deliveries and notifications
 * older than their setting (here a short one), keeps younger ones, and never a pending delivery.
 */
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { Delivery } from '../src/domain/delivery';
import type { Notification } from '../src/domain/notifications';
import { LOCAL_WEBHOOKS, startTestChannels, type ChannelsService } from './support/harness';

let svc: ChannelsService;
const RETENTION_DAYS = 0.0001; // 8.64 s

beforeAll(async () => {
  svc = await startTestChannels(
    {},
    {
      ...process.env,
      ...LOCAL_WEBHOOKS,
      DELIVERY_RETENTION_DAYS: String(RETENTION_DAYS),
      NOTIFICATION_RETENTION_DAYS: String(RETENTION_DAYS),
      PRUNE_INTERVAL_MINUTES: '0.001', // 60 ms
    },
  );
});
afterAll(async () => {
  await svc?.stop();
});

const ago = (ms: number) => new Date(Date.now() - ms);

function delivery(status: Delivery['status'], createdAt: Date): Delivery {
  const id = uniqueName('dlv');
  return {
    _id: id,
    channel: 'ret-test',
    endpointId: uniqueName('ep'),
    eventType: 'stock.level',
    sourceEventId: id,
    sourceOccurredAt: createdAt,
    body: '{}',
    status,
    attempts: 1,
    // a pending one is not due for a long while, so the delivery worker leaves it alone
    nextAttemptAt: new Date(Date.now() + 3_600_000),
    lastError: null,
    httpStatus: null,
    createdAt,
    completedAt: status === 'pending' ? null : createdAt,
  };
}

function notification(createdAt: Date): Notification {
  return {
    _id: uniqueName('ntf'),
    channel: 'ret-test',
    kind: 'maintenance',
    audience: 'admin',
    language: 'en',
    subject: 's',
    message: 'm',
    recipientIds: [],
    expectedBackAt: null,
    configVersion: 1,
    causeEventId: uniqueName('evt'),
    createdAt,
  };
}

it('prunes ended deliveries and notifications past their retention, keeps the young and every pending delivery', async () => {
  const old = ago(RETENTION_DAYS * 86_400_000 + 60_000);
  const young = ago(0);
  const [delivered, failed, pending, fresh] = [
    delivery('delivered', old),
    delivery('failed', old),
    delivery('pending', old),
    delivery('delivered', young),
  ];
  const [oldNote, youngNote] = [notification(old), notification(young)];
  await svc.models.deliveries.insertMany([delivered, failed, pending, fresh]);
  await svc.models.notifications.insertMany([oldNote, youngNote]);

  await waitFor(
    async () =>
      (await svc.models.deliveries.countDocuments({ _id: { $in: [delivered._id, failed._id] } })) === 0 &&
      (await svc.models.notifications.countDocuments({ _id: oldNote._id })) === 0,
    'the old ones pruned',
  );
  expect(await svc.models.deliveries.countDocuments({ _id: { $in: [pending._id, fresh._id] } })).toBe(2);
  expect(await svc.models.notifications.countDocuments({ _id: youngNote._id })).toBe(1);

  // the young ones go once they are older than the setting
  await waitFor(
    async () =>
      (await svc.models.deliveries.countDocuments({ _id: fresh._id })) === 0 &&
      (await svc.models.notifications.countDocuments({ _id: youngNote._id })) === 0,
    'the young ones pruned once past retention',
    30_000,
  );
  expect(await svc.models.deliveries.countDocuments({ _id: pending._id })).toBe(1);
});
