/**
 * The per-channel incident feed against the real broker, registry and database: escalations,
 * notices and channel changes published as the services publish them become entries on the affected
 * channels' feeds; limitations written through the API; webhooks receive each new or changed entry
 * signed, and a failing subscriber is retried; who may read which feed; a replayed record adds nothing;
 * a subscription cannot point into the platform's network (SSRF), neither when subscribing nor at delivery.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '@omnimall/service-kit/errors';
import { STRICT_WEBHOOK_POLICY } from '@omnimall/service-kit/http/webhook-target';
import { bearer, testResolver, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { IncidentFeed } from '../src/application/incidents';
import type { FeedEntry } from '../src/domain/incidents';
import { auditSettings } from '../src/settings';
import { adminH, auditor, customerH, getJson, managerOf, postJson, Producer, startAudit, type AuditInstance } from './support';

jest.setTimeout(60_000);

let sim: Producer;
let audit: AuditInstance;

/** Test host names (`*.partner.test`) and the address each resolves to now. */
const { records: dnsRecords, resolve } = testResolver();

beforeAll(async () => {
  sim = await Producer.start();
  // local test mode (support.ts): plain http, and 127.0.0.1 the one non-public address allowed
  audit = await startAudit({ dbName: uniqueName('audit-incidents'), deps: { resolve } });
});

afterAll(async () => {
  await audit?.stop();
  await sim?.stop();
});

const sellerOf = async (channel: string): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub: `seller-${channel}`, kind: 'staff', roles: ['seller'], channels: [channel] }),
});

const feedOf = async (channel: string, headers?: Record<string, string>): Promise<FeedEntry[]> => {
  const res = await getJson<FeedEntry[]>(
    `${audit.url}/audit/channels/${channel}/incidents?limit=500`,
    headers ?? (await managerOf(channel)),
  );
  expect(res.status).toBe(200);
  return res.body;
};

/** Waits until the channel's feed has an entry matching `match`. */
const entryOn = (channel: string, match: (e: FeedEntry) => boolean, what: string): Promise<FeedEntry> =>
  waitFor(async () => (await feedOf(channel)).find(match), what) as Promise<FeedEntry>;

const newChannel = (): string => uniqueName('ch').slice(0, 30);

/** A local webhook receiver: answers `statuses` in turn (then 200), keeps what it received. */
async function receiver(
  statuses: number[] = [],
): Promise<{ url: string; got: Array<{ headers: IncomingHttpHeaders; body: string }>; close: () => Promise<void> }> {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => new Promise((r) => server.close(() => r())) };
}

describe('entries from recorded events', () => {
  it('an escalation shows as an open incident on each affected channel, then as resolved', async () => {
    const [a, b] = [newChannel(), newChannel()];
    const esc = await sim.escalation('opened', { channels: [a, b] });
    for (const ch of [a, b]) {
      const open = await entryOn(ch, (e) => e.id === `incident:${esc}:${ch}`, `the incident open on ${ch}`);
      expect(open).toMatchObject({ kind: 'incident', status: 'open', channel: ch, title: 'Updates to your catalogue are delayed' });
      expect(`${open.title} ${open.detail}`).not.toMatch(/catalog-sync|group|no_ack/);
    }
    await sim.escalation('resolved', { escalationId: esc, channels: [a, b] });
    for (const ch of [a, b]) {
      const done = await entryOn(ch, (e) => e.id === `incident:${esc}:${ch}` && e.status === 'resolved', `the incident resolved on ${ch}`);
      expect(done.title).toMatch(/^Recovered: /);
      expect(done.resolvedAt).toBeGreaterThanOrEqual(done.openedAt);
    }
    // the channels' feeds name only their own (and platform-wide) entries
    expect((await feedOf(a)).every((e) => e.channel === a || e.channel === '*')).toBe(true);
  });

  it('a notice adds a delay entry on its channel, and its recovery closes it', async () => {
    const ch = newChannel();
    const esc = uniqueName('esc');
    const noticeId = await sim.notice('propagation_delayed', esc, { channel: ch });
    const delay = await entryOn(ch, (e) => e.id === `delay:${noticeId}`, 'the delay entry');
    expect(delay).toMatchObject({ kind: 'delay', status: 'open', channel: ch });
    const recoveryId = await sim.notice('propagation_recovered', esc, { channel: ch });
    await entryOn(ch, (e) => e.id === `recovery:${recoveryId}`, 'the recovery entry');
    await entryOn(ch, (e) => e.id === `delay:${noticeId}` && e.status === 'resolved', 'the delay closed');
  });

  it('a maintenance opens an entry with its expected return and the return to active closes it', async () => {
    const ch = newChannel();
    await sim.channelState(ch, { state: 'maintenance', previousState: 'active', expectedBackAt: Date.UTC(2026, 11, 8, 9, 30) }, 2);
    const m = await entryOn(ch, (e) => e.kind === 'maintenance', 'the maintenance entry');
    expect(m).toMatchObject({ status: 'open', channel: ch });
    expect(m.detail).toContain('2026-12-08 09:30 UTC');
    await sim.channelState(ch, { state: 'active', previousState: 'maintenance' }, 3);
    const back = await entryOn(ch, (e) => e.id === m.id && e.status === 'resolved', 'the maintenance closed');
    expect(back.title).toMatch(/^Recovered: .* is back$/);
  });

  it('a replayed record adds no entry', async () => {
    const ch = newChannel();
    const esc = await sim.escalation('opened', { channels: [ch] });
    await entryOn(ch, (e) => e.id === `incident:${esc}:${ch}`, 'the incident');
    // the same escalation published again (a producer's retry) and the stored records applied again (a re-read)
    await sim.escalation('opened', { escalationId: esc, channels: [ch] });
    const records = (await waitFor(async () => {
      const found = await audit.trails.find({ topic: 'sync.escalation', kinds: ['escalation'] }, 500);
      const mine = found.filter((r) => (r.payload as { escalationId?: string }).escalationId === esc);
      return mine.length >= 2 ? mine : undefined;
    }, 'both copies recorded')) as Parameters<typeof audit.incidents.onRecorded>[0];
    await audit.incidents.onRecorded(records);
    for (const r of records) expect(await audit.incidents.apply(r)).toEqual([]);
    const mine = (await feedOf(ch)).filter((e) => e.channel === ch);
    expect(mine.map((e) => e.id)).toEqual([`incident:${esc}:${ch}`]);
  });
});

describe('limitations and access', () => {
  it('a limitation posted by the channel’s manager shows on its feed until closed; only admins write platform-wide ones', async () => {
    const ch = newChannel();
    const posted = await postJson<FeedEntry>(
      `${audit.url}/audit/channels/${ch}/limitations`,
      { title: 'Gift cards cannot be redeemed', detail: 'The gift card provider is down; card payments work.' },
      await managerOf(ch),
    );
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ kind: 'limitation', status: 'open', channel: ch });
    expect((await feedOf(ch, await sellerOf(ch))).find((e) => e.id === posted.body.id)?.title).toBe('Gift cards cannot be redeemed');

    const page = await fetch(`${audit.url}/audit/channels/${ch}/incidents.html`, { headers: await sellerOf(ch) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Gift cards cannot be redeemed');

    const bad = { title: 'x', detail: 'y' };
    expect((await postJson(`${audit.url}/audit/channels/${ch}/limitations`, bad, await managerOf(ch))).body).toMatchObject({
      code: 'validation_failed',
      hint: expect.any(String),
    });
    const other = await postJson(
      `${audit.url}/audit/channels/${newChannel()}/limitations`,
      { title: 'Nope', detail: 'n' },
      await managerOf(ch),
    );
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ code: 'channel_out_of_scope', hint: expect.any(String) });
    expect((await postJson(`${audit.url}/audit/channels/*/limitations`, { title: 'All', detail: 'a' }, await managerOf(ch))).status).toBe(
      403,
    );
    expect(
      (await postJson(`${audit.url}/audit/channels/${ch}/limitations`, { title: 'Seller', detail: 's' }, await sellerOf(ch))).status,
    ).toBe(403);
    const wide = await postJson<FeedEntry>(
      `${audit.url}/audit/channels/*/limitations`,
      { title: 'Slow search', detail: 'Search is slow' },
      await adminH(),
    );
    expect(wide.status).toBe(201);
    expect((await feedOf(ch)).some((e) => e.id === wide.body.id)).toBe(true);

    const closed = await postJson<FeedEntry>(
      `${audit.url}/audit/channels/${ch}/limitations/${posted.body.id}/close`,
      {},
      await managerOf(ch),
    );
    expect(closed.body).toMatchObject({ status: 'resolved' });
    const again = await postJson(`${audit.url}/audit/channels/${ch}/limitations/${posted.body.id}/close`, {}, await managerOf(ch));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'limitation_closed' });
  });

  it('a seller of another channel, a customer and an anonymous caller are refused', async () => {
    const ch = newChannel();
    const seller = await getJson(`${audit.url}/audit/channels/${ch}/incidents`, await sellerOf(newChannel()));
    expect(seller.status).toBe(403);
    expect(seller.body).toMatchObject({ code: 'channel_out_of_scope', hint: expect.any(String) });
    expect((await getJson(`${audit.url}/audit/channels/${ch}/incidents`, await sellerOf(ch))).status).toBe(200);
    expect((await getJson(`${audit.url}/audit/channels/${ch}/incidents`, await auditor())).status).toBe(200);
    expect((await getJson(`${audit.url}/audit/channels/${ch}/incidents`, await customerH())).status).toBe(403);
    expect((await getJson(`${audit.url}/audit/channels/${ch}/incidents`)).status).toBe(401);
    expect((await getJson(`${audit.url}/audit/channels/*/incidents`, await managerOf(ch))).status).toBe(403);
  });
});

describe('webhooks', () => {
  it('delivers new and changed entries signed with the subscription’s secret; a failing subscriber is retried', async () => {
    const ch = newChannel();
    const ok = await receiver();
    const flaky = await receiver([500]);
    try {
      const secret = 'a-long-enough-secret-1234';
      const sub = await postJson<{ id: string; secret?: string }>(
        `${audit.url}/audit/channels/${ch}/webhooks`,
        { url: ok.url, secret },
        await sellerOf(ch),
      );
      expect(sub.status).toBe(201);
      expect(sub.body.secret).toBeUndefined();
      const flakySub = await postJson<{ id: string }>(
        `${audit.url}/audit/channels/${ch}/webhooks`,
        { url: flaky.url, secret: 'another-secret-5678901' },
        await managerOf(ch),
      );
      expect(flakySub.status).toBe(201);
      const badUrl = await postJson(
        `${audit.url}/audit/channels/${ch}/webhooks`,
        { url: 'ftp://example.com/x', secret },
        await managerOf(ch),
      );
      expect(badUrl.status).toBe(400);
      expect(badUrl.body).toMatchObject({ code: 'validation_failed', hint: expect.any(String) });
      const listed = await getJson<Array<Record<string, unknown>>>(`${audit.url}/audit/channels/${ch}/webhooks`, await managerOf(ch));
      expect(listed.body.map((s) => s.id).sort()).toEqual([sub.body.id, flakySub.body.id].sort());
      expect(listed.body.every((s) => !('secret' in s))).toBe(true);

      const esc = await sim.escalation('opened', { channels: [ch] });
      await sim.escalation('resolved', { escalationId: esc, channels: [ch] });
      const bodies = (await waitFor(() => {
        const mine = ok.got
          .map((g) => ({ ...g, entry: JSON.parse(g.body) as FeedEntry }))
          .filter((g) => g.entry.id === `incident:${esc}:${ch}`);
        return mine.length >= 2 ? mine : undefined;
      }, 'the opening and the resolution delivered')) as Array<{ headers: IncomingHttpHeaders; body: string; entry: FeedEntry }>;
      expect(bodies.map((b) => b.entry.status)).toEqual(['open', 'resolved']);
      for (const b of bodies) {
        expect(b.headers['x-omnimall-signature']).toBe(`sha256=${createHmac('sha256', secret).update(b.body).digest('hex')}`);
        expect(b.headers['x-omnimall-delivery']).toMatch(/^dlv_[0-9a-f]{32}$/);
        expect(b.headers['content-type']).toMatch(/application\/json/);
      }

      // the flaky subscriber answered 500 first: the same delivery came again, and was then recorded delivered
      const retried = (await waitFor(() => {
        const ids = flaky.got.map((g) => g.headers['x-omnimall-delivery']);
        return ids.find((id, i) => ids.indexOf(id) !== i);
      }, 'a delivery retried')) as string;
      const deliveries = (await waitFor(async () => {
        const res = await getJson<Array<{ id: string; status: string; attempts: number; lastStatus: number }>>(
          `${audit.url}/audit/channels/${ch}/webhooks/${flakySub.body.id}/deliveries`,
          await managerOf(ch),
        );
        const d = res.body.find((x) => x.id === retried);
        return d?.status === 'delivered' ? d : undefined;
      }, 'the retried delivery recorded')) as { attempts: number; lastStatus: number };
      expect(deliveries).toMatchObject({ attempts: 2, lastStatus: 200 });

      // a seller removes their own subscription; a seller may not remove the manager's
      const notTheirs = await fetch(`${audit.url}/audit/channels/${ch}/webhooks/${flakySub.body.id}`, {
        method: 'DELETE',
        headers: await sellerOf(ch),
      });
      expect(notTheirs.status).toBe(403);
      const removed = await fetch(`${audit.url}/audit/channels/${ch}/webhooks/${sub.body.id}`, {
        method: 'DELETE',
        headers: await sellerOf(ch),
      });
      expect(removed.status).toBe(204);
    } finally {
      await ok.close();
      await flaky.close();
    }
  });
});

describe('webhook targets (SSRF)', () => {
  const subscribe = async (channel: string, url: string) =>
    postJson(`${audit.url}/audit/channels/${channel}/webhooks`, { url, secret: 'a-long-enough-secret-1234' }, await managerOf(channel));

  it('refuses subscriptions to the metadata service, private, loopback-but-not-allowed and credentialed URLs', async () => {
    const ch = newChannel();
    for (const [url, range] of [
      ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
      ['http://10.0.0.1/hook', 'private'],
      ['http://[::1]:8080/hook', 'loopback'], // the allow-list names 127.0.0.1 only
      ['http://[::ffff:169.254.169.254]/hook', 'linkLocal'],
    ]) {
      const res = await subscribe(ch, url);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'webhook_target_refused', hint: expect.any(String), details: { range } });
    }
    // a name is judged by what it resolves to
    const host = `${uniqueName('meta')}.partner.test`;
    dnsRecords.set(host, '169.254.169.254');
    expect((await subscribe(ch, `http://${host}/hook`)).body).toMatchObject({ code: 'webhook_target_refused' });
    expect((await subscribe(ch, `http://${uniqueName('nx')}.partner.test/hook`)).body).toMatchObject({
      code: 'webhook_host_unresolvable',
      hint: expect.any(String),
    });
    const creds = await subscribe(ch, 'http://user:pw@127.0.0.1/hook');
    expect(creds.status).toBe(400);
    expect(creds.body).toMatchObject({ code: 'validation_failed', hint: expect.any(String) });
    expect((await getJson<unknown[]>(`${audit.url}/audit/channels/${ch}/webhooks`, await managerOf(ch))).body).toEqual([]);
  });

  it('with the strict policy (production), a loopback URL is refused, and plain http too', async () => {
    const strict = new IncidentFeed(audit.store.incidents, audit.runtime.logger, { webhooks: STRICT_WEBHOOK_POLICY });
    const refusal = (url: string) =>
      strict.subscribe(newChannel(), url, 'a-long-enough-secret-1234', 'mgr-1').then(
        () => null,
        (err: AppError) => [err.status, err.code],
      );
    expect(await refusal('https://127.0.0.1/hook')).toEqual([422, 'webhook_target_refused']);
    expect(await refusal('https://[::ffff:127.0.0.1]/hook')).toEqual([422, 'webhook_target_refused']);
    expect(await refusal('http://127.0.0.1/hook')).toEqual([422, 'webhook_https_required']);
  });

  it('checks the address again at every delivery: a name that moves to a private address gets nothing more', async () => {
    const ch = newChannel();
    const rx = await receiver();
    try {
      const host = `${uniqueName('hook')}.partner.test`;
      dnsRecords.set(host, '127.0.0.1');
      const port = new URL(rx.url).port;
      const sub = await subscribe(ch, `http://${host}:${port}/hook`);
      expect(sub.status).toBe(201);
      const subId = (sub.body as { id: string }).id;

      // delivered to the checked address, with the name in the Host header
      const first = await sim.escalation('opened', { channels: [ch] });
      const got = (await waitFor(
        () => rx.got.find((g) => (JSON.parse(g.body) as FeedEntry).id === `incident:${first}:${ch}`),
        'the first entry delivered',
      )) as { headers: IncomingHttpHeaders };
      expect(got.headers.host).toBe(`${host}:${port}`);

      // the name now points into the private network: the next delivery is refused before any connection
      dnsRecords.set(host, '10.0.0.1');
      const second = await sim.escalation('opened', { channels: [ch] });
      const refused = await waitFor(async () => {
        const res = await getJson<Array<{ status: string; attempts: number; lastError?: string; lastStatus: number }>>(
          `${audit.url}/audit/channels/${ch}/webhooks/${subId}/deliveries`,
          await managerOf(ch),
        );
        return res.body.find((d) => d.lastError === 'address_refused');
      }, 'a delivery refused at delivery time');
      expect(refused).toMatchObject({ lastStatus: 0 });
      expect(refused.status).not.toBe('delivered');
      expect(rx.got.some((g) => (JSON.parse(g.body) as FeedEntry).id === `incident:${second}:${ch}`)).toBe(false);
    } finally {
      await rx.close();
    }
  });
});

describe('webhook settings', () => {
  it('are strict unless WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_PRIVATE say otherwise, read as channels reads them', () => {
    expect(auditSettings({}).webhooks).toEqual({ allowHttp: false, allowPrivate: [] });
    expect(auditSettings({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: '127.0.0.1' }).webhooks).toEqual({
      allowHttp: true,
      allowPrivate: ['127.0.0.1/32'],
    });
    expect(() => auditSettings({ WEBHOOK_ALLOW_PRIVATE: 'intranet' })).toThrow(/WEBHOOK_ALLOW_PRIVATE/);
  });
});
