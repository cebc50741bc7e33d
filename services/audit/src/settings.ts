import { positiveIntEnv } from '@omnimall/service-kit';
import { webhookPolicyFromEnv, type WebhookPolicy } from '@omnimall/service-kit/http/webhook-target';
import { EVIDENCE_KINDS, type EvidenceKind } from './domain/records';

/** The audit service's own settings, read from the environment (defaults in brackets). */
export interface AuditSettings {
  /** AUDIT_SIGNING_KEY: the Ed25519 private key (PKCS#8 PEM) checkpoints are signed with; unset: one generated and kept in the audit database (development). */
  signingKey: string | null;
  /** AUDIT_CHECKPOINT_RECORDS [1000]: a checkpoint at least every this many records. */
  checkpointRecords: number;
  /** AUDIT_CHECKPOINT_MS [10000]: and at least this often while records arrive. */
  checkpointMs: number;
  /** AUDIT_RETENTION_DAYS [365]: how long payloads are kept by default. */
  retentionDays: number;
  /**
   * AUDIT_RETENTION_<KIND>_DAYS: per kind of evidence (e.g. AUDIT_RETENTION_ACK_DAYS=30,
   * AUDIT_RETENTION_POLICY_DAYS=2555); defaults: acks 30 days, errors and policy 7 years, others AUDIT_RETENTION_DAYS.
   */
  retentionByKind: Record<EvidenceKind, number>;
  /** AUDIT_PRUNE_MS [3600000]: how often the retention pass runs. */
  pruneMs: number;
  /** AUDIT_VERIFY_MAX [200000]: the most records one POST /audit/verify reads (ask for a range beyond it). */
  verifyMax: number;
  /**
   * Where incident-feed webhooks may point, read as the channels service reads it: https only and
   * public addresses only, unless WEBHOOK_ALLOW_HTTP=true (plain http, local mode) and
   * WEBHOOK_ALLOW_PRIVATE (comma-separated CIDRs or addresses accepted although not public, e.g.
   * 127.0.0.1/32 for local test receivers).
   */
  webhooks: WebhookPolicy;
}

const SEVEN_YEARS = 7 * 365;
const DEFAULT_DAYS: Partial<Record<EvidenceKind, number>> = {
  ack: 30,
  retry: 90,
  policy: SEVEN_YEARS,
  collision: SEVEN_YEARS,
  compensation: SEVEN_YEARS,
  dead_letter: SEVEN_YEARS,
  escalation: SEVEN_YEARS,
  undecodable: SEVEN_YEARS,
  checkpoint: SEVEN_YEARS,
};

export function auditSettings(env: NodeJS.ProcessEnv): AuditSettings {
  const retentionDays = positiveIntEnv(env, 'AUDIT_RETENTION_DAYS', 365);
  const retentionByKind = Object.fromEntries(
    EVIDENCE_KINDS.map((k) => [k, positiveIntEnv(env, `AUDIT_RETENTION_${k.toUpperCase()}_DAYS`, DEFAULT_DAYS[k] ?? retentionDays)]),
  ) as Record<EvidenceKind, number>;
  return {
    signingKey: env.AUDIT_SIGNING_KEY || null,
    checkpointRecords: positiveIntEnv(env, 'AUDIT_CHECKPOINT_RECORDS', 1000),
    checkpointMs: positiveIntEnv(env, 'AUDIT_CHECKPOINT_MS', 10_000),
    retentionDays,
    retentionByKind,
    pruneMs: positiveIntEnv(env, 'AUDIT_PRUNE_MS', 3_600_000),
    verifyMax: positiveIntEnv(env, 'AUDIT_VERIFY_MAX', 200_000),
    webhooks: webhookPolicyFromEnv(env),
  };
}
