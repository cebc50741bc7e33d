import type { HttpApi } from '@omnimall/service-kit';
import type { Retention } from '../application/retention';
import { callerOf, refusals, type Guards } from './access';
import * as S from './schemas';

/** Legal holds and retention. */
export function holdRoutes(api: HttpApi, retention: Retention, g: Guards): void {
  api.route({
    method: 'post',
    path: '/audit/holds',
    summary: 'Places a legal hold on a subject: no payload of a record naming it is pruned or erased until released',
    tags: ['retention'],
    auth: true,
    before: g.auditor,
    body: S.HoldBody,
    responses: {
      201: { description: 'the hold', schema: S.Json },
      400: { description: 'validation_failed' },
      409: { description: 'hold_exists' },
      ...refusals,
    },
    handler: async ({ body, res }) => ({
      status: 201,
      body: await retention.place({ kind: body.subjectKind, ref: body.subjectRef }, body.reason, callerOf(res).sub),
    }),
  });
  api.route({
    method: 'get',
    path: '/audit/holds',
    summary: 'Legal holds, newest first (released ones included)',
    tags: ['retention'],
    auth: true,
    before: g.auditor,
    responses: { 200: { description: 'the holds', schema: S.JsonList }, ...refusals },
    handler: async () => ({ body: await retention.list(500) }),
  });
  api.route({
    method: 'post',
    path: '/audit/holds/:id/release',
    summary: 'Releases a legal hold (pruning resumes at the next retention pass)',
    tags: ['retention'],
    auth: true,
    before: g.auditor,
    params: S.HoldParams,
    responses: {
      200: { description: 'the released hold', schema: S.Json },
      404: { description: 'hold_not_found' },
      409: { description: 'hold_released' },
      ...refusals,
    },
    handler: async ({ params, res }) => ({ body: await retention.release(params.id, callerOf(res).sub) }),
  });
  api.route({
    method: 'get',
    path: '/audit/retention',
    summary: 'Retention periods per kind of evidence (days)',
    tags: ['retention'],
    auth: true,
    before: g.auditor,
    responses: { 200: { description: 'days per kind', schema: S.Json }, ...refusals },
    handler: async () => ({ body: retention.policy() }),
  });
  api.route({
    method: 'post',
    path: '/audit/retention/prune',
    summary: 'Runs a retention pass now (admins): payloads past their period are dropped, hashes kept, held subjects spared',
    tags: ['retention'],
    auth: true,
    before: g.admin,
    responses: { 200: { description: 'what was pruned per kind', schema: S.Json }, ...refusals },
    handler: async () => ({ body: await retention.prune() }),
  });
}
