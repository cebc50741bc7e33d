// The page.evaluate callbacks run in the browser: DOM types for them.
/// <reference lib="dom" />
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { progressOf } from '@omnimall/service-kit';
import { waitFor } from '@omnimall/service-kit/testing';
import { adminToken, startHarness, type Harness } from './support/harness';
import { SLA_MS } from '../src/domain/series';
import type { Tracking } from '../src/domain/propagation';

const ROOT = join(__dirname, '..', '..', '..');
let h: Harness;
let browser: BrowserContext;
let page: Page;
let profile: string;
let base: string;

beforeAll(async () => {
  execFileSync('bash', [join(ROOT, 'deploy/local/tools.sh'), 'chromium'], { stdio: 'inherit', timeout: 600_000 });
  // No automatic re-delivery here: the page's "retry now" is what recovers the event.
  h = await startHarness({ maxRetries: 0, escalateAfterMs: 600_000 });
  base = `http://127.0.0.1:${(h.monitor.server.address() as AddressInfo).port}`;
  profile = mkdtempSync(join(tmpdir(), 'sync-monitor-chromium-'));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

it('shows channel status, lag per type and failing events, and "retry now" recovers an event', async () => {
  // Seed: a channel under maintenance with a block, an applied event, and an event the consumer dead-lettered.
  const code = `app-${h.run}`;
  await h.publishChannel(code, 'maintenance', ['missing_compliance_text'], 1);
  const ok = await h.publish({ channel: 'mobile' });
  const bad = await h.publish({ channel: 'web', fail: true });
  await waitFor(async () => (await h.monitor.events.find(ok))?.state === 'complete', 'applied event');
  await waitFor(async () => (await h.monitor.events.find(bad))?.acks.some((a) => a.outcome === 'dead_lettered'), 'dead-lettered event');
  await waitFor(async () => (await h.monitor.store.channels.get(code)) !== null, 'channel status');
  h.failing.delete(bad); // the consumer is healthy again: a retry will succeed

  const withToken = `${base}/dashboard/#token=${encodeURIComponent((await adminToken()).replace(/^Bearer /, ''))}`;
  await page.goto(withToken);
  await page.waitForSelector('body[data-loaded="true"]');
  const channelRow = page.locator('#channels tbody tr', { hasText: code });
  await channelRow.waitFor();
  expect(await channelRow.innerText()).toMatch(/maintenance[\s\S]*missing_compliance_text/);
  expect(await page.locator('#percentiles tbody').innerText()).toContain('identity.identity-linked');
  // The monitor's own lag per group, and whether it is within the shortest SLA.
  expect(await page.locator('#tracking tbody').innerText()).toContain(h.monitor.consumers.acks.group);
  expect(await page.locator('#tracking-status').innerText()).toMatch(/^(current|DEGRADED: \d+ ms behind \(SLA 700 ms\))$/);
  expect(await page.locator('#issues tbody').innerText()).toMatch(new RegExp(`${h.sim}\\s+StoreUnavailable\\s+web`));

  const row = page.locator(`#issue-events tr[data-event-id="${bad}"]`);
  await row.waitFor();
  await row.locator('button[data-action="retry"]').click();
  await page.waitForFunction((id) => (document.getElementById('action-result')?.textContent ?? '').startsWith(`Retry of ${id}`), bad);
  expect(await page.locator('#action-result').innerText()).toBe(`Retry of ${bad}: ${h.sim}.projection sent`);

  const t = (await waitFor(async () => {
    const d = await h.monitor.events.find(bad);
    return d?.state === 'complete' ? d : null;
  }, 'event recovered by the retry')) as Tracking;
  expect(t.retries).toEqual([expect.objectContaining({ trigger: 'manual', outcome: 'recovered', group: `${h.sim}.projection` })]);
  expect(t.actions).toEqual([expect.objectContaining({ kind: 'retry_now', by: 'stf_admin', outcome: `${h.sim}.projection:sent` })]);

  // After the next refresh the event has left the list of events needing attention (a fresh load: the
  // page took the token out of its address, so only a new document reads it from the hash again).
  await page.goto('about:blank');
  await page.goto(withToken);
  await page.waitForSelector('body[data-loaded="true"]');
  await page.locator('#recent tbody tr', { hasText: 'complete' }).first().waitFor();
  expect(await page.locator(`#issue-events tr[data-event-id="${bad}"]`).count()).toBe(0);
});

it('keeps the admin token in memory only: not in web storage, not in the address, gone after a reload', async () => {
  const served = await fetch(`${base}/dashboard/app.js`).then((r) => r.text());
  expect(served).not.toMatch(/localStorage\.(setItem|getItem)|sessionStorage/);

  // A token an earlier version of the page stored is removed on the next visit.
  await page.goto(`${base}/dashboard/`);
  await page.evaluate(() => localStorage.setItem('syncMonitorToken', 'stale-token'));
  const token = (await adminToken()).replace(/^Bearer /, '');
  await page.goto('about:blank');
  await page.goto(`${base}/dashboard/#token=${encodeURIComponent(token)}`);
  await page.waitForSelector('body[data-loaded="true"]');
  const kept = await page.evaluate(() => ({
    hash: location.hash,
    local: Object.keys(localStorage).map((k) => localStorage.getItem(k)),
    session: Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),
  }));
  expect(kept).toEqual({ hash: '', local: [], session: [] });

  await page.reload();
  await page.waitForFunction(() => (document.getElementById('error')?.textContent ?? '').startsWith('Enter an admin token'));
  expect(await page.locator('body[data-loaded="true"]').count()).toBe(0);
});

it('shows a progress bar per running job (done of total, rate, ETA, errors), refreshed with the page', async () => {
  const id = randomUUID();
  const started = Date.now() - 10_000;
  const report = (done: number) =>
    h.producer.jobs.report(
      progressOf({
        id,
        kind: 'bulk-sync',
        service: 'sim-producer',
        state: 'running',
        done,
        total: 200,
        errors: 2,
        firstErrors: [{ unit: 'p-1@web', code: 'listing_failed', message: 'no price in JPY' }],
        startedAt: started,
        updatedAt: Date.now(),
        location: `/bulk-sync/jobs/${id}`,
      }),
    );
  await waitFor(async () => {
    await report(50);
    return h.monitor.jobs.list().some((j) => j.id === id);
  }, 'the job on the monitor');
  const token = (await adminToken()).replace(/^Bearer /, '');
  await page.goto('about:blank');
  await page.goto(`${base}/dashboard/#token=${encodeURIComponent(token)}`);
  const row = page.locator(`#jobs tr[data-job-id="${id}"]`);
  await row.waitFor();
  expect(await row.locator('progress').evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([50, 200]);
  const text = await row.innerText();
  expect(text).toContain('50 / 200 (25 %)');
  expect(text).toContain('sim-producer');
  expect(text).toMatch(/\d+(\.\d+)? \/s/);
  expect(text).toMatch(/\d+ (s|min)/); // the ETA
  // the next report moves the bar at the page's next refresh
  await waitFor(async () => {
    await report(150);
    return h.monitor.jobs.list().some((j) => j.id === id && j.done === 150);
  }, 'the job moved on the monitor');
  await page.waitForFunction(
    (jobId) => (document.querySelector(`#jobs tr[data-job-id="${jobId}"] progress`) as HTMLProgressElement | null)?.value === 150,
    id,
    { timeout: 20_000 },
  );
});

describe('charts', () => {
  // A monitor of its own that escalates within a second (the one above never escalates during its test).
  let h2: Harness;
  let base2: string;
  const artifacts = process.env.TEST_ARTIFACTS_DIR || join(ROOT, '.test-artifacts');

  beforeAll(async () => {
    h2 = await startHarness({ maxRetries: 0, escalateAfterMs: 1000 });
    base2 = `http://127.0.0.1:${(h2.monitor.server.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    await h2?.stop();
  });

  const legend = (id: string): Promise<string[]> =>
    page
      .locator(`#${id} .u-legend .u-series:not(:first-child) .u-label`)
      .evaluateAll((els) => els.map((e) => (e.textContent ?? '').trim()));

  it('draws propagation p99 per channel with the SLA, escalations and consumer lag over time; keeps a screenshot', async () => {
    // Tracked events applied on two channels, and an event its expected consumer never applies: escalated.
    const web = await h2.publish({ channel: 'web' });
    const mobile = await h2.publish({ channel: 'mobile' });
    const ghost = await h2.publishGhost('web', `cus_${h2.run}`);
    for (const id of [web, mobile])
      await waitFor(async () => (await h2.monitor.events.find(id))?.state === 'complete', `event ${id} applied`);
    await waitFor(async () => (await h2.monitor.events.find(ghost))?.escalation?.status === 'opened', 'escalation opened', 20_000);
    const group = `${h2.sim}.projection`;
    await waitFor(async () => (await h2.monitor.lag.refresh()).groups.some((g) => g.group === group), 'consumer lag measured');

    // The series the charts draw, as the API answers them.
    const auth = { authorization: await adminToken() };
    const get = (path: string) => fetch(`${base2}${path}`, { headers: auth });
    const prop = (await (await get('/propagation/series?window=15m&step=15s')).json()) as {
      steps: number[];
      slaMs: number;
      channels: { channel: string; count: number; p99: (number | null)[] }[];
    };
    expect(prop.steps).toHaveLength(60);
    expect(prop.slaMs).toBe(SLA_MS);
    expect(prop.channels.map((c) => c.channel).sort()).toEqual(['mobile', 'web']);
    // Every group's first success counts (other groups on the shared stack ack these events too).
    for (const c of prop.channels) {
      expect(c.count).toBeGreaterThanOrEqual(1);
      expect(c.p99.some((v) => v !== null)).toBe(true);
    }
    const esc = (await (await get('/escalations/series')).json()) as { opened: number[] };
    expect(esc.opened.reduce((a, b) => a + b, 0)).toBe(1);
    const lag = (await (await get('/consumer-lag/series?window=1h')).json()) as { stepMs: number; groups: { group: string }[] };
    expect(lag.stepMs).toBe(60_000);
    expect(lag.groups.map((g) => g.group)).toContain(group);
    // A step the window cannot be read at: 400 with a code and a hint; no token: 401.
    const bad = await get('/propagation/series?window=1h&step=15s');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'bad_step', hint: expect.any(String) });
    expect((await fetch(`${base2}/consumer-lag/series`)).status).toBe(401);

    // The page draws the three charts, with their series named in the legends.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto('about:blank');
    await page.goto(`${base2}/dashboard/#token=${encodeURIComponent(auth.authorization.replace(/^Bearer /, ''))}`);
    await page.waitForSelector('body[data-charts="drawn"]');
    for (const id of ['chart-propagation', 'chart-escalations', 'chart-consumer-lag'])
      expect(await page.locator(`#${id} canvas`).count()).toBe(1);
    expect((await legend('chart-propagation')).sort()).toEqual(['SLA 2 s', 'mobile p99', 'web p99']);
    expect(await legend('chart-escalations')).toEqual(['opened', 'resolved']);
    expect(await legend('chart-consumer-lag')).toContain(group);
    // Readable at 1280 px: the charts fit the page's width (no horizontal scrolling).
    const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(fits).toBe(true);

    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, 'sync-monitor-dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    expect(png.length).toBeGreaterThan(10_000);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });
});
