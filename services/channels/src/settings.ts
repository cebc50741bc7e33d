/**
 * The channels service's own settings, read from the environment (the platform's are the kit's
 * PlatformConfig). A bad value stops the start with the setting's name.
 *
 * The delivery key (DELIVERY_SECRET_KEY) encrypts the secret parts of stored deliveries. It is
 * required outside local mode; with OMNIMALL_LOCAL=true and no setting, the key is read from
 * `$OMNIMALL_DATA/channels/delivery-secret.key` (default `<repo>/.local-data`, git-ignored), written
 * there once with fresh random bytes when absent, so every local process and restart shares one key
 * (a key per process would leave every stored box unreadable after a restart).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_POLL_INTERVAL_MS } from './application/webhook-delivery';
import { DELIVERY_KEY_BYTES, parseDeliveryKey } from './domain/sealed';
import { webhookPolicyFromEnv } from '@omnimall/service-kit/http/webhook-target';
import { STRICT_CHANNEL_WEBHOOK_POLICY, type ChannelWebhookPolicy } from './domain/endpoint-limit';

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
  webhooks: ChannelWebhookPolicy;
  /** DELIVERY_SECRET_KEY: 32 bytes (hex or base64) sealing the secret parts of stored deliveries (see above). */
  deliveryKey: Buffer;
  retention: RetentionSettings;
}

/** How long records are kept before the pruning worker removes them (FerretDB 1.24 has no TTL indexes). */
export interface RetentionSettings {
  /** Ended deliveries (delivered or failed) older than this: DELIVERY_RETENTION_DAYS, default 30. */
  deliveryMs: number;
  /** Stored notifications older than this: NOTIFICATION_RETENTION_DAYS, default 30. */
  notificationMs: number;
  /** How often the pruning worker runs: PRUNE_INTERVAL_MINUTES, default 10. */
  pruneIntervalMs: number;
}

export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, unit: string): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive number of ${unit}, not "${raw}"`);
  return value;
}

/** A positive (possibly fractional) number from the environment, or the default. */
function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}

/** Where local mode keeps the delivery key: $OMNIMALL_DATA, else the repository's .local-data. */
export function localDeliveryKeyFile(env: NodeJS.ProcessEnv): string {
  // this file is services/channels/{src,dist}/: three levels below the repository
  const data = env.OMNIMALL_DATA ?? join(resolve(__dirname, '..', '..', '..'), '.local-data');
  return join(data, 'channels', 'delivery-secret.key');
}

function localDeliveryKey(env: NodeJS.ProcessEnv): Buffer {
  const file = localDeliveryKeyFile(env);
  try {
    return parseDeliveryKey(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true });
  try {
    // 'wx': of two processes starting at once, one writes and both read the same key
    writeFileSync(file, randomBytes(DELIVERY_KEY_BYTES).toString('base64'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return parseDeliveryKey(readFileSync(file, 'utf8'), file);
}

export function deliveryKeyFromEnv(env: NodeJS.ProcessEnv): Buffer {
  const raw = env.DELIVERY_SECRET_KEY;
  if (raw?.trim()) return parseDeliveryKey(raw, 'DELIVERY_SECRET_KEY');
  if (env.OMNIMALL_LOCAL === 'true') return localDeliveryKey(env);
  throw new Error(
    'DELIVERY_SECRET_KEY must be set (32 random bytes, hex or base64: it encrypts password-reset tokens in stored deliveries); only OMNIMALL_LOCAL=true runs without it',
  );
}

export function retentionFromEnv(env: NodeJS.ProcessEnv): RetentionSettings {
  return {
    deliveryMs: positiveNumber(env, 'DELIVERY_RETENTION_DAYS', DEFAULT_RETENTION_DAYS) * DAY_MS,
    notificationMs: positiveNumber(env, 'NOTIFICATION_RETENTION_DAYS', DEFAULT_RETENTION_DAYS) * DAY_MS,
    pruneIntervalMs: Math.max(10, Math.round(positiveNumber(env, 'PRUNE_INTERVAL_MINUTES', 10) * 60_000)),
  };
}

export function channelsSettings(env: NodeJS.ProcessEnv): ChannelsSettings {
  return {
    deliveryPollIntervalMs: positiveInt(env, 'DELIVERY_POLL_INTERVAL_MS', DEFAULT_POLL_INTERVAL_MS, 'milliseconds'),
    webhooks: {
      ...webhookPolicyFromEnv(env),
      maxEndpointsPerChannel: positiveInt(
        env,
        'WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL',
        STRICT_CHANNEL_WEBHOOK_POLICY.maxEndpointsPerChannel,
        'endpoints',
      ),
    },
    deliveryKey: deliveryKeyFromEnv(env),
    retention: retentionFromEnv(env),
  };
}
