/** What the route files need: the flows they call and the guards of who may call each route. */
import type { requireAuth, TokenVerifier } from '@omnimall/service-kit';
import type { ConsumerLag } from '../application/consumer-lag';
import type { JobBoard } from '../application/jobs';
import type { MonitorQueries } from '../application/queries';
import type { Remediation } from '../application/remediation';

export interface ApiDeps {
  verifier: TokenVerifier;
  queries: MonitorQueries;
  remediation: Remediation;
  lag: ConsumerLag;
  jobs: Pick<JobBoard, 'list'>;
}

/** Who may call a route: `admin` (staff with the admin role) or any `staff`. */
export interface Guards {
  admin: ReturnType<typeof requireAuth>[];
  staff: ReturnType<typeof requireAuth>[];
}
