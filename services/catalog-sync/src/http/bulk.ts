import { JobProgressSchema, principalOf, z, type HttpApi } from '@omnimall/service-kit';
import { BULK_MAX_PAIRS, jobProgressView, jobView, submitBulkJob, type BulkJobWorker } from '../application/bulk-jobs';
import type { Catalog } from '../application/catalog';
import type { Guards } from './access';
import * as S from './schemas';

/**
 * The routes of bulk sync: a seller (or an admin) assigns many products to several channels at once
 * as a background job (202 with the job's `Location`), and follows its progress, in its own shape or
 * as the platform's JobProgress view (`GET /jobs/:id`). Only the job's submitter and admins read a job.
 */
export function registerBulkRoutes(api: HttpApi, c: Catalog, g: Guards, jobs: Pick<BulkJobWorker, 'kick'>): void {
  api
    .route({
      method: 'post',
      path: '/bulk-sync',
      summary: `Assign many products to several channels at once, as a job (at most ${BULK_MAX_PAIRS} channel × product pairs)`,
      tags: ['assignment'],
      auth: true,
      before: g.seller,
      body: S.BulkBody,
      responses: {
        202: {
          description: 'queued; the `Location` header names the job (GET it for progress)',
          schema: S.BulkJobView,
        },
        401: { description: 'no valid token' },
        403: { description: 'not a seller or admin, or a product of another seller (`not_product_owner`)' },
        404: { description: 'an unknown channel or product' },
        413: { description: '`bulk_too_large`: more channel × product pairs than one request takes (split it)' },
      },
      handler: async ({ body, res }) => {
        const job = await submitBulkJob(c, principalOf(res), body);
        jobs.kick();
        const location = `/bulk-sync/jobs/${job._id}`;
        return { status: 202, headers: { location }, body: await jobView(c, principalOf(res), job._id) };
      },
    })
    .route({
      method: 'get',
      path: '/bulk-sync/jobs/:id',
      summary: 'Progress of a bulk sync job: state, products done of total, listings, refusals and failures',
      tags: ['assignment'],
      auth: true,
      before: g.seller,
      params: z.object({ id: z.string().uuid() }),
      responses: {
        200: { description: 'the job', schema: S.BulkJobView },
        401: { description: 'no valid token' },
        403: { description: 'not a seller or admin, or another seller’s job (`not_job_owner`)' },
        404: { description: 'no such job (finished jobs are kept for a day)' },
      },
      handler: async ({ params, res }) => ({ body: await jobView(c, principalOf(res), params.id) }),
    })
    .route({
      method: 'get',
      path: '/jobs/:id',
      summary: 'A bulk sync job as the platform’s job progress view: state, done of total, rate, ETA, errors, its resource',
      tags: ['assignment'],
      auth: true,
      before: g.seller,
      params: z.object({ id: z.string().min(1).max(200) }),
      responses: {
        200: { description: 'the job’s progress', schema: JobProgressSchema },
        401: { description: 'no valid token' },
        403: { description: 'not a seller or admin, or another seller’s job (`not_job_owner`)' },
        404: { description: '`job_not_found`: no bulk sync job with this id (finished jobs are kept for a day)' },
      },
      handler: async ({ params, res }) => ({ body: await jobProgressView(c, principalOf(res), params.id) }),
    });
}
