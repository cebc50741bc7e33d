/** The platform's long-running jobs (admins): what the services reported on platform.job-progress in the last hour. */
import { JobProgressSchema, z, type HttpApi } from '@omnimall/service-kit';
import type { ApiDeps, Guards } from './deps';

export function jobRoutes(api: HttpApi, d: ApiDeps, { admin }: Guards): void {
  api.route({
    method: 'get',
    path: '/jobs',
    summary: 'The jobs seen in the last hour (bulk syncs, stock imports, reports): running first, each with done/total, rate, ETA, errors',
    tags: ['jobs'],
    auth: true,
    before: admin,
    responses: {
      200: { description: 'the jobs, running first', schema: z.object({ at: z.number(), jobs: z.array(JobProgressSchema) }) },
      401: { description: 'no valid token' },
      403: { description: 'not an admin' },
    },
    handler: async () => ({ body: { at: Date.now(), jobs: d.jobs.list() } }),
  });
}
