/** Remediation of one event by an admin: retry now, reconcile, open a support case (each recorded on the event). */
import { principalOf, z, type HttpApi } from '@omnimall/service-kit';
import type { ApiDeps, Guards } from './deps';
import { EventIdParams, EventView, Note, view } from './schemas';

export function remediationRoutes(api: HttpApi, d: ApiDeps, { admin }: Guards): void {
  api.route({
    method: 'post',
    path: '/propagation/events/:eventId/retry',
    summary: 'Retry now: re-deliver the event to every lagging consumer group',
    tags: ['remediation'],
    auth: true,
    before: admin,
    params: EventIdParams,
    body: z.object({ note: z.string().max(2000).optional() }),
    responses: { 200: { description: 'The event after the retry', schema: EventView } },
    handler: async ({ params, body, res }) => ({
      body: view(await d.remediation.retryNow(params.eventId, principalOf(res).sub, body.note ?? null)),
    }),
  });

  api.route({
    method: 'post',
    path: '/propagation/events/:eventId/reconcile',
    summary: 'Mark the event manually reconciled, with a note (closes its escalation)',
    tags: ['remediation'],
    auth: true,
    before: admin,
    params: EventIdParams,
    body: Note,
    responses: { 200: { description: 'The event', schema: EventView }, 409: { description: 'Already complete or reconciled' } },
    handler: async ({ params, body, res }) => ({
      body: view(await d.remediation.reconcile(params.eventId, principalOf(res).sub, body.note)),
    }),
  });

  api.route({
    method: 'post',
    path: '/propagation/events/:eventId/support-case',
    summary: 'Open a support case about the event',
    tags: ['remediation'],
    auth: true,
    before: admin,
    params: EventIdParams,
    body: Note,
    responses: { 201: { description: 'The case', schema: z.object({ caseId: z.string(), event: EventView }) } },
    handler: async ({ params, body, res }) => {
      const r = await d.remediation.openSupportCase(params.eventId, principalOf(res).sub, body.note);
      return { status: 201, body: { caseId: r.caseId, event: view(r.tracking) } };
    },
  });
}
