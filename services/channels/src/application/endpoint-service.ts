/** Webhook endpoints a channel registers to receive its events (the signing secret is shown once). */
import { randomBytes, randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, type Principal } from '@omnimall/service-kit';
import { validateWebhookUrl, type DeliveryEventType, type DeliveryStatus, type Endpoint } from '../domain/delivery';
import type { ChannelRepository, DeliveryListing, DeliveryRepository, EndpointRepository } from '../store';
import { channelNotFound } from './channel-service';

export function endpointView(e: Endpoint): Record<string, unknown> {
  return { id: e._id, channel: e.channel, url: e.url, events: e.events, active: e.active, createdAt: e.createdAt };
}

export class EndpointService {
  constructor(
    private readonly store: { channels: ChannelRepository; endpoints: EndpointRepository; deliveries: DeliveryRepository },
    /** Called after an endpoint is added or deactivated (the delivery's endpoint cache refreshes). */
    private readonly changed: () => void = () => undefined,
  ) {}

  async register(
    channel: string,
    url: string,
    events: DeliveryEventType[],
    by: Principal,
  ): Promise<{ endpoint: Endpoint; secret: string }> {
    validateWebhookUrl(url);
    const state = await this.store.channels.stateOf(channel);
    if (!state) throw channelNotFound(channel);
    if (state === 'retired')
      throw new ConflictError('channel_retired', `channel ${channel} is retired`, 'retired channels receive no deliveries');
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const endpoint = await this.store.endpoints.create({
      _id: `wh_${randomUUID()}`,
      channel,
      url,
      events: [...new Set(events)],
      secret,
      active: true,
      createdAt: new Date(),
      createdBy: by.sub,
    });
    this.changed();
    return { endpoint, secret };
  }

  list(channel: string): Promise<Endpoint[]> {
    return this.store.endpoints.listFor(channel);
  }

  async deactivate(channel: string, id: string): Promise<void> {
    const found = await this.store.endpoints.deactivate(channel, id);
    this.changed();
    if (!found)
      throw new NotFoundError('endpoint_not_found', `channel ${channel} has no endpoint ${id}`, 'GET /channels/{code}/webhooks lists them');
  }

  /** A channel's deliveries (without bodies), newest first, at most 500. */
  deliveriesOf(channel: string, status?: DeliveryStatus): Promise<DeliveryListing[]> {
    return this.store.deliveries.listFor(channel, status);
  }
}
