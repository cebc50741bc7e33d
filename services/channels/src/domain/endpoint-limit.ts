/**
 * The channels service's addition to the kit's webhook policy (where a webhook may point is the kit's,
 * '@omnimall/service-kit/http/webhook-target'): a cap on the active endpoints of one channel, which
 * bounds a channel's fan-out of deliveries.
 */
import { ConflictError } from '@omnimall/service-kit/errors';
import { STRICT_WEBHOOK_POLICY, type WebhookPolicy } from '@omnimall/service-kit/http/webhook-target';

/** The kit's policy and the cap (settings.ts reads both from the environment). */
export interface ChannelWebhookPolicy extends WebhookPolicy {
  /** At most this many active endpoints per channel. */
  maxEndpointsPerChannel: number;
}

/** The production policy: https only, public addresses only, 10 endpoints per channel. */
export const STRICT_CHANNEL_WEBHOOK_POLICY: ChannelWebhookPolicy = { ...STRICT_WEBHOOK_POLICY, maxEndpointsPerChannel: 10 };

/** The 409 when a channel already has as many active endpoints as it may. */
export function endpointLimitReached(channel: string, max: number): ConflictError {
  return new ConflictError(
    'webhook_endpoint_limit',
    `channel ${channel} already has ${max} active webhook endpoints`,
    'deactivate one (DELETE /channels/{code}/webhooks/{id}) or subscribe an existing endpoint to more events',
    { max },
  );
}
