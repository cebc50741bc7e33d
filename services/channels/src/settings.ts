/** The channels service's own settings, read from the environment (the platform's are the kit's PlatformConfig). */
import { DEFAULT_POLL_INTERVAL_MS } from './application/webhook-delivery';

export interface ChannelsSettings {
  /**
   * DELIVERY_POLL_INTERVAL_MS: how often the webhook delivery worker looks for due deliveries when
   * nothing new was queued (ms, default 1000). A queued delivery is tried at once regardless.
   */
  deliveryPollIntervalMs: number;
}

export function channelsSettings(env: NodeJS.ProcessEnv): ChannelsSettings {
  const raw = env.DELIVERY_POLL_INTERVAL_MS;
  const deliveryPollIntervalMs = raw === undefined || raw === '' ? DEFAULT_POLL_INTERVAL_MS : Number(raw);
  if (!Number.isInteger(deliveryPollIntervalMs) || deliveryPollIntervalMs <= 0)
    throw new Error(`DELIVERY_POLL_INTERVAL_MS must be a positive number of milliseconds, not "${raw}"`);
  return { deliveryPollIntervalMs };
}
