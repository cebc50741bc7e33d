/** Webhook endpoints a channel registers to receive its events (the signing secret is shown once). */
import { randomBytes, randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, type Principal } from '@omnimall/service-kit';
import type { DeliveryEventType } from '../domain/delivery';
import { WebhookDelivery } from '../delivery/webhook-delivery';
import type { EndpointDoc, Store } from '../store/models';
import { channelNotFound } from './channel-service';

export function endpointView(e: EndpointDoc): Record<string, unknown> {
  return { id: e._id, channel: e.channel, url: e.url, events: e.events, active: e.active, createdAt: e.createdAt };
}

export class EndpointService {
  constructor(
    private readonly store: Store,
    /** Called after an endpoint is added or deactivated (the delivery's endpoint cache refreshes). */
    private readonly changed: () => void = () => undefined,
  ) {}

  async register(
    channel: string,
    url: string,
    events: DeliveryEventType[],
    by: Principal,
  ): Promise<{ endpoint: EndpointDoc; secret: string }> {
    WebhookDelivery.validateUrl(url);
    const ch = await this.store.channels.findById(channel, { state: 1 }).lean();
    if (!ch) throw channelNotFound(channel);
    if (ch.state === 'retired')
      throw new ConflictError('channel_retired', `channel ${channel} is retired`, 'retired channels receive no deliveries');
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const endpoint = (
      await this.store.endpoints.create({
        _id: `wh_${randomUUID()}`,
        channel,
        url,
        events: [...new Set(events)],
        secret,
        active: true,
        createdAt: new Date(),
        createdBy: by.sub,
      })
    ).toObject();
    this.changed();
    return { endpoint, secret };
  }

  list(channel: string): Promise<EndpointDoc[]> {
    return this.store.endpoints.find({ channel }).sort({ createdAt: 1 }).lean();
  }

  async deactivate(channel: string, id: string): Promise<void> {
    const res = await this.store.endpoints.updateOne({ _id: id, channel }, { $set: { active: false } });
    this.changed();
    if (!res.matchedCount)
      throw new NotFoundError('endpoint_not_found', `channel ${channel} has no endpoint ${id}`, 'GET /channels/{code}/webhooks lists them');
  }
}
