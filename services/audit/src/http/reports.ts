import { actsOnChannel } from '@omnimall/contracts';
import { JobProgressSchema, z, type HttpApi, type Principal } from '@omnimall/service-kit';
import { ConflictError, ForbiddenError } from '@omnimall/service-kit/errors';
import type { Reports } from '../application/reports';
import type { TopicRow } from '../domain/reconcile';
import type { StoredReport } from '../store/reports';
import { callerOf, isAuditor, refusals, type Guards } from './access';
import * as S from './schemas';

/** Auditors report on any channels; a channel manager only on channels of their scope, named. */
function assertReportScope(p: Principal, channels: readonly string[]): void {
  if (isAuditor(p)) return;
  const outside = channels.filter((c) => !actsOnChannel(p, c));
  if (!channels.length || outside.length)
    throw new ForbiddenError(
      'channel_out_of_scope',
      'a channel manager reports on channels of their own scope only',
      'name one or more of your channels in `channels`',
      { scope: [...p.channels], outside },
    );
}

function done(r: StoredReport): Required<Pick<StoredReport, 'report' | 'signature'>> {
  if (r.status !== 'done' || !r.report || !r.signature)
    throw new ConflictError(
      'report_not_ready',
      r.status === 'failed' ? `report ${r.id} failed: ${r.error ?? 'unknown error'}` : `report ${r.id} is still being made`,
      r.status === 'failed' ? 'ask for a new report' : 'poll GET /audit/reports/:id until status is done',
      { status: r.status, progress: r.progress },
    );
  return { report: r.report, signature: r.signature };
}

const notReady = { 409: { description: 'report_not_ready (still running, or failed)' } };
const missing = { 404: { description: 'report_not_found' } };

/** Asking for a reconciled report, its status and document, and its progress as a job (`GET /jobs/:id`). */
export function reportRoutes(api: HttpApi, reports: Reports, g: Guards): void {
  const load = async (id: string, p: Principal): Promise<StoredReport> => {
    const r = await reports.get(id);
    assertReportScope(p, r.request.channels);
    return r;
  };
  api.route({
    method: 'post',
    path: '/audit/reports',
    summary:
      'Asks for a reconciled report of a period (≤ 31 days): per topic, records expected by Kafka’s offsets vs recorded, every difference classified; control totals; checkpoints with their consistency proof; signed',
    tags: ['reports'],
    auth: true,
    before: g.staff,
    body: S.ReportBody,
    responses: {
      202: { description: 'the report id and status running; poll GET /audit/reports/:id', schema: S.Json },
      400: { description: 'validation_failed, bad_period, topic_not_read' },
      422: { description: 'period_too_long (more days or records than one report covers), period_in_future' },
      ...refusals,
    },
    handler: async ({ body, res }) => {
      const caller = callerOf(res);
      assertReportScope(caller, body.channels);
      const r = await reports.generate({ ...body, requestedBy: caller.sub });
      res.setHeader('Location', `/audit/reports/${r.id}`);
      return { status: 202, body: { id: r.id, status: r.status, progress: r.progress, request: r.request } };
    },
  });
  api.route({
    method: 'get',
    path: '/audit/reports/:id',
    summary: 'A report’s status and progress; once done, the signed report document (JSON) and its signature',
    tags: ['reports'],
    auth: true,
    before: g.staff,
    params: S.ReportParams,
    responses: {
      200: { description: 'status (running, done, failed), progress, and the report once done', schema: S.Json },
      ...missing,
      ...refusals,
    },
    handler: async ({ params, res }) => ({ body: await load(params.id, callerOf(res)) }),
  });
  api.route({
    method: 'get',
    path: '/jobs/:id',
    summary:
      'A report being made (or made) as the platform’s job progress view: state, records done of those Kafka’s offsets expect, rate, ETA, errors, its resource',
    tags: ['reports'],
    auth: true,
    before: g.staff,
    params: z.object({ id: z.string().min(1).max(200) }),
    responses: {
      200: { description: 'the job’s progress', schema: JobProgressSchema },
      404: { description: 'job_not_found: no report with this id' },
      ...refusals,
    },
    handler: async ({ params, res }) => {
      const r = await reports.job(params.id);
      // who may read the job: who may read the report (auditors, a channel manager for reports on their channels)
      assertReportScope(callerOf(res), r.request.channels);
      return { body: reports.jobProgress(r) };
    },
  });
  reportExportRoutes(api, load, g);
}

/** The report as CSV and as an HTML summary, and how to verify its signature. */
function reportExportRoutes(api: HttpApi, load: (id: string, p: Principal) => Promise<StoredReport>, g: Guards): void {
  api.route({
    method: 'get',
    path: '/audit/reports/:id/csv',
    summary: 'The report as CSV: one row per topic, then one per difference',
    tags: ['reports'],
    auth: true,
    before: g.staff,
    params: S.ReportParams,
    responses: { 200: { description: 'text/csv', contentType: 'text/csv', schema: z.string() }, ...missing, ...notReady, ...refusals },
    handler: async ({ params, res }) => {
      const r = await load(params.id, callerOf(res));
      const { report } = done(r);
      res.setHeader('Content-Disposition', `attachment; filename="${r.id}.csv"`);
      res.type('text/csv').send(reportCsv(report as unknown as ReportDoc));
      return undefined;
    },
  });
  api.route({
    method: 'get',
    path: '/audit/reports/:id/html',
    summary: 'A readable summary: period, ok or the unexplained count, per-topic table, differences, control totals, checkpoints',
    tags: ['reports'],
    auth: true,
    before: g.staff,
    params: S.ReportParams,
    responses: { 200: { description: 'text/html', contentType: 'text/html', schema: z.string() }, ...missing, ...notReady, ...refusals },
    handler: async ({ params, res }) => {
      const { report, signature } = done(await load(params.id, callerOf(res)));
      res.type('text/html').send(reportHtml(report as unknown as ReportDoc, signature.keyId));
      return undefined;
    },
  });
  api.route({
    method: 'get',
    path: '/audit/reports/:id/signature',
    summary: 'The report’s Ed25519 signature, its key id, and how to verify it',
    tags: ['reports'],
    auth: true,
    before: g.staff,
    params: S.ReportParams,
    responses: {
      200: { description: 'key id, signature (base64) and the verification steps', schema: S.Json },
      ...missing,
      ...notReady,
      ...refusals,
    },
    handler: async ({ params, res }) => {
      const { signature } = done(await load(params.id, callerOf(res)));
      return {
        body: {
          reportId: params.id,
          ...signature,
          signed: 'the RFC 8785 canonical JSON (UTF-8 bytes) of the `report` field of GET /audit/reports/:id',
          publicKeys: '/audit/keys',
          verify: [
            'GET /audit/reports/:id and take its `report` field',
            'canonicalize it per RFC 8785 (canonicalBytes of @omnimall/evidence)',
            'take the public key with this keyId from GET /audit/keys (SPKI PEM)',
            "crypto.verify(null, bytes, publicKeyPem, Buffer.from(signature, 'base64')) must be true",
          ],
        },
      };
    },
  });
}

// ---- rendering ----

type TopicRowDoc = Omit<TopicRow, 'partitions'>;
interface DifferenceDoc {
  class: string;
  topic: string;
  partition: number;
  offset: string;
  explained: boolean;
  explanation: string;
  eventId?: string;
  channel?: string | null;
}
interface ReportDoc {
  id: string;
  period: { from: string; to: string };
  channels: string[];
  generatedAt: string;
  requestedBy: string;
  topics: TopicRowDoc[];
  differences: DifferenceDoc[];
  differencesUnlisted: number;
  controlTotals: {
    orders: Array<{ channel: string; currency: string; orders: number; totalMinor: number; lineDiscountMinor: number }>;
    promotionDiscounts: {
      source: string;
      byUsage: Array<{ channel: string; committed: number; reverted: number; campaignAmountMinor: number; codesUsed: number }>;
    };
    loyalty: Array<{ channel: string; earned: number; redeemed: number; expired: number; reversed: number; adjusted: number }>;
  };
  checkpoints: {
    start: { treeSize: number; root: string; at: number } | null;
    end: { treeSize: number; root: string; at: number } | null;
    note: string;
  };
  unexplained: number;
  ok: boolean;
  method: string;
}

const COUNTS = ['expected', 'recorded', 'inFlight', 'deadLettered', 'retried', 'duplicates', 'late', 'unexplained'] as const;

/** One CSV field: quoted when it must be; text that a spreadsheet would take for a formula is prefixed with '. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportCsv(r: ReportDoc): string {
  const head = ['row', 'topic', 'partition', 'offset', 'class', 'explained', 'eventId', 'channel', ...COUNTS, 'explanation'];
  const rows: unknown[][] = [head];
  for (const t of r.topics) rows.push(['topic', t.topic, '', '', '', '', '', '', ...COUNTS.map((k) => t[k]), '']);
  for (const d of r.differences)
    rows.push([
      'difference',
      d.topic,
      d.partition,
      d.offset,
      d.class,
      d.explained,
      d.eventId ?? '',
      d.channel ?? '',
      ...COUNTS.map(() => ''),
      d.explanation,
    ]);
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const table = (head: readonly string[], rows: unknown[][]): string =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;

export function reportHtml(r: ReportDoc, keyId: string): string {
  const cp = (c: ReportDoc['checkpoints']['start']): string =>
    c ? `tree size ${c.treeSize}, root ${c.root}, at ${new Date(c.at).toISOString()}` : 'none';
  const t = r.controlTotals;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reconciled report ${esc(r.id)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:.2em .5em}.ok{color:#060}.bad{color:#b00}</style></head><body>
<h1>Reconciled report ${esc(r.id)}</h1>
<p>Period ${esc(r.period.from)} to ${esc(r.period.to)}; channels: ${esc(r.channels.length ? r.channels.join(', ') : 'all')}; generated ${esc(r.generatedAt)} for ${esc(r.requestedBy)}; signed with key ${esc(keyId)}.</p>
<p class="${r.ok ? 'ok' : 'bad'}"><strong>${r.ok ? 'OK: zero unexplained differences' : `NOT OK: ${esc(r.unexplained)} unexplained difference(s)`}</strong></p>
<h2>Topics</h2>${table(
    ['topic', ...COUNTS],
    r.topics.map((x) => [x.topic, ...COUNTS.map((k) => x[k])]),
  )}
<h2>Differences</h2>${table(
    ['class', 'topic', 'partition', 'offset', 'event', 'explanation'],
    r.differences.map((d) => [d.class, d.topic, d.partition, d.offset, d.eventId ?? '', d.explanation]),
  )}${r.differencesUnlisted ? `<p>${esc(r.differencesUnlisted)} more not listed.</p>` : ''}
<h2>Control totals</h2><h3>Orders placed</h3>${table(
    ['channel', 'currency', 'orders', 'total (minor)', 'line discounts (minor)'],
    t.orders.map((o) => [o.channel, o.currency, o.orders, o.totalMinor, o.lineDiscountMinor]),
  )}
<h3>Promotion usage</h3><p>${esc(t.promotionDiscounts.source)}</p>${table(
    ['channel', 'committed', 'reverted', 'campaign amount (minor)', 'codes used'],
    t.promotionDiscounts.byUsage.map((u) => [u.channel, u.committed, u.reverted, u.campaignAmountMinor, u.codesUsed]),
  )}
<h3>Loyalty points</h3>${table(
    ['channel', 'earned', 'redeemed', 'expired', 'reversed', 'adjusted'],
    t.loyalty.map((l) => [l.channel, l.earned, l.redeemed, l.expired, l.reversed, l.adjusted]),
  )}
<h2>Checkpoints</h2><p>Start: ${esc(cp(r.checkpoints.start))}</p><p>End: ${esc(cp(r.checkpoints.end))}</p><p>${esc(r.checkpoints.note)}</p>
<h2>Method</h2><p>${esc(r.method)}</p></body></html>`;
}
