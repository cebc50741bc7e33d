/**
 * Turns a channel entering maintenance or sunset, or getting its commerce blocked, and the
 * sync-monitor's delay and recovery notices, into stored notifications (with their
 * channels.notification events) and deliveries to the channel's endpoints. Maintenance and sunset
 * notices go to the customers active on the channel and the sellers listed on it (projections of
 * cart.cart-changed and catalog.local-item).
 * A password reset (identity.password-reset) becomes one notification to that customer on the
 * channel the request came from; its token goes only into the webhook delivery to that channel's
 * endpoints, never into the stored notification, the channels.notification event or a log.
 * A promotion's start (cart.promotion-notice) becomes, per channel named, the message to the
 * customers to be told there, when the channel is active.
 * Ids derive from the causing event (or notice, or reset request), so a replay creates nothing twice.
 */
import type { TopicValues } from '@omnimall/contracts';
import { overridesOf } from '../domain/channel';
import type { DeliverableEvent } from '../domain/delivery';
import {
  ALL_CHANNELS,
  buildNotifications,
  buildPasswordResetNotification,
  buildPromotionStartedNotifications,
  buildSyncNoticeNotifications,
  SYNC_NOTICE_AUDIENCES,
  SYNC_NOTICE_KINDS,
  type Notification,
  type NotificationDraft,
  type NotificationKind,
} from '../domain/notifications';
import { notificationCreated } from '../events/out/channels.notification';
import type { ChannelCustomerRepository, ChannelRepository, NotificationRepository, SellerListingRepository } from '../store';
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

/** What notifications are read from and written to. */
export interface NotificationStores {
  channels: ChannelRepository;
  channelCustomers: ChannelCustomerRepository;
  sellerListings: SellerListingRepository;
  notifications: NotificationRepository;
}

export class NotificationService {
  constructor(
    private readonly store: NotificationStores,
    private readonly config: ConfigStore,
    private readonly delivery: { enqueue(ev: DeliverableEvent): Promise<number> },
  ) {}

  /** A channel's notifications, newest first (at most 500). */
  listFor(channel: string): Promise<Notification[]> {
    return this.store.notifications.listFor(channel);
  }

  async onChannelChanged(ev: TopicValues['channels.channel-changed']): Promise<Notification[]> {
    const kind = notificationKindOf(ev);
    if (!kind) return [];
    const [overrides, cfg, customers, sellers] = await Promise.all([
      this.store.channels.overridesListOf(ev.code),
      this.config.current(),
      kind === 'commerce_blocked' ? [] : this.store.channelCustomers.customersOf(ev.code),
      kind === 'commerce_blocked' ? [] : this.store.sellerListings.listedSellers(ev.code),
    ]);
    const drafts = buildNotifications(
      {
        code: ev.code,
        name: ev.name,
        languages: ev.languages,
        overrides: overrides ? overridesOf({ overrides }) : {},
        expectedBackAt: ev.expectedBackAt ? new Date(ev.expectedBackAt) : null,
        blockReasons: ev.blockReasons,
      },
      kind,
      cfg,
      customers,
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
   * A sync-monitor notice: to every admin (no channel), or to the admins or customers of one channel
   * (`recipientIds`, or else every customer known to be active there). Ids derive from the noticeId,
   * so the same notice published again creates nothing new (`created` is then empty). `skipped` says
   * why a notice cannot be placed.
   */
  async onSyncNotice(ev: TopicValues['sync.notice']): Promise<{ created: Notification[]; skipped?: string }> {
    const kind = SYNC_NOTICE_KINDS.find((k) => k === ev.kind);
    const audience = SYNC_NOTICE_AUDIENCES.find((a) => a === ev.audience);
    if (!kind || !audience) return { created: [], skipped: `unknown kind ${ev.kind} or audience ${ev.audience}` };
    if (ev.channel === null && audience === 'customer') return { created: [], skipped: 'a customer notice without a channel' };
    const languages = ev.channel === null ? null : await this.store.channels.languagesOf(ev.channel);
    if (ev.channel !== null && !languages) return { created: [], skipped: `unknown channel ${ev.channel}` };
    let customers: string[] = [];
    if (audience === 'customer' && ev.recipientIds.length) customers = [...new Set(ev.recipientIds)];
    else if (audience === 'customer' && ev.channel !== null) customers = await this.store.channelCustomers.customersOf(ev.channel);
    if (audience === 'customer' && customers.length === 0) return { created: [], skipped: `no known customers on channel ${ev.channel}` };
    const drafts = buildSyncNoticeNotifications({ kind, audience, subject: ev.subject, message: ev.message }, languages ?? [], customers);
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
   * A password reset: one notification to that customer on the requesting channel, delivered to the
   * channel's endpoints with the token, email and expiry added to the delivery only. Ids derive from
   * the requestId, so a replay creates and delivers nothing twice. `skipped` says why it cannot be.
   */
  async onPasswordReset(ev: TopicValues['identity.password-reset']): Promise<{ created: Notification[]; skipped?: string }> {
    if (ev.channel === null) return { created: [], skipped: 'no channel to deliver through' };
    if (!(await this.store.channels.languagesOf(ev.channel))) return { created: [], skipped: `unknown channel ${ev.channel}` };
    const expiresAt = new Date(ev.expiresAt);
    const created = await this.save(
      [buildPasswordResetNotification(ev.customerId, expiresAt)],
      {
        idBase: `pwr_${ev.requestId}`,
        channel: ev.channel,
        causeEventId: ev.envelope.eventId,
        occurredAt: ev.envelope.occurredAt,
        correlationId: ev.envelope.correlationId,
        expectedBackAt: null,
        configVersion: (await this.config.current()).version,
      },
      {
        passwordReset: {
          requestId: ev.requestId,
          customerId: ev.customerId,
          email: ev.email,
          token: ev.token,
          expiresAt: expiresAt.toISOString(),
        },
      },
    );
    return { created };
  }

  /**
   * A promotion's start told to the customers cart names, grouped by the channel named for each:
   * per channel, one message per language to its customers, when the channel is active (any other
   * state, or an unknown channel, gets nothing, as a customer without a channel). Ids derive from
   * the promotion version, batch and channel, so the same notice published again creates nothing new.
   * `skipped` lists why some customers get nothing.
   */
  async onPromotionNotice(ev: TopicValues['cart.promotion-notice']): Promise<{ created: Notification[]; skipped: string[] }> {
    const byChannel = new Map<string, Set<string>>();
    const skipped: string[] = [];
    const unplaced = ev.customers.filter((c) => c.channel === null).length;
    if (unplaced) skipped.push(`${unplaced} customer(s) without a channel`);
    for (const { customerId, channel } of ev.customers) {
      if (channel !== null) byChannel.set(channel, (byChannel.get(channel) ?? new Set()).add(customerId));
    }
    const created: Notification[] = [];
    for (const [channel, customers] of byChannel) {
      const [state, languages] = await Promise.all([this.store.channels.stateOf(channel), this.store.channels.languagesOf(channel)]);
      if (state !== 'active' || !languages) {
        skipped.push(`channel ${channel} is ${state ?? 'unknown'}`);
        continue;
      }
      const drafts = buildPromotionStartedNotifications({ name: ev.name, endsAt: ev.endsAt }, languages, [...customers].sort());
      created.push(
        ...(await this.save(drafts, {
          idBase: `promo_${ev.promotionId}_${ev.version}_${ev.batch}_${channel}`,
          channel,
          causeEventId: ev.envelope.eventId,
          occurredAt: ev.envelope.occurredAt,
          correlationId: ev.envelope.correlationId,
          expectedBackAt: null,
          configVersion: (await this.config.current()).version,
        })),
      );
    }
    return { created, skipped };
  }

  /**
   * Stores each draft with its channels.notification event (one outbox write) and queues its delivery
   * to the channel's endpoints. A draft stored by an earlier attempt is not stored again, but its
   * delivery is queued again (idempotent), in case that attempt stopped in between. `deliveryOnly`
   * is added to the delivered data alone: neither stored with the notification nor published, and
   * in the delivery only sealed (encrypted at rest, dropped when the delivery ends).
   */
  private async save(drafts: NotificationDraft[], cause: Cause, deliveryOnly?: Record<string, unknown>): Promise<Notification[]> {
    const created: Notification[] = [];
    const { channel, expectedBackAt, configVersion } = cause;
    for (const d of drafts) {
      const id = `ntf_${cause.idBase}_${d.part}`;
      const { part: _part, ...message } = d;
      void _part;
      const notification: Notification = {
        _id: id,
        channel,
        ...message,
        expectedBackAt,
        configVersion,
        causeEventId: cause.causeEventId,
        createdAt: new Date(),
      };
      const stored = await this.store.notifications.create(notification, [notificationCreated(notification, cause.correlationId)]);
      if (stored) created.push(stored); // else created by an earlier attempt; its delivery is re-queued below
      if (channel === ALL_CHANNELS) continue; // no channel, no endpoints
      await this.delivery.enqueue({
        eventType: 'notification',
        sourceEventId: id,
        occurredAt: cause.occurredAt,
        channel,
        data: { notificationId: id, ...message, expectedBackAt },
        sealedData: deliveryOnly,
        subjects: message.audience === 'customer' ? message.recipientIds : [],
      });
    }
    return created;
  }
}
