import { principalOf, type HttpApi } from '@omnimall/service-kit';
import { codeUsage, type CodeService } from '../application/codes';
import { actorOf, refusals, type Guards } from './access';
import * as S from './usage-schemas';

/** Discount codes (admins): create for a promotion (given or generated), read their use, deactivate. */
export function codeRoutes(api: HttpApi, codes: CodeService, g: Guards): void {
  api
    .route({
      method: 'post',
      path: '/promotions/:id/codes',
      summary: 'Create discount codes for a promotion (given, or `generate: { count, prefix }`), with their limits',
      tags: ['codes'],
      auth: true,
      before: g.admin,
      params: S.PromotionParams,
      body: S.CodesBody,
      responses: {
        201: { description: 'the codes created (a retry returns those it made before)', schema: S.JsonList },
        ...refusals,
        400: { description: 'validation_failed, invalid_code, invalid_limit, invalid_codes' },
        404: { description: 'promotion_not_found' },
        409: { description: 'code_exists: some codes exist for another promotion or limits (details.codes); the rest were made' },
      },
      handler: async ({ params, body, res }) => {
        const made = await codes.create({
          promotionId: params.id,
          codes: body.codes,
          generate: body.generate,
          limits: body.limits,
          actor: actorOf(principalOf(res)),
        });
        return { status: 201, body: made.map(codeUsage) };
      },
    })
    .route({
      method: 'get',
      path: '/codes/:code',
      summary: 'A code, its limits and its use (used, held, remaining)',
      tags: ['codes'],
      auth: true,
      before: g.admin,
      params: S.CodeParams,
      responses: {
        200: { description: 'the code', schema: S.Json },
        ...refusals,
        400: { description: 'invalid_code' },
        404: { description: 'code_not_found' },
      },
      handler: async ({ params }) => ({ body: codeUsage(await codes.get(params.code)) }),
    })
    .route({
      method: 'patch',
      path: '/codes/:code',
      summary: 'Deactivate (or reactivate) a code: an inactive code refuses new holds',
      tags: ['codes'],
      auth: true,
      before: g.admin,
      params: S.CodeParams,
      body: S.CodePatch,
      responses: {
        200: { description: 'the code', schema: S.Json },
        ...refusals,
        400: { description: 'invalid_code' },
        404: { description: 'code_not_found' },
      },
      handler: async ({ params, body }) => ({ body: codeUsage(await codes.setActive(params.code, body.active)) }),
    });
}
