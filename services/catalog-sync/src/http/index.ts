import { HttpApi, type TokenVerifier } from '@omnimall/service-kit';
import type { BulkJobWorker } from '../application/bulk-jobs';
import type { Catalog } from '../application/catalog';
import { guards } from './access';
import { registerAssignmentRoutes } from './assignments';
import { registerBulkRoutes } from './bulk';
import { registerItemRoutes } from './items';
import { registerProductRoutes } from './products';
import { registerRateRoutes } from './rates';
import { registerRuleRoutes } from './rules';

/**
 * The HTTP API. Sellers maintain their master products, assign them to channels and price them;
 * channel managers see and curate only their channels' local catalogues (the channel scope of @omnimall/contracts);
 * admins do everything, including the rate table. Tokens are identity's, verified locally.
 */
export function buildApi(c: Catalog, verifier: TokenVerifier, jobs: Pick<BulkJobWorker, 'kick'>): HttpApi {
  const api = new HttpApi({
    title: 'omnimall catalog-sync',
    version: '1.0.0',
    description: 'Master and local catalogues, assignment, sync rules, conflicts, normalisation evidence, restrictions, traceability.',
  });
  const g = guards(verifier, c.products);
  registerProductRoutes(api, c, g);
  registerAssignmentRoutes(api, c, g);
  registerBulkRoutes(api, c, g, jobs);
  registerItemRoutes(api, c, g);
  registerRuleRoutes(api, c, g);
  registerRateRoutes(api, c, g);
  return api;
}
