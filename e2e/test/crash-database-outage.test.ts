/**
 * Crash test (issue 18, items 3 and 6): a database outage during writes. Every service of a stack of
 * this run's own reaches FerretDB through a TCP proxy; the test writes at a steady pace (channel
 * registrations, a write to channels' database), closes the proxy as a killed FerretDB would vanish,
 * keeps writing, and reopens it.
 *
 * Holds: during the outage every write answers 503 with code `database_unavailable`
 * and a hint, each within ~1 s (fail fast, no hanging on server selection); no answer is a 500; the
 * first write after the proxy reopens succeeds within 5 s; every write answered 201 is there after.
 * Bounded: the outage lasts 3 s, the whole test well under a minute after the stack started.
 */
import { channelRegistration, Omnimall, until, type Reply } from '../support/omnimall';
import { logsOnFailure, startStack, type Stack } from '../support/stack';
import { TcpProxy } from '@omnimall/service-kit/testing';

const OUTAGE_MS = 3_000;
const FERRETDB = { host: '127.0.0.1', port: Number(process.env.FERRETDB_PORT ?? 27017) };

let stack: Stack;
let api: Omnimall;
let admin: { id: string; token: string };
const proxy = new TcpProxy(FERRETDB);
const withLogs = logsOnFailure(() => stack);

beforeAll(async () => {
  await proxy.open();
  stack = await startStack({ env: { MONGO_URL: `mongodb://${proxy.address}` } });
  api = new Omnimall(stack);
  admin = await api.staffLogin(stack.admin.email, stack.admin.password);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await proxy.close();
}, 60_000);

let seq = 0;
function register(): Promise<Reply & { code: string }> {
  const code = `crash-${stack.tag}-${++seq}`;
  const body = channelRegistration(code, 'web', admin.id);
  return api.call('channels', 'post', '/channels', { token: admin.token, body }).then((r) => ({ ...r, code }));
}

it(
  'answers 503 database_unavailable fast while FerretDB is gone, never 500, and writes again within 5 s of its return',
  () =>
    withLogs(async () => {
      const first = await register();
      expect(first.status).toBe(201);

      await proxy.close();
      const outageEnds = Date.now() + OUTAGE_MS;
      const during: Array<Reply & { code: string }> = [];
      while (Date.now() < outageEnds) during.push(await register());
      await proxy.open();
      const reopenedAt = Date.now();
      const after = await until(
        'a write to succeed after the database returned',
        async () => {
          const r = await register();
          expect(r.status).not.toBe(500);
          return r.status === 201 && r;
        },
        10_000,
        50,
      );

      expect(during.length).toBeGreaterThan(0);
      const summary = during.map((r) => `${r.status} ${r.body?.code} ${r.at - r.sentAt}ms`);
      expect(during.filter((r) => r.status === 500)).toEqual([]);
      // the first write may still be in flight when the connections reset; every one after fails fast with the code
      for (const r of during.slice(1)) {
        expect({ status: r.status, code: r.body?.code }).toEqual({ status: 503, code: 'database_unavailable' });
        expect(typeof r.body?.hint).toBe('string');
        expect(r.at - r.sentAt).toBeLessThanOrEqual(1_200);
      }
      expect(after.at - reopenedAt).toBeLessThanOrEqual(5_000);
      // what was acknowledged is there
      for (const ok of [first, after, ...during.filter((r) => r.status === 201)]) {
        expect((await api.call('channels', 'get', `/channels/${ok.code}`, { token: admin.token })).status).toBe(200);
      }
      console.log(
        `outage answers: ${summary.length} (${[...new Set(summary.map((s) => s.split(' ').slice(0, 2).join(' ')))].join(', ')}); first write after reopening ${after.at - reopenedAt} ms`,
      );
    }),
  60_000,
);
