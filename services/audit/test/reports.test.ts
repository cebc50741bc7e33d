/**
 * Reconciled reports against the real broker, registry and database: a period's records reconcile with
 * Kafka's own offsets (ok, expected == recorded), control totals add up, the signature verifies with the
 * published key and the consistency proof with the open verifier; dead letters and duplicates are
 * explained; a record removed from the store is an unexplained gap; channel managers are held to their
 * channels; bad periods are refused with a code and a hint.
 */
import { verify } from 'node:crypto';
import { canonicalBytes, verifyConsistency } from '@omnimall/evidence';
import type { JobProgress as JobProgressEvent } from '@omnimall/contracts';
import { testGroups, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { StoredEvidence } from '../src/store';
import { idOf } from '../src/store/evidence';
import { auditor, customerH, getJson, managerOf, postJson, Producer, startAudit, type AuditInstance } from './support';

jest.setTimeout(90_000);

let sim: Producer;
let audit: AuditInstance;

beforeAll(async () => {
  sim = await Producer.start();
  audit = await startAudit({ dbName: uniqueName('audit-rep'), groups: testGroups() });
});

afterAll(async () => {
  await audit?.reports.idle();
  await audit?.stop();
  await sim?.stop();
});

interface TopicRow {
  topic: string;
  expected: number;
  recorded: number;
  inFlight: number;
  unexplained: number;
}
interface Difference {
  class: string;
  topic: string;
  partition: number;
  offset: string;
  eventId?: string;
  explained: boolean;
  explanation: string;
}
interface Report {
  id: string;
  ok: boolean;
  unexplained: number;
  topics: TopicRow[];
  differences: Difference[];
  method: string;
  controlTotals: { orders: Array<{ channel: string; currency: string; orders: number; totalMinor: number }> };
  checkpoints: {
    start: { treeSize: number; root: string } | null;
    end: { treeSize: number; root: string } | null;
    consistencyProof: { proof: string[] } | null;
  };
}
interface ReportView {
  status: string;
  report: Report;
  signature: { keyId: string; signature: string; algorithm: string };
}

async function ask(body: Record<string, unknown>, headers?: Record<string, string>): Promise<ReportView> {
  const posted = await postJson<{ id: string; status: string }>(`${audit.url}/audit/reports`, body, headers ?? (await auditor()));
  expect(posted.status).toBe(202);
  expect(posted.body.status).toBe('running');
  return (await waitFor(async () => {
    const got = await getJson<ReportView>(`${audit.url}/audit/reports/${posted.body.id}`, headers ?? (await auditor()));
    return got.body.status === 'running' ? undefined : got.body;
  }, 'the report made')) as ReportView;
}

/** A report of the period once nothing of it is in flight (other suites may write to the same topics). */
const settled = (body: Record<string, unknown>): Promise<ReportView> =>
  waitFor(async () => {
    const r = await ask(body);
    expect(r.status).toBe('done');
    return r.report.topics.every((t) => t.inFlight === 0) ? r : undefined;
  }, 'a report with nothing in flight') as Promise<ReportView>;

const byChannel = (channel: string, n: number): Promise<StoredEvidence[]> =>
  waitFor(async () => {
    const found = await audit.trails.find({ channel }, 100);
    return found.length >= n ? found : undefined;
  }, `${n} record(s) of channel ${channel}`) as Promise<StoredEvidence[]>;

describe('a reconciled report', () => {
  it('reconciles a period: ok, expected == recorded per topic, control totals, signature, consistency proof, CSV and HTML', async () => {
    // a checkpoint before the period, so the report proves the log between two
    await byChannel(await sim.channel(), 1);
    await waitFor(() => audit.store.checkpoints.latest().then((c) => (c && c.treeSize === audit.log.size ? c : undefined)), 'a checkpoint');
    const from = Date.now() + 1;
    await waitFor(() => Date.now() > from, 'the period begun', 1000, 2);
    const code = await sim.channel();
    await sim.placed(uniqueName('ord'), code, 1234);
    await sim.placed(uniqueName('ord'), code, 766);
    await sim.placed(uniqueName('ord'), code, 50, 'GBP');
    await byChannel(code, 4);
    const to = Date.now() + 1;
    await waitFor(() => Date.now() > to, 'the period ended', 1000, 2);

    const { report, signature } = await settled({ from: new Date(from).toISOString(), to });
    expect(report.ok).toBe(true);
    expect(report.unexplained).toBe(0);
    const rows = Object.fromEntries(report.topics.map((t) => [t.topic, t]));
    expect(rows['orders.order-status'].recorded).toBeGreaterThanOrEqual(3);
    expect(rows['channels.channel-changed'].recorded).toBeGreaterThanOrEqual(1);
    for (const t of report.topics) expect(t.expected).toBe(t.recorded);
    expect(report.controlTotals.orders.filter((o) => o.channel === code)).toEqual([
      expect.objectContaining({ currency: 'EUR', orders: 2, totalMinor: 2000 }),
      expect.objectContaining({ currency: 'GBP', orders: 1, totalMinor: 50 }),
    ]);

    const keys = await getJson<Array<{ keyId: string; publicPem: string }>>(`${audit.url}/audit/keys`);
    const pem = keys.body.find((k) => k.keyId === signature.keyId)!.publicPem;
    expect(verify(null, canonicalBytes(report), pem, Buffer.from(signature.signature, 'base64'))).toBe(true);
    expect(verify(null, canonicalBytes({ ...report, ok: false }), pem, Buffer.from(signature.signature, 'base64'))).toBe(false);
    const sig = await getJson<{ keyId: string; signature: string; verify: string[] }>(
      `${audit.url}/audit/reports/${report.id}/signature`,
      await auditor(),
    );
    expect(sig.body).toMatchObject({ keyId: signature.keyId, signature: signature.signature });
    expect(sig.body.verify.length).toBeGreaterThan(0);

    const { start, end, consistencyProof } = report.checkpoints;
    expect(start && end && consistencyProof).toBeTruthy();
    expect(
      verifyConsistency(
        start!.treeSize,
        end!.treeSize,
        Buffer.from(start!.root, 'hex'),
        Buffer.from(end!.root, 'hex'),
        consistencyProof!.proof.map((h) => Buffer.from(h, 'hex')),
      ),
    ).toBe(true);

    const csv = await fetch(`${audit.url}/audit/reports/${report.id}/csv`, { headers: await auditor() });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toMatch(/^row,topic,partition,offset,class/);
    expect(lines.some((l) => l.startsWith('topic,orders.order-status,'))).toBe(true);
    const html = await fetch(`${audit.url}/audit/reports/${report.id}/html`, { headers: await auditor() });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await html.text();
    expect(page).toContain('OK: zero unexplained differences');
    expect(page).toContain('orders.order-status');
  });

  it('explains a dead letter and a duplicate; a record removed from the store is an unexplained gap', async () => {
    const from = Date.now() + 1;
    await waitFor(() => Date.now() > from, 'the period begun', 1000, 2);
    const [original] = await byChannel(await sim.channel(), 1);
    await sim.deadLetterOf({ partition: original.partition, offset: original.offset }, 'poison in a test');
    const twice = await byChannel(await sim.channelTwice(), 2);
    expect(twice[0].eventId).toBe(twice[1].eventId);
    const [doomed] = await byChannel(await sim.channel(), 1);
    await waitFor(async () => {
      const dl = await audit.trails.find({ topic: 'channels.channel-changed.dlq', kinds: ['dead_letter'] }, 500);
      return dl.some((r) => (r.payload as { headers?: Record<string, string> })?.headers?.['x-source-offset'] === original.offset);
    }, 'the dead letter recorded');
    const to = Date.now() + 1;
    await waitFor(() => Date.now() > to, 'the period ended', 1000, 2);
    const body = { from, to, topics: ['channels.channel-changed', 'channels.channel-changed.dlq'] };

    const clean = (await settled(body)).report;
    expect(clean.ok).toBe(true);
    expect(clean.topics.map((t) => t.topic)).toEqual(['channels.channel-changed', 'channels.channel-changed.dlq']);
    expect(clean.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ class: 'dead_lettered', offset: original.offset, partition: original.partition, explained: true }),
        expect.objectContaining({ class: 'duplicate', eventId: twice[0].eventId, explained: true }),
      ]),
    );

    await audit.store.log.collection().deleteOne({ _id: idOf(doomed.index) } as never);
    const forged = (await settled(body)).report;
    expect(forged.ok).toBe(false);
    expect(forged.unexplained).toBe(1);
    const gap = forged.differences.find((d) => d.class === 'unexplained')!;
    expect(gap).toMatchObject({ topic: 'channels.channel-changed', partition: doomed.partition, offset: doomed.offset, explained: false });
    expect(forged.topics.find((t) => t.topic === 'channels.channel-changed')!.unexplained).toBe(1);
    const html = await (await fetch(`${audit.url}/audit/reports/${forged.id}/html`, { headers: await auditor() })).text();
    expect(html).toContain('NOT OK: 1 unexplained difference');
  });
});

describe('who may ask, and bad input', () => {
  it('holds channel managers to their channels and refuses customers', async () => {
    const code = uniqueName('ch').slice(0, 30);
    const period = { from: Date.now() - 60_000, to: Date.now() };
    const other = await postJson(`${audit.url}/audit/reports`, { ...period, channels: ['elsewhere'] }, await managerOf(code));
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ code: 'channel_out_of_scope', hint: expect.any(String) });
    const all = await postJson(`${audit.url}/audit/reports`, period, await managerOf(code));
    expect(all.status).toBe(403);
    const mine = await ask({ ...period, channels: [code] }, await managerOf(code));
    expect(mine.status).toBe('done');
    expect(mine.report.method).toContain(`Channel filter (${code})`);
    const auditors = await postJson<{ id: string }>(`${audit.url}/audit/reports`, period, await auditor());
    expect(auditors.status).toBe(202);
    expect((await getJson(`${audit.url}/audit/reports/${auditors.body.id}`, await managerOf(code))).status).toBe(403);
    expect((await postJson(`${audit.url}/audit/reports`, period, await customerH())).status).toBe(403);
  });

  it('refuses bad periods and unknown topics with a code and a hint', async () => {
    const h = await auditor();
    const now = Date.now();
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ from: now, to: now - 1000 }, 400, 'bad_period'],
      [{ from: now - 40 * 86_400_000, to: now }, 422, 'period_too_long'],
      [{ from: now + 86_400_000, to: now + 2 * 86_400_000 }, 422, 'period_in_future'],
      [{ from: 'last tuesday', to: now }, 400, 'validation_failed'],
      [{ from: now - 1000, to: now, topics: ['no.such-topic'] }, 400, 'topic_not_read'],
    ];
    for (const [body, status, code] of cases) {
      const r = await postJson(`${audit.url}/audit/reports`, body, h);
      expect({ code, status: r.status }).toEqual({ code, status });
      expect(r.body).toMatchObject({ code, hint: expect.any(String) });
    }
    const missing = await getJson(`${audit.url}/audit/reports/rep_00000000-0000-4000-8000-000000000000`, h);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'report_not_found', hint: expect.any(String) });
  });
});

describe('a report as a job (GET /jobs/:id)', () => {
  it('reaches done with done == total (the records Kafka expects), its resource the report; the end is published', async () => {
    const progressEvents = await new TopicRecorder(testKafka(), ['platform.job-progress']).start();
    try {
      const h = await auditor();
      const posted = await postJson<{ id: string }>(`${audit.url}/audit/reports`, { from: Date.now() - 120_000, to: Date.now() }, h);
      expect(posted.status).toBe(202);
      const id = posted.body.id;
      const view = (await waitFor(async () => {
        const got = await getJson<Record<string, unknown> & { state: string; done: number; total: number }>(`${audit.url}/jobs/${id}`, h);
        expect(got.status).toBe(200);
        expect(got.body.done).toBeLessThanOrEqual(got.body.total);
        return got.body.state === 'done' ? got.body : undefined;
      }, 'the report job done')) as Record<string, unknown>;
      expect(view).toMatchObject({ id, kind: 'report', service: 'audit', errors: 0, etaSeconds: 0, location: `/audit/reports/${id}` });
      expect(view.done).toBe(view.total);
      expect((await getJson<{ status: string }>(`${audit.url}${view.location as string}`, h)).body.status).toBe('done');
      const end = await waitFor(async () => {
        for (const r of progressEvents.records) {
          const e = await audit.runtime.schemas.decode<JobProgressEvent>(r.message.value!);
          if (e.id === id && e.state === 'done') return e;
        }
        return null;
      }, 'the final progress event of the report');
      expect(end).toMatchObject({ kind: 'report', service: 'audit', done: view.done, total: view.total });
    } finally {
      await progressEvents.stop();
    }
  });

  it('is read by who may read the report: another channel’s manager and customers are refused; an unknown id is 404 job_not_found', async () => {
    const code = uniqueName('jc').slice(0, 30);
    const period = { from: Date.now() - 60_000, to: Date.now() };
    const mine = await postJson<{ id: string }>(`${audit.url}/audit/reports`, { ...period, channels: [code] }, await managerOf(code));
    expect(mine.status).toBe(202);
    const path = `${audit.url}/jobs/${mine.body.id}`;
    expect((await getJson(path, await managerOf(code))).status).toBe(200);
    expect((await getJson(path, await auditor())).status).toBe(200);
    const other = await getJson(path, await managerOf(`${code}-other`));
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ code: 'channel_out_of_scope' });
    expect((await getJson(path, await customerH())).status).toBe(403);
    expect((await getJson(path, {})).status).toBe(401);
    const missing = await getJson(`${audit.url}/jobs/rep_00000000-0000-4000-8000-000000000000`, await auditor());
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'job_not_found', hint: expect.any(String) });
  });
});
