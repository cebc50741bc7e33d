/**
 * Turns a channel entering maintenance or sunset, or getting its commerce blocked, and the
 * sync-monitor's delay and recovery notices, into stored notifications (with their
 * channels.notification events) and deliveries to the channel's endpoints. Maintenance and sunset
 * notices go to the customers active on the channel and the sellers listed on it (projections of
 * cart.cart-changed and catalog.local-item).
 * Ids derive from the causing event (or notice), so a replay creates nothing twice.
 */
import { isDuplicateKeyError, newEvent, type ServiceRuntime } from '@omnimall/service-kit';
import type { TopicValues } from '@omnimall/contracts';
import {
  ALL_CHANNELS,
  buildNotifications,
  buildSyncNoticeNotifications,
  SYNC_NOTICE_AUDIENCES,
  SYNC_NOTICE_KINDS,
  type NotificationDraft,
  type NotificationKind,
} from '../domain/notifications';
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

/** Where a set of drafts comes from, and what their notifications share. */
interface Cause {
  /** Notification ids are `ntf_<idBase>_<part>`: derived from the cause, a replay creates nothing twice. */
  idBase: string;
  channel: string;
  causeEventId: string;
  occurredAt: number;
  correlationId: string;
  expectedBackAt: Date | null;
  configVersion: number;
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
    const [doc, cfg, customers, sellers] = await Promise.all([
      this.store.channels.findById(ev.code, { overrides: 1 }).lean(),
      this.config.current(),
      kind === 'commerce_blocked'
        ? []
        : this.store.channelCustomers.find({ channel: ev.code }, { customerId: 1 }).sort({ customerId: 1 }).lean(),
      kind === 'commerce_blocked' ? [] : this.listedSellers(ev.code),
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
      sellers,
    );
    return this.save(drafts, {
      idBase: ev.envelope.eventId,
      channel: ev.code,
      causeEventId: ev.envelope.eventId,
      occurredAt: ev.envelope.occurredAt,
      correlationId: ev.envelope.correlationId,
      expectedBackAt: ev.expectedBackAt ? new Date(ev.expectedBackAt) : null,
      configVersion: cfg.version,
    });
  }

  /**
   * The sellers with at least one listed item on the channel (from catalog.local-item), sorted. Empty
   * when none is known yet: the seller notices are then addressed to every seller (no recipients).
   */
  private async listedSellers(channel: string): Promise<string[]> {
    const ids = await this.store.sellerListings.distinct('sellerId', { channel, status: 'listed' });
    return ids.map(String).sort();
  }

  /**
   * A sync-monitor notice: to every admin (no channel), or to the admins or customers of one channel
   * (`recipientIds`, or else every customer known to be active there). Ids derive from the noticeId,
   * so the same notice published again creates nothing new (`created` is then empty). `skipped` says
   * why a notice cannot be placed.
   */
  async onSyncNotice(ev: TopicValues['sync.notice']): Promise<{ created: NotificationDoc[]; skipped?: string }> {
    const kind = SYNC_NOTICE_KINDS.find((k) => k === ev.kind);
    const audience = SYNC_NOTICE_AUDIENCES.find((a) => a === ev.audience);
    if (!kind || !audience) return { created: [], skipped: `unknown kind ${ev.kind} or audience ${ev.audience}` };
    if (ev.channel === null && audience === 'customer') return { created: [], skipped: 'a customer notice without a channel' };
    const channel = ev.channel === null ? null : await this.store.channels.findById(ev.channel, { languages: 1 }).lean();
    if (ev.channel !== null && !channel) return { created: [], skipped: `unknown channel ${ev.channel}` };
    let customers: string[] = [];
    if (audience === 'customer' && ev.recipientIds.length) customers = [...new Set(ev.recipientIds)];
    else if (audience === 'customer')
      customers = (await this.store.channelCustomers.find({ channel: ev.channel }, { customerId: 1 }).sort({ customerId: 1 }).lean()).map(
        (c) => c.customerId,
      );
    if (audience === 'customer' && customers.length === 0) return { created: [], skipped: `no known customers on channel ${ev.channel}` };
    const drafts = buildSyncNoticeNotifications(
      { kind, audience, subject: ev.subject, message: ev.message },
      channel?.languages ?? [],
      customers,
    );
    const created = await this.save(drafts, {
      idBase: ev.noticeId,
      channel: ev.channel ?? ALL_CHANNELS,
      causeEventId: ev.envelope.eventId,
      occurredAt: ev.envelope.occurredAt,
      correlationId: ev.envelope.correlationId,
      expectedBackAt: null,
      configVersion: (await this.config.current()).version,
    });
    return { created };
  }

  /**
   * Stores each draft with its channels.notification event (one outbox write) and queues its delivery
   * to the channel's endpoints. A draft stored by an earlier attempt is not stored again, but its
   * delivery is queued again (idempotent), in case that attempt stopped in between.
   */
  private async save(drafts: NotificationDraft[], cause: Cause): Promise<NotificationDoc[]> {
    const created: NotificationDoc[] = [];
    const { channel, expectedBackAt, configVersion } = cause;
    for (const d of drafts) {
      const id = `ntf_${cause.idBase}_${d.part}`;
      const { part: _part, ...message } = d;
      void _part;
      const notification: NotificationDoc = {
        _id: id,
        channel,
        ...message,
        expectedBackAt,
        configVersion,
        causeEventId: cause.causeEventId,
        createdAt: new Date(),
      };
      const event = newEvent(
        'channels.notification',
        {
          type: `notification.${d.kind}`,
          producer: 'channels',
          aggregateId: id,
          aggregateVersion: 1,
          correlationId: cause.correlationId,
          sourceChannel: channel === ALL_CHANNELS ? null : channel,
        },
        { notificationId: id, channel, ...message, expectedBackAt: expectedBackAt ? expectedBackAt.getTime() : null, configVersion },
      );
      try {
        created.push(await this.rt.outbox.create(this.store.notifications, notification, [event]));
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // created by an earlier attempt; its delivery is re-queued below
      }
      if (channel === ALL_CHANNELS) continue; // no channel, no endpoints
      await this.delivery.enqueue({
        eventType: 'notification',
        sourceEventId: id,
        occurredAt: cause.occurredAt,
        channel,
        data: { notificationId: id, ...message, expectedBackAt },
      });
    }
    return created;
  }
}
