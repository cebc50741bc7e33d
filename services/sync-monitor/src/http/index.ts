/** The monitor's HTTP API, assembled from one route file per resource. */
import { HttpApi, requireAuth } from '@omnimall/service-kit';
import { channelRoutes } from './channels';
import { consumerLagRoutes } from './consumer-lag';
import { dashboardRoutes } from './dashboard';
import type { ApiDeps, Guards } from './deps';
import { jobRoutes } from './jobs';
import { propagationRoutes } from './propagation';
import { remediationRoutes } from './remediation';

export { dashboardPages, PUBLIC_DIR } from './dashboard';
export type { ApiDeps } from './deps';

export function buildApi(d: ApiDeps): HttpApi {
  const guards: Guards = {
    admin: [requireAuth(d.verifier, { kind: 'staff', roles: ['admin'] })],
    staff: [requireAuth(d.verifier, { kind: 'staff' })],
  };
  const api = new HttpApi({
    title: 'omnimall sync-monitor',
    version: '0.1.0',
    description: 'Propagation lag, SLA retries and escalations, consumer lag, channel status feeds, the platform’s running jobs.',
  });
  // Registration order is the order OpenAPI lists the paths in: kept as it was.
  propagationRoutes(api, d, guards);
  remediationRoutes(api, d, guards);
  consumerLagRoutes(api, d, guards);
  channelRoutes(api, d, guards);
  dashboardRoutes(api, d, guards);
  jobRoutes(api, d, guards);
  return api;
}
