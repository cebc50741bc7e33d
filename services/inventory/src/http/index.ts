import { HttpApi, type ServiceAuth } from '@omnimall/service-kit';
import type { Configuration } from '../application/configuration';
import type { StockImports } from '../application/imports';
import type { StockQueries } from '../application/queries';
import type { ReservationService } from '../application/reservations';
import type { StockService } from '../application/stock';
import type { Guards } from './access';
import { importRoutes } from './imports';
import { locationRoutes } from './locations';
import { policyRoutes } from './policies';
import { reservationRoutes, type HoldLimits } from './reservations';
import { stockRoutes } from './stock';

export interface InventoryParts {
  stock: StockService;
  queries: StockQueries;
  configuration: Configuration;
  reservations: ReservationService;
  imports: StockImports;
  /** Who may call what (built once by the composition root; the import jobs check with it too). */
  guards: Guards;
  kickImports: () => void;
}

/** The inventory's HTTP API (validation and /openapi.json from the zod schemas in schemas.ts). */
export function inventoryApi(parts: InventoryParts, auth: Pick<ServiceAuth, 'verifier' | 'trust'>, limits: HoldLimits): HttpApi {
  const api = new HttpApi({
    title: 'omnimall inventory',
    version: '1.0.0',
    description:
      'Master stock per SKU and location, per-channel availability under each channel’s policy and its exceptions (every decision explained), reservations that can never oversell, the full history of every change, and global totals.',
  });
  const g = parts.guards;
  locationRoutes(api, parts.configuration, g);
  policyRoutes(api, parts.configuration, g);
  stockRoutes(api, parts.stock, parts.queries, g, auth);
  reservationRoutes(api, parts.reservations, g, auth, limits);
  importRoutes(api, parts.imports, g, parts.kickImports);
  return api;
}
