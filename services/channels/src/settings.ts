/** The channels service's own settings, read from the environment (the platform's are the kit's PlatformConfig). */
import { DEFAULT_POLL_INTERVAL_MS } from './application/webhook-delivery';
import { parseAllowList, STRICT_WEBHOOK_POLICY, type WebhookPolicy } from './domain/webhook-target';

export interface ChannelsSettings {
  /**
   * DELIVERY_POLL_INTERVAL_MS: how often the webhook delivery worker looks for due deliveries when
   * nothing new was queued (ms, default 1000). A queued delivery is tried at once regardless.
   */
  deliveryPollIntervalMs: number;
  /**
   * Where webhooks may point. Production defaults: https only, public addresses only, 10 active
   * endpoints per channel. WEBHOOK_ALLOW_HTTP=true accepts plain http (local mode),
   * WEBHOOK_ALLOW_PRIVATE a comma-separated list of CIDRs or addresses accepted although not public
   * (e.g. 127.0.0.1/32 for local test receivers), WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL the cap.
   */
  webhooks: WebhookPolicy;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, unit: string): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive number of ${unit}, not "${raw}"`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new Error(`${name} must be true or false, not "${env[name]}"`);
}

export function channelsSettings(env: NodeJS.ProcessEnv): ChannelsSettings {
  return {
    deliveryPollIntervalMs: positiveInt(env, 'DELIVERY_POLL_INTERVAL_MS', DEFAULT_POLL_INTERVAL_MS, 'milliseconds'),
    webhooks: {
      allowHttp: flag(env, 'WEBHOOK_ALLOW_HTTP'),
      allowPrivate: parseAllowList(env.WEBHOOK_ALLOW_PRIVATE),
      maxEndpointsPerChannel: positiveInt(
        env,
        'WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL',
        STRICT_WEBHOOK_POLICY.maxEndpointsPerChannel,
        'endpoints',
      ),
    },
  };
}
