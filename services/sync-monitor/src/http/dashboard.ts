/**
 * The admin dashboard: plain static files (public/: the page, its two scripts and its stylesheet; no
 * build step) served as pages, with the charting library (uPlot, MIT, its self-contained browser build served from
 * node_modules: nothing is fetched from elsewhere), and the one call that fetches everything the
 * page's tables show (admins only; the charts read the series routes).
 */
import { dirname, join } from 'node:path';
import { z, type HttpApi, type ServiceParts } from '@omnimall/service-kit';
import { groupIssues } from '../domain/issues';
import type { ApiDeps, Guards } from './deps';
import { channelView, view, Window } from './schemas';

/** Where the dashboard's static files are, from src/ (tests) and from dist/ alike. */
export const PUBLIC_DIR = join(__dirname, '..', '..', 'public');

/** The express app the kit builds (its own express types). */
type App = Parameters<NonNullable<ServiceParts<object>['extendHttp']>>[0];

/** The uPlot package's dist folder (it has no exports map: its files resolve by path). */
const UPLOT_DIST = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

const FILES: Record<string, string> = {
  '': join(PUBLIC_DIR, 'index.html'),
  'index.html': join(PUBLIC_DIR, 'index.html'),
  'app.js': join(PUBLIC_DIR, 'app.js'),
  'charts.js': join(PUBLIC_DIR, 'charts.js'),
  'style.css': join(PUBLIC_DIR, 'style.css'),
  'uPlot.iife.min.js': join(UPLOT_DIST, 'uPlot.iife.min.js'),
  'uPlot.min.css': join(UPLOT_DIST, 'uPlot.min.css'),
};

/** `/` redirects to the dashboard; `/dashboard/<file>` serves its files, never cached. */
export function dashboardPages(app: App): void {
  app.get('/', (_req, res) => res.redirect('/dashboard/'));
  app.get('/dashboard/:file?', (req, res, next) => {
    const file = FILES[req.params.file ?? ''];
    if (!file) return next();
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(file);
  });
}

export function dashboardRoutes(api: HttpApi, d: ApiDeps, { admin }: Guards): void {
  api.route({
    method: 'get',
    path: '/dashboard/summary',
    summary: 'Everything the admin dashboard shows, in one call',
    tags: ['dashboard'],
    auth: true,
    before: admin,
    query: z.object({ window: Window }),
    responses: { 200: { description: 'Summary', schema: z.record(z.string(), z.unknown()) } },
    handler: async ({ query }) => {
      const open = await d.queries.issues();
      return {
        body: {
          at: Date.now(),
          channels: (await d.queries.channels()).map(channelView),
          recentEvents: (await d.queries.recent(30)).map(view),
          percentiles: d.queries.windows.byType(query.window, Date.now()),
          window: query.window,
          issues: groupIssues(open),
          issueEvents: open.slice(0, 50).map(view),
          consumerLag: d.lag.latest().groups,
          tracking: d.queries.health(),
          jobs: d.jobs.list(),
        },
      };
    },
  });
}
