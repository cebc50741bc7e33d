import type { HttpApi } from '@omnimall/service-kit';
import type { Catalog } from '../application/catalog';
import { addRate } from '../application/rules';
import { ok, type Guards } from './access';
import * as S from './schemas';

/** The routes of rates: the versioned exchange-rate table (admins add; anyone reads). */
export function registerRateRoutes(api: HttpApi, c: Catalog, g: Guards): void {
  api
    .route({
      method: 'post',
      path: '/rates',
      summary: 'Add an exchange rate to the versioned table (admin)',
      tags: ['normalisation'],
      auth: true,
      before: g.admin,
      body: S.RateBody,
      responses: { 201: { description: 'added', schema: S.Json } },
      handler: async ({ body }) => ({ status: 201, body: await addRate(c, body) }),
    })
    .route({
      method: 'get',
      path: '/rates',
      summary: 'The versioned rate table',
      tags: ['normalisation'],
      responses: ok('rates'),
      handler: async () => ({ body: { entries: await c.rates.table() } }),
    });
}
