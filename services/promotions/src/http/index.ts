import { HttpApi, type ServiceAuth } from '@omnimall/service-kit';
import type { DefinitionService } from '../application/definitions';
import type { OverrideService } from '../application/overrides';
import type { QuoteService } from '../application/quotes';
import type { CampaignService } from '../application/campaigns';
import type { CodeService } from '../application/codes';
import type { LoyaltyService } from '../application/loyalty';
import type { HoldService } from '../application/usage';
import type { Guards } from './access';
import { campaignRoutes } from './campaigns';
import { codeRoutes } from './codes';
import { holdRoutes, type HoldLimits } from './holds';
import { loyaltyRoutes } from './loyalty';
import { overrideRoutes } from './overrides';
import { promotionRoutes } from './promotions';
import { quoteRoutes } from './quotes';

/** What the routes act on (each helper adds its application services here). */
export interface PromotionsParts {
  /** Who may call what (built once by the composition root). */
  guards: Guards;
  definitions: DefinitionService;
  overrides: OverrideService;
  quotes: QuoteService;
  codes: CodeService;
  campaigns: CampaignService;
  holds: HoldService;
  loyalty: LoyaltyService;
  holdLimits: HoldLimits;
}

/** The promotions HTTP API (validation and /openapi.json from the zod schemas in schemas.ts). */
export function promotionsApi(parts: PromotionsParts, auth: Pick<ServiceAuth, 'verifier' | 'trust'>): HttpApi {
  const api = new HttpApi({
    title: 'omnimall promotions',
    version: '1.0.0',
    description:
      'Promotions and their per-channel overrides (every decision evidenced), definitions distributed ahead of their start with per-channel readiness, quotes, codes, campaign budgets, usage holds and the loyalty ledger.',
  });
  const g = parts.guards;
  promotionRoutes(api, parts.definitions, g);
  overrideRoutes(api, parts.overrides, parts.definitions, g);
  quoteRoutes(api, parts.quotes, auth);
  codeRoutes(api, parts.codes, g);
  campaignRoutes(api, parts.campaigns, g);
  holdRoutes(api, parts.holds, g, auth, parts.holdLimits);
  loyaltyRoutes(api, parts.loyalty, g);
  return api;
}
