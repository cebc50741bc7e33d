import express from 'express';
import { DEFAULT_THROTTLE, type ThrottlePolicy } from './domain/login-throttle';
import { DEFAULT_SCRYPT, type ScryptParams } from './domain/passwords';
import { parseChannelDataRegions } from './domain/residency';

/** At most `points` requests per address in `durationSeconds` (registration, password-reset requests). */
export interface AddressLimit {
  points: number;
  durationSeconds: number;
}

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
  /**
   * Which proxies' X-Forwarded-For is believed for the client address (throttling, rate limits):
   * a hop count, or express's list of addresses, CIDRs and names (`loopback`, `uniquelocal`...).
   */
  trustProxy: number | string;
  /** Registrations per client address. */
  registerLimit: AddressLimit;
  /** Password-reset requests per client address. */
  resetRequestLimit: AddressLimit;
  /** How long a password-reset token stays valid. */
  passwordResetTtlMs: number;
  /** How long a device token (POST /devices) is valid: DEVICE_TOKEN_TTL_DAYS, 30. */
  deviceTokenTtlSeconds: number;
  /** How long records are kept before the pruning worker removes them (FerretDB has no TTL indexes). */
  retention: RetentionSettings;
}

/**
 * Retention of what identity keeps only for a while. Login-attempt and rate-limit counters go when
 * their window ends, reset records when they expire; the rest are kept for the days set here.
 */
export interface RetentionSettings {
  /** Days a session (with its address) is kept after it expired or was closed: SESSION_RETENTION_DAYS, 30. */
  sessionDays: number;
  /** Days a merge record keeps the source's snapshot: MERGE_SNAPSHOT_RETENTION_DAYS, 90. */
  mergeSnapshotDays: number;
  /** How often the pruning worker runs: PRUNE_INTERVAL_MINUTES, 10. */
  pruneIntervalMs: number;
}

/** A non-negative number from the environment, or the default; anything else stops the start with the setting's name. */
function numberSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} "${raw}" is not a non-negative number`);
  return value;
}

export function retentionFromEnv(env: NodeJS.ProcessEnv): RetentionSettings {
  return {
    sessionDays: numberSetting(env, 'SESSION_RETENTION_DAYS', 30),
    mergeSnapshotDays: numberSetting(env, 'MERGE_SNAPSHOT_RETENTION_DAYS', 90),
    pruneIntervalMs: Math.max(1, numberSetting(env, 'PRUNE_INTERVAL_MINUTES', 10)) * 60_000,
  };
}

/**
 * TRUST_PROXY: unset → `loopback` (a proxy on this host); digits → that many proxy hops; otherwise a
 * comma-separated list of addresses, CIDRs or express's names, checked here with express's own
 * parser so a typo stops the start with the setting's name instead of failing later.
 */
export function parseTrustProxy(raw: string | undefined): number | string {
  const value = raw?.trim();
  if (!value) return 'loopback';
  if (/^\d+$/.test(value)) return Number(value);
  try {
    express().set('trust proxy', value);
  } catch (err) {
    throw new Error(`TRUST_PROXY "${value}" is neither a hop count nor a list of addresses/CIDRs: ${(err as Error).message}`);
  }
  return value;
}

/**
 * ERASURE_SALT salts the digests kept as erasure evidence; a public default would let anyone confirm
 * an erased e-mail by hashing guesses, so outside local mode (OMNIMALL_LOCAL=true) it is required.
 */
export function erasureSaltFrom(env: NodeJS.ProcessEnv): string {
  const salt = env.ERASURE_SALT?.trim();
  if (salt) return salt;
  if (env.OMNIMALL_LOCAL === 'true') return 'omnimall-identity-erasure-local';
  throw new Error('ERASURE_SALT must be set (a secret salt for erasure evidence digests); only OMNIMALL_LOCAL=true runs without it');
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
    erasureSalt: erasureSaltFrom(env),
    bootstrapAdmin: email && password ? { email, password } : null,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    registerLimit: { points: Number(env.REGISTER_LIMIT_PER_HOUR ?? 100), durationSeconds: 3600 },
    resetRequestLimit: { points: Number(env.PASSWORD_RESET_LIMIT_PER_HOUR ?? 10), durationSeconds: 3600 },
    passwordResetTtlMs: Number(env.PASSWORD_RESET_TTL_MINUTES ?? 30) * 60_000,
    deviceTokenTtlSeconds: Math.round(numberSetting(env, 'DEVICE_TOKEN_TTL_DAYS', 30) * 86_400),
    retention: retentionFromEnv(env),
  };
}
