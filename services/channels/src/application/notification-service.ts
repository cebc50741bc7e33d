/**
 * Turns a channel entering maintenance or sunset, or getting its commerce blocked, into stored
 * notifications (with their channels.notification events) and deliveries to the channel's endpoints.
 * Ids derive from the causing event, so a replay creates nothing twice.
 */
import { isDuplicateKeyError, newEvent, type ServiceRuntime } from '@omnimall/service-kit';
import type { TopicValues } from '@omnimall/contracts';
import { buildNotifications, type NotificationKind } from '../domain/notifications';
import type { WebhookDelivery } from '../delivery/webhook-delivery';
import { overridesOf, type NotificationDoc, type Store } from '../store/models';
import type { ConfigStore } from './config-store';

/** What a channel-changed event calls for, if anything. */
export function notificationKindOf(ev: TopicValues['channels.channel-changed']): NotificationKind | null {
  if (ev.change === 'transitioned' && (ev.state === 'maintenance' || ev.state === 'sunset') && ev.previousState !== ev.state)
    return ev.state;
  if (ev.change === 'blocked') return 'commerce_blocked';
  return null;
}

export class NotificationService {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly store: Store,
    private readonly config: ConfigStore,
    private readonly delivery: WebhookDelivery,
  ) {}

  async onChannelChanged(ev: TopicValues['channels.channel-changed']): Promise<NotificationDoc[]> {
    const kind = notificationKindOf(ev);
    if (!kind) return [];
    const [doc, cfg, customers] = await Promise.all([
      this.store.channels.findById(ev.code, { overrides: 1 }).lean(),
      this.config.current(),
      kind === 'commerce_blocked'
        ? []
        : this.store.channelCustomers.find({ channel: ev.code }, { customerId: 1 }).sort({ customerId: 1 }).lean(),
    ]);
    const drafts = buildNotifications(
      {
        code: ev.code,
        name: ev.name,
        languages: ev.languages,
        overrides: doc ? overridesOf(doc) : {},
        expectedBackAt: ev.expectedBackAt ? new Date(ev.expectedBackAt) : null,
        blockReasons: ev.blockReasons,
      },
      kind,
      cfg,
      customers.map((c) => c.customerId),
    );
    const created: NotificationDoc[] = [];
    for (const d of drafts) {
      const id = `ntf_${ev.envelope.eventId}_${d.part}`;
      const { part: _part, ...message } = d;
      void _part;
      const expectedBackAt = ev.expectedBackAt ? new Date(ev.expectedBackAt) : null;
      const notification: NotificationDoc = {
        _id: id,
        channel: ev.code,
        ...message,
        expectedBackAt,
        configVersion: cfg.version,
        causeEventId: ev.envelope.eventId,
        createdAt: new Date(),
      };
      const event = newEvent(
        'channels.notification',
        {
          type: `notification.${d.kind}`,
          producer: 'channels',
          aggregateId: id,
          aggregateVersion: 1,
          correlationId: ev.envelope.correlationId,
          sourceChannel: ev.code,
        },
        { notificationId: id, channel: ev.code, ...message, expectedBackAt: ev.expectedBackAt, configVersion: cfg.version },
      );
      try {
        created.push(await this.rt.outbox.create(this.store.notifications, notification, [event]));
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // created by an earlier attempt; its delivery is re-queued below
      }
      await this.delivery.enqueue({
        eventType: 'notification',
        sourceEventId: id,
        occurredAt: ev.envelope.occurredAt,
        channel: ev.code,
        data: { notificationId: id, ...message, expectedBackAt },
      });
    }
    return created;
  }
}
