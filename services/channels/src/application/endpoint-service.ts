/**
 * Webhook endpoints a channel registers to receive its events (the signing secret is shown once).
 * Registration checks the URL (https unless local mode), resolves its host and refuses one that is
 * or resolves to a non-public address (the delivery checks again at every attempt), and caps the
 * active endpoints per channel. Deactivation ends the endpoint's pending deliveries at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { assertTargetAllowed, ConflictError, NotFoundError, type Principal, type Resolver } from '@omnimall/service-kit';
import { validateWebhookUrl } from '@omnimall/service-kit/http/webhook-target';
import type { DeliveryEventType, DeliveryStatus, Endpoint } from '../domain/delivery';
import { endpointLimitReached, STRICT_CHANNEL_WEBHOOK_POLICY, type ChannelWebhookPolicy } from '../domain/endpoint-limit';
import type { ChannelRepository, DeliveryListing, DeliveryRepository, EndpointRepository } from '../store';
import { channelNotFound } from './channel-service';

/** What the delivery worker is told of endpoint changes. */
export interface EndpointHooks {
  /** An endpoint was added (the worker's endpoint cache refreshes). */
  added(): void;
  /** An endpoint was deactivated: nothing more goes to it, its pending deliveries end. */
  deactivated(endpointId: string): Promise<void>;
}

export function endpointView(e: Endpoint): Record<string, unknown> {
  return { id: e._id, channel: e.channel, url: e.url, events: e.events, active: e.active, createdAt: e.createdAt };
}

export class EndpointService {
  constructor(
    private readonly store: { channels: ChannelRepository; endpoints: EndpointRepository; deliveries: DeliveryRepository },
    private readonly hooks: EndpointHooks,
    private readonly policy: ChannelWebhookPolicy = STRICT_CHANNEL_WEBHOOK_POLICY,
    private readonly resolve?: Resolver,
  ) {}

  async register(
    channel: string,
    url: string,
    events: DeliveryEventType[],
    by: Principal,
  ): Promise<{ endpoint: Endpoint; secret: string }> {
    const target = validateWebhookUrl(url, this.policy);
    const state = await this.store.channels.stateOf(channel);
    if (!state) throw channelNotFound(channel);
    if (state === 'retired')
      throw new ConflictError('channel_retired', `channel ${channel} is retired`, 'retired channels receive no deliveries');
    await assertTargetAllowed(target, this.policy.allowPrivate, this.resolve);
    // A check, then the insert: two concurrent registrations may pass it together and end one over
    // the cap; the cap bounds a channel's fan-out, one more endpoint does no harm.
    if ((await this.store.endpoints.countActive(channel)) >= this.policy.maxEndpointsPerChannel)
      throw endpointLimitReached(channel, this.policy.maxEndpointsPerChannel);
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
    this.hooks.added();
    return { endpoint, secret };
  }

  list(channel: string): Promise<Endpoint[]> {
    return this.store.endpoints.listFor(channel);
  }

  async deactivate(channel: string, id: string): Promise<void> {
    const found = await this.store.endpoints.deactivate(channel, id);
    if (!found)
      throw new NotFoundError('endpoint_not_found', `channel ${channel} has no endpoint ${id}`, 'GET /channels/{code}/webhooks lists them');
    await this.hooks.deactivated(id);
  }

  /** A channel's deliveries (without bodies), newest first, at most 500. */
  deliveriesOf(channel: string, status?: DeliveryStatus): Promise<DeliveryListing[]> {
    return this.store.deliveries.listFor(channel, status);
  }
}
