/**
 * sync.notice (from sync-monitor) → a propagation delay or recovery as stored notifications for
 * admins or a channel's customers, published on channels.notification and delivered to the
 * channel's endpoints. A notice this service cannot place (unknown channel, no customers known) is
 * skipped with a log line rather than retried: retrying would not make the channel exist.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { NotificationService } from '../application/notification-service';

export function syncNoticeHandler(notifications: NotificationService) {
  return async (ev: TopicValues['sync.notice'], ctx: EventContext): Promise<void> => {
    ctx.channel = ev.channel;
    const { created, skipped } = await notifications.onSyncNotice(ev);
    if (skipped) {
      ctx.logger.warn('sync notice skipped', {
        noticeId: ev.noticeId,
        kind: ev.kind,
        audience: ev.audience,
        channel: ev.channel,
        reason: skipped,
      });
      return ctx.skip();
    }
    if (!created.length) return ctx.skip(); // stored by an earlier delivery of this notice
    ctx.logger.info('sync notice stored', { noticeId: ev.noticeId, kind: ev.kind, audience: ev.audience, notifications: created.length });
  };
}
