import type { RequestHandler, Response } from 'express';
import { channelScopeRefusal } from '@omnimall/contracts';
import { ForbiddenError, principalOf, requireAuth, z, type Principal, type TokenVerifier } from '@omnimall/service-kit';
import type { ProductRepository } from '../store';
import * as S from './schemas';

/** Who may call what: the role guards every route names, and the checks routes make on the caller. */
export interface Guards {
  seller: RequestHandler[];
  manager: RequestHandler[];
  /** Sellers (their own products) and compliance officers (every product). */
  reader: RequestHandler[];
  admin: RequestHandler[];
  /** Sellers read only their own products; admins and compliance officers read any. */
  ownerOrOfficer(res: Response, productId: string): Promise<void>;
}

export function guards(verifier: TokenVerifier, products: Pick<ProductRepository, 'header'>): Guards {
  return {
    seller: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'seller'] })],
    manager: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'channel_manager'] })],
    reader: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'seller', 'compliance_officer'] })],
    admin: [requireAuth(verifier, { kind: 'staff', roles: ['admin'] })],
    async ownerOrOfficer(res, productId) {
      const p = principalOf(res);
      if (p.roles.includes('admin') || p.roles.includes('compliance_officer')) return;
      const product = await products.header(productId);
      if (product && product.sellerId !== p.sub)
        throw new ForbiddenError(
          'not_product_owner',
          `product ${productId} belongs to another seller`,
          'sellers see only their own products',
        );
    },
  };
}

/** The request's correlation id (carried by the events the change causes). */
export const corr = (res: Response): string => String(res.locals.correlationId);

/** The caller, once it is known to manage channel `code` (channel managers see only their channels; admins all). */
export function scoped(res: Response, code: string): Principal {
  const p = principalOf(res);
  const refusal = channelScopeRefusal(p, code);
  if (refusal) throw new ForbiddenError(...refusal);
  return p;
}

export const Code = z.object({ code: S.ChannelCode });
export const CodeSku = z.object({ code: S.ChannelCode, sku: S.Sku });
export const ok = (description: string) => ({ 200: { description, schema: S.Json } });
