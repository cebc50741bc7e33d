/**
 * The monitor's own settings, from the environment (a test's deps override each one). Numbers that
 * are unset or not numbers take their defaults.
 */
import { catalogue } from '@omnimall/contracts';
import type { SweepOptions } from './application/sweep';

export interface MonitorSettings extends SweepOptions {
  /** SYNC_SWEEP_INTERVAL_MS: how often the SLA sweep runs. */
  sweepIntervalMs: number;
  /** CONSUMER_LAG_INTERVAL_MS: how often consumer-group lag is measured. */
  consumerLagIntervalMs: number;
  /**
   * SYNC_TRACK_CORRELATION_PREFIX: track only events (and acks of events) whose correlation id starts
   * with it; unset or empty tracks everything. The e2e suite sets its run's tag.
   */
  trackCorrelationPrefix: string | undefined;
  /** SYNC_RAW_RETENTION_HOURS: how long a tracked event's original record (its payload) is kept. */
  rawRetentionHours: number;
  /** SYNC_EVENT_RETENTION_DAYS: how long a closed tracked event (and a status feed entry) is kept. */
  eventRetentionDays: number;
  /** SYNC_PRUNE_INTERVAL_MS: how often the retention pass runs. */
  pruneIntervalMs: number;
  /** SYNC_MEMORY_RETENTION_MS: how long a closed event stays in memory after its last change. */
  memoryRetentionMs: number;
  /** SYNC_MEMORY_MAX_EVENTS: events held in memory at most (open ones are never dropped). */
  memoryMaxEvents: number;
  /** SYNC_SNAPSHOT_INTERVAL_MS: how often a snapshot is taken (and offsets committed) while records arrive. */
  snapshotIntervalMs: number;
  /** SYNC_BULK_SLA_MS: the SLA of bulk work (records with `lane: bulk`); default its lane's, sync.applied.bulk's 600 s. */
  bulkSlaMs: number;
}

/** The SLA of bulk work's acks lane (`slaSeconds` of sync.applied.bulk): bulk work's default SLA, and how far its ack group may fall behind. */
export const BULK_LANE_SLA_MS = (catalogue.find((t) => t.name === 'sync.applied.bulk')?.slaSeconds ?? 600) * 1000;

const num = (v: string | undefined, d: number): number => (v && Number.isFinite(Number(v)) ? Number(v) : d);

/** The settings from `env`, with each override that is set taking its place. */
export function monitorSettings(env: NodeJS.ProcessEnv, overrides: Partial<MonitorSettings> = {}): MonitorSettings {
  const set = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return {
    maxRetries: num(env.SYNC_MAX_RETRIES, 3),
    retryIntervalMs: num(env.SYNC_RETRY_INTERVAL_MS, 2000),
    escalateAfterMs: num(env.ESCALATE_AFTER_MS, 30_000),
    fullScanEveryMs: num(env.SYNC_FULL_SCAN_EVERY_MS, 30_000),
    sweepIntervalMs: num(env.SYNC_SWEEP_INTERVAL_MS, 500),
    consumerLagIntervalMs: num(env.CONSUMER_LAG_INTERVAL_MS, 10_000),
    trackCorrelationPrefix: env.SYNC_TRACK_CORRELATION_PREFIX || undefined,
    rawRetentionHours: num(env.SYNC_RAW_RETENTION_HOURS, 24),
    eventRetentionDays: num(env.SYNC_EVENT_RETENTION_DAYS, 14),
    pruneIntervalMs: num(env.SYNC_PRUNE_INTERVAL_MS, 600_000),
    memoryRetentionMs: num(env.SYNC_MEMORY_RETENTION_MS, 900_000),
    memoryMaxEvents: num(env.SYNC_MEMORY_MAX_EVENTS, 200_000),
    snapshotIntervalMs: num(env.SYNC_SNAPSHOT_INTERVAL_MS, 5000),
    bulkSlaMs: num(env.SYNC_BULK_SLA_MS, BULK_LANE_SLA_MS),
    ...set,
  };
}
