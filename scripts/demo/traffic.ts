/**
 * Light live traffic for the dashboard: the seeded customers add and remove cart lines and read their
 * carts on their channels, and the warehouses count stock now and then — a few requests a second, on
 * loopback, for a bounded time (stopped early by Ctrl-C).
 */
import type { Omnimall, Reply } from '../../e2e/support/omnimall';
import { say, type DemoConfig } from './config';
import type { Seeded } from './seed';

const TICK_MS = 250;
const REPORT_EVERY_MS = 10_000;

export interface TrafficSummary {
  requests: number;
  ok: number;
  refused: number;
  failed: number;
}

export async function liveTraffic(api: Omnimall, cfg: DemoConfig, s: Seeded, seconds: number): Promise<TrafficSummary> {
  const sum: TrafficSummary = { requests: 0, ok: 0, refused: 0, failed: 0 };
  const sessions = [...s.customers];
  if (!sessions.length || seconds <= 0) return sum;
  let stopped = false;
  const onSignal = (): void => {
    stopped = true;
  };
  process.once('SIGINT', onSignal);
  const count = (r: Reply | null): Reply | null => {
    sum.requests++;
    if (!r) sum.failed++;
    else if (r.status < 300) sum.ok++;
    else if (r.status < 500) sum.refused++;
    else sum.failed++;
    return r;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];

  /** A customer's call, logging in again through the channel's app when the access token expired. */
  const asCustomer = async (i: number, method: string, path: string, body?: unknown): Promise<Reply | null> => {
    const c = sessions[i];
    const send = (): Promise<Reply> => api.call('cart', method, path, { token: c.token, channel: c.channel, body });
    try {
      let r = await send();
      if (r.status === 401) {
        const app = s.channels.find((x) => x.code === c.channel)!.app;
        sessions[i] = await api.login(app, c.email, c.password);
        r = await send();
      }
      return r;
    } catch {
      return null;
    }
  };
  let admin = s.admin.token;
  let counted = 0;
  const stockCount = async (): Promise<Reply | null> => {
    const sku = pick(s.skus);
    const market = pick(['de', 'gb'] as const);
    const send = (): Promise<Reply> =>
      api.call('inventory', 'post', `/stock/${sku}/operations`, {
        token: admin,
        headers: { 'idempotency-key': `demo-${cfg.tag}-count-${++counted}` },
        body: {
          kind: 'set',
          location: s.warehouse[market],
          bucket: 'onHand',
          quantity: 20 + Math.floor(Math.random() * 40),
          reason: 'demo: cycle count',
        },
      });
    try {
      let r = await send();
      if (r.status === 401) {
        admin = (await api.staffLogin(cfg.admin.email, cfg.admin.password)).token;
        r = await send();
      }
      return r;
    } catch {
      return null;
    }
  };

  const until = Date.now() + seconds * 1000;
  let nextReport = Date.now() + REPORT_EVERY_MS;
  say(`live traffic for ${seconds} s (DEMO_TRAFFIC=0 skips it, DEMO_TRAFFIC_SECONDS sets it; Ctrl-C stops it)`);
  try {
    for (let tick = 0, next = Date.now(); !stopped && Date.now() < until; tick++, next += TICK_MS) {
      await new Promise((ok) => setTimeout(ok, Math.max(0, next - Date.now()))); // paced by the clock
      const i = Math.floor(Math.random() * sessions.length);
      const cart = count(await asCustomer(i, 'get', '/cart'));
      const lines = (cart?.body?.lines ?? []) as { sku: string }[];
      if (lines.length > 3) count(await asCustomer(i, 'delete', `/cart/lines/${encodeURIComponent(pick(lines).sku)}`));
      else count(await asCustomer(i, 'post', '/cart/lines', { sku: pick(s.skus), quantity: 1 + (tick % 2) }));
      if (tick % 20 === 0) count(await stockCount());
      if (Date.now() >= nextReport) {
        nextReport += REPORT_EVERY_MS;
        say(
          `traffic: ${Math.max(0, Math.round((until - Date.now()) / 1000))} s left; ${sum.requests} requests (${sum.ok} ok, ${sum.refused} refused, ${sum.failed} failed)`,
        );
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
  say(
    `traffic done: ${sum.requests} requests (${sum.ok} ok, ${sum.refused} refused, ${sum.failed} failed)${stopped ? ', stopped by Ctrl-C' : ''}`,
  );
  return sum;
}
