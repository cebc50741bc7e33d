import type { Response } from 'express';
import { principalOf, type HttpApi, type Principal } from '@omnimall/service-kit';
import { ForbiddenError, ValidationError } from '@omnimall/service-kit/errors';
import type { DefinitionService } from '../application/definitions';
import type { PromotionInput, PromotionRecord } from '../domain/promotions';
import { actorOf, corr, refusals, type Guards } from './access';
import * as S from './schemas';

/** What a promotion shows: its definition, override rules, lifecycle, overrides and readiness. */
export const promotionView = (r: PromotionRecord) => ({
  ...r.definition,
  overridable: r.overridable,
  status: r.status,
  version: r.version,
  overrides: r.overrides,
  readiness: r.readiness,
  exhausted: r.exhausted,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  updatedBy: r.updatedBy,
  updatedAt: r.updatedAt,
});

/** Staff other than channel managers read every promotion; a channel manager those for every channel or one of theirs. */
export function touches(p: Pick<Principal, 'roles' | 'channels'>, r: PromotionRecord): boolean {
  if (p.roles.some((role) => role !== 'channel_manager')) return true;
  return r.definition.channels === null || r.definition.channels.some((c) => p.channels.includes(c));
}

const readable = (res: Response, r: PromotionRecord): PromotionRecord => {
  if (!touches(principalOf(res), r))
    throw new ForbiddenError(
      'channel_out_of_scope',
      `promotion ${r.id} touches none of your channels`,
      'ask an admin to add its channels to your scope',
    );
  return r;
};

const versionOf = (header: string | undefined): number => {
  const v = Number(header?.replace(/^W\//, '').replace(/"/g, ''));
  if (header === undefined || !Number.isInteger(v) || v < 1)
    throw new ValidationError(
      'if_match_required',
      'an edit names the version it was made on',
      'send If-Match: <version> (from GET /promotions/{id})',
    );
  return v;
};

/** Promotions: admins write, staff read (channel managers: those touching their channels). */
export function promotionRoutes(api: HttpApi, definitions: DefinitionService, g: Guards): void {
  const withEtag = (r: PromotionRecord, status = 200) => ({ status, headers: { etag: `"${r.version}"` }, body: promotionView(r) });
  const etag = { ETag: { description: 'the promotion’s version', schema: { type: 'string' as const } } };
  api
    .route({
      method: 'post',
      path: '/promotions',
      summary: 'Define a promotion (a draft until scheduled)',
      tags: ['promotions'],
      auth: true,
      before: g.admin,
      body: S.PromotionBody,
      responses: {
        201: {
          description: 'the draft',
          schema: S.Json,
          headers: { ...etag, Location: { description: 'the promotion', schema: { type: 'string' } } },
        },
        ...refusals,
        400: { description: 'validation_failed; rule_not_evaluable (details.problems: path, code, hint)' },
      },
      handler: async ({ body, res }) => {
        const r = await definitions.create(body as PromotionInput, actorOf(principalOf(res)), { correlationId: corr(res) });
        const reply = withEtag(r, 201);
        return { ...reply, headers: { ...reply.headers, location: `/promotions/${r.id}` } };
      },
    })
    .route({
      method: 'get',
      path: '/promotions',
      summary: 'Promotions, newest first, by status and channel (a channel matches promotions for every channel too)',
      tags: ['promotions'],
      auth: true,
      before: g.staff,
      query: S.ListQuery,
      responses: { 200: { description: 'the promotions the caller may read', schema: S.Json }, ...refusals },
      handler: async ({ query, res }) => {
        const p = principalOf(res);
        const list = await definitions.list(query);
        return { body: { promotions: list.filter((r) => touches(p, r)).map(promotionView) } };
      },
    })
    .route({
      method: 'get',
      path: '/promotions/:id',
      summary: 'A promotion',
      tags: ['promotions'],
      auth: true,
      before: g.staff,
      params: S.PromotionId,
      responses: {
        200: { description: 'the promotion', schema: S.Json, headers: etag },
        ...refusals,
        404: { description: 'promotion_not_found' },
      },
      handler: async ({ params, res }) => withEtag(readable(res, await definitions.get(params.id))),
    })
    .route({
      method: 'put',
      path: '/promotions/:id',
      summary: 'Replace a promotion’s definition (If-Match: version); a scheduled or live one is republished, a live one announced changed',
      tags: ['promotions'],
      auth: true,
      before: g.admin,
      params: S.PromotionId,
      query: S.ScheduleQuery,
      headers: S.IfMatch,
      body: S.PromotionBody,
      responses: {
        200: { description: 'the new version', schema: S.Json, headers: etag },
        ...refusals,
        400: { description: 'validation_failed, if_match_required, rule_not_evaluable, starts_in_past (a live promotion’s start)' },
        404: { description: 'promotion_not_found' },
        409: { description: 'promotion_closed (ended or withdrawn), lead_time_too_short (a scheduled start moved closer than the lead)' },
        412: { description: 'version_mismatch (details.version: the current one)' },
      },
      handler: async ({ params, query, body, req, res }) =>
        withEtag(
          await definitions.update(
            params.id,
            body as PromotionInput,
            { expectedVersion: versionOf(req.header('if-match')), startNow: query.startNow === 'true' },
            actorOf(principalOf(res)),
            { correlationId: corr(res) },
          ),
        ),
    })
    .route({
      method: 'post',
      path: '/promotions/:id/schedule',
      summary: 'draft → scheduled: the definition is distributed now, at least PROMOTIONS_LEAD_MS before the start (idempotent)',
      tags: ['promotions'],
      auth: true,
      before: g.admin,
      params: S.PromotionId,
      query: S.ScheduleQuery,
      responses: {
        200: { description: 'the scheduled (or already scheduled or live) promotion', schema: S.Json, headers: etag },
        ...refusals,
        404: { description: 'promotion_not_found' },
        409: { description: 'lead_time_too_short (send startNow=true to accept), promotion_over, promotion_closed' },
      },
      handler: async ({ params, query, res }) =>
        withEtag(await definitions.schedule(params.id, query.startNow === 'true', actorOf(principalOf(res)), { correlationId: corr(res) })),
    })
    .route({
      method: 'delete',
      path: '/promotions/:id',
      summary: 'Withdraw a promotion: channels drop it (idempotent)',
      tags: ['promotions'],
      auth: true,
      before: g.admin,
      params: S.PromotionId,
      responses: {
        200: { description: 'the withdrawn promotion', schema: S.Json, headers: etag },
        ...refusals,
        404: { description: 'promotion_not_found' },
      },
      handler: async ({ params, res }) =>
        withEtag(await definitions.withdraw(params.id, actorOf(principalOf(res)), { correlationId: corr(res) })),
    })
    .route({
      method: 'get',
      path: '/promotions/:id/readiness',
      summary: 'Per-channel readiness of the current version: acknowledged, missing or error (with the reason)',
      tags: ['promotions'],
      auth: true,
      before: g.staff,
      params: S.PromotionId,
      responses: {
        200: { description: 'readiness per targeted channel', schema: S.Json },
        ...refusals,
        404: { description: 'promotion_not_found' },
      },
      handler: async ({ params, res }) => {
        const r = readable(res, await definitions.get(params.id));
        return { body: { promotionId: r.id, version: r.version, status: r.status, channels: r.readiness } };
      },
    });
}
