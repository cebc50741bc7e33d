/**
 * Retention: ended deliveries (delivered or failed) and stored notifications older than their
 * setting (DELIVERY_RETENTION_DAYS, NOTIFICATION_RETENTION_DAYS, default 30 days each; settings.ts)
 * are removed by a pruning pass the `retention` worker runs every PRUNE_INTERVAL_MINUTES
 * (periodicWorker: passes never overlap). FerretDB 1.24 has no TTL indexes, hence the pass. A
 * pending delivery is never pruned: it still owes its partner the event and the monitor its ack.
 */
import type { RetentionSettings } from '../settings';
import type { DeliveryRepository, NotificationRepository } from '../store';

export async function pruneExpired(
  store: { deliveries: Pick<DeliveryRepository, 'pruneEnded'>; notifications: Pick<NotificationRepository, 'pruneBefore'> },
  retention: Pick<RetentionSettings, 'deliveryMs' | 'notificationMs'>,
  now = Date.now(),
): Promise<{ deliveries: number; notifications: number }> {
  const [deliveries, notifications] = await Promise.all([
    store.deliveries.pruneEnded(new Date(now - retention.deliveryMs)),
    store.notifications.pruneBefore(new Date(now - retention.notificationMs)),
  ]);
  return { deliveries, notifications };
}
