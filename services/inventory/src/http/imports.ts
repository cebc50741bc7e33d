import { JobProgressSchema, principalOf, z, type HttpApi } from '@omnimall/service-kit';
import { importView, IMPORT_MAX_LINES, type StockImports } from '../application/imports';
import { refusals, type Guards } from './access';
import * as S from './schemas';

/**
 * Bulk import of a stock file (CSV or JSON lines) as a background job with progress, in its own shape
 * or as the platform's JobProgress view (`GET /jobs/:id`). Only its submitter and admins read a job.
 */
export function importRoutes(api: HttpApi, imports: StockImports, g: Guards, kick: () => void): void {
  api
    .route({
      method: 'post',
      path: '/imports',
      summary: `Import a stock file (on-hand quantity per SKU and location; at most ${IMPORT_MAX_LINES} lines), as a job`,
      tags: ['stock'],
      auth: true,
      before: g.stockWriter,
      body: S.ImportBody,
      responses: {
        202: {
          description: 'queued; `Location` names the job (lines that could not be read are already in its errors)',
          schema: S.Json,
          headers: { Location: { description: 'the job', schema: { type: 'string' } } },
        },
        ...refusals,
        400: { description: 'validation_failed, invalid_stock_file (no usable header), stock_file_too_large' },
      },
      handler: async ({ body, res }) => {
        const p = principalOf(res);
        const job = await imports.submit(body.content, body.format, p);
        kick();
        return { status: 202, headers: { location: `/imports/${job.id}` }, body: importView(job) };
      },
    })
    .route({
      method: 'get',
      path: '/imports/:id',
      summary: 'An import job’s progress: state, lines done and failed of total, the errors by line',
      tags: ['stock'],
      auth: true,
      before: g.stockWriter,
      params: z.object({ id: z.string().uuid() }),
      responses: { 200: { description: 'the job', schema: S.Json }, ...refusals, 404: { description: 'import_not_found' } },
      handler: async ({ params, res }) => ({ body: importView(await imports.get(params.id, principalOf(res))) }),
    })
    .route({
      method: 'get',
      path: '/jobs/:id',
      summary: 'An import job as the platform’s job progress view: state, lines done of total, rate, ETA, errors, its resource',
      tags: ['stock'],
      auth: true,
      before: g.stockWriter,
      params: z.object({ id: z.string().min(1).max(200) }),
      responses: {
        200: { description: 'the job’s progress', schema: JobProgressSchema },
        ...refusals,
        404: { description: 'job_not_found: no stock import job with this id' },
      },
      handler: async ({ params, res }) => ({ body: await imports.progress(params.id, principalOf(res)) }),
    });
}
