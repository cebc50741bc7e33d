/**
 * sync.notice (from sync-monitor) → a propagation delay or recovery as stored notifications for
 * admins or a channel's customers, published on channels.notification and delivered to the
 * channel's endpoints. A notice this service cannot place (unknown channel, no customers known) is
 * skipped with a log line rather than retried: retrying would not make the channel exist.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { Handler } from '../ports';

export interface SyncNoticeNotifier {
  /** `created`: the notifications stored now (empty when an earlier delivery stored them); `skipped`: why none can be. */
  onSyncNotice(ev: TopicValues['sync.notice']): Promise<{ created: readonly unknown[]; skipped?: string }>;
}

export function syncNoticeHandler(notifications: SyncNoticeNotifier): Handler<'sync.notice'> {
  return async (ev, ctx) => {
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
