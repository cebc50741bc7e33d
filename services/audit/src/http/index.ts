import { HttpApi } from '@omnimall/service-kit';
import type { AuditLog } from '../application/log';
import type { Retention } from '../application/retention';
import type { Trails } from '../application/trails';
import type { Guards } from './access';
import { evidenceRoutes } from './evidence';
import { holdRoutes } from './holds';

export interface AuditParts {
  guards: Guards;
  trails: Trails;
  log: AuditLog;
  retention: Retention;
  /** More resources (reports, the incident feed) add their routes here. */
  extra?: Array<(api: HttpApi) => void>;
}

/** The audit HTTP API (validation and /openapi.json from the zod schemas in schemas.ts). */
export function auditApi(parts: AuditParts): HttpApi {
  const api = new HttpApi({
    title: 'omnimall audit',
    version: '1.0.0',
    description:
      'Tamper-evident evidence of every record on every topic: trails by subject, channel, time and kind; RFC 6962 inclusion and consistency proofs; Ed25519-signed checkpoints; verification; legal holds and retention; reconciled reports; the per-channel incident feed.',
  });
  evidenceRoutes(api, parts.trails, parts.log, parts.guards);
  holdRoutes(api, parts.retention, parts.guards);
  for (const add of parts.extra ?? []) add(api);
  return api;
}
