/** A stored notification as its channels.notification event (one per notification, version 1). */
import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import { ALL_CHANNELS, type Notification } from '../../domain/notifications';

export function notificationCreated(n: Notification, correlationId: string): OutgoingEvent<'channels.notification'> {
  return newEvent(
    'channels.notification',
    {
      type: `notification.${n.kind}`,
      producer: 'channels',
      aggregateId: n._id,
      aggregateVersion: 1,
      correlationId,
      sourceChannel: n.channel === ALL_CHANNELS ? null : n.channel,
    },
    {
      notificationId: n._id,
      channel: n.channel,
      kind: n.kind,
      audience: n.audience,
      language: n.language,
      subject: n.subject,
      message: n.message,
      recipientIds: n.recipientIds,
      expectedBackAt: n.expectedBackAt ? n.expectedBackAt.getTime() : null,
      configVersion: n.configVersion,
    },
  );
}
