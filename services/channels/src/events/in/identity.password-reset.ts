/**
 * identity.password-reset (from identity) → one notification to that customer on the channel the
 * request came from, delivered with the single-use token to that channel's webhook endpoints.
 * The token is a secret: nothing here logs it (the log lines name the request, never the event).
 * A request without a channel or for an unknown channel is skipped with a log line rather than
 * retried: retrying would not make a channel to deliver through.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { Handler } from '../ports';

export interface PasswordResetNotifier {
  /** `created`: the notifications stored now (empty when an earlier delivery stored them); `skipped`: why none can be. */
  onPasswordReset(ev: TopicValues['identity.password-reset']): Promise<{ created: readonly unknown[]; skipped?: string }>;
}

export function passwordResetHandler(notifications: PasswordResetNotifier): Handler<'identity.password-reset'> {
  return async (ev, ctx) => {
    ctx.channel = ev.channel;
    const { created, skipped } = await notifications.onPasswordReset(ev);
    if (skipped) {
      ctx.logger.warn('password reset not delivered', { requestId: ev.requestId, channel: ev.channel, reason: skipped });
      return ctx.skip();
    }
    if (!created.length) return ctx.skip(); // stored by an earlier delivery of this request
    ctx.logger.info('password reset queued for delivery', { requestId: ev.requestId, channel: ev.channel });
  };
}
