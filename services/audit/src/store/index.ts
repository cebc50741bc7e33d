import type { ServiceRuntime } from '@omnimall/service-kit';
import { MongoCursors, type CursorRepository } from './cursors';
import { MongoErasures, type ErasureRepository } from './erasures';
import { MongoCheckpoints, MongoHolds, MongoKeys, type CheckpointRepository, type HoldRepository, type KeyRepository } from './checkpoints';
import { MongoLog, type LogRepository } from './evidence';
import { MongoIncidents, type IncidentRepository } from './incidents';
import { MongoReports, type ReportRepository } from './reports';

export type { CheckpointRepository, Hold, HoldRepository, KeyRecord, KeyRepository, StoredCheckpoint } from './checkpoints';
export type { CursorRepository } from './cursors';
export type { ErasureRepository } from './erasures';
export type { Head, LogRepository, Position, StoredEvidence, TrailQuery } from './evidence';
export type { Delivery, IncidentRepository, WebhookSubscription } from './incidents';
export type { ReportRepository, StoredReport } from './reports';

/** The audit database, one repository per aggregate: the evidence log, checkpoints, signing keys, legal holds. */
export interface AuditStore {
  log: LogRepository;
  checkpoints: CheckpointRepository;
  keys: KeyRepository;
  holds: HoldRepository;
  incidents: IncidentRepository;
  reports: ReportRepository;
  cursors: CursorRepository;
  erasures: ErasureRepository;
}

export async function createStore(runtime: Pick<ServiceRuntime, 'db'>): Promise<AuditStore> {
  return {
    log: await MongoLog.create(runtime.db),
    checkpoints: await MongoCheckpoints.create(runtime.db),
    keys: MongoKeys.of(runtime.db),
    holds: MongoHolds.of(runtime.db),
    incidents: await MongoIncidents.create(runtime.db),
    reports: await MongoReports.create(runtime.db),
    cursors: MongoCursors.of(runtime.db),
    erasures: MongoErasures.of(runtime.db),
  };
}
