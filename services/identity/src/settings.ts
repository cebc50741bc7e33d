import { DEFAULT_THROTTLE, type ThrottlePolicy } from './domain/login-throttle';
import { DEFAULT_SCRYPT, type ScryptParams } from './domain/passwords';
import { parseChannelDataRegions } from './domain/residency';

/** Identity's own settings (beyond the platform config): token lifetimes, throttling, hashing cost. */
export interface IdentitySettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlMs: number;
  throttle: ThrottlePolicy;
  scrypt: ScryptParams;
  /** Fallback data-residency rules for channels the channels service has not announced. */
  channelDataRegions: Record<string, string[]>;
  /** Salt of the digests kept as erasure evidence. */
  erasureSalt: string;
  bootstrapAdmin: { email: string; password: string } | null;
}

/** Identity's settings from the environment (tests override them through deps.settings). */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): IdentitySettings {
  const email = env.BOOTSTRAP_ADMIN_EMAIL?.trim();
  const password = env.BOOTSTRAP_ADMIN_PASSWORD;
  return {
    accessTokenTtlSeconds: Number(env.ACCESS_TOKEN_TTL_SECONDS ?? 900),
    refreshTokenTtlMs: Number(env.REFRESH_TOKEN_TTL_DAYS ?? 30) * 86_400_000,
    throttle: DEFAULT_THROTTLE,
    scrypt: DEFAULT_SCRYPT,
    channelDataRegions: parseChannelDataRegions(env.CHANNEL_DATA_REGIONS),
    erasureSalt: env.ERASURE_SALT ?? 'omnimall-identity-erasure',
    bootstrapAdmin: email && password ? { email, password } : null,
  };
}
