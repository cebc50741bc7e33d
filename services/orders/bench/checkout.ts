/**
 * checkout@50 and order-status-propagation (issue 22): the whole platform as processes
 * (e2e/support/stack.ts), driven over HTTP as channel apps would.
 *
 * Setup (openShop, shoppers): a web and a mobile-app channel, one product with 20 SKUs on both, a
 * warehouse linked to the web channel with 1,000,000 of each SKU; RATE × BENCH_SECONDS + WARMUP
 * customers registered on the mobile app, each logged in on the web and with one line (a random SKU)
 * in the cart, added on mobile. Orders learns of each cart from cart.cart-changed: every cart is
 * awaited there (untilOrdersHasCart), then the warm-up customers check out (one per SKU at least, so
 * orders has every web listing) until each is accepted.
 *
 * checkout@50: RATE checkouts a second offered, open loop, each one customer's POST /checkouts on the
 * web with its web token and a key of its own. Latency = request sent → 201 (confirmed); a 202 (not
 * decided within ORDERS_CHECKOUT_WAIT_MS) is followed with GET /orders/{id} every 250 ms until the saga
 * confirms, and that answer's arrival is the latency. Any other answer (or none within the client's
 * 15 s) is an error, counted by "<status> <code>".
 * `visible_*`: for every 5th confirmed checkout, the time from its request until the order is listed
 * in the customer's history on the mobile app (GET /orders with the mobile token, every 20 ms).
 * `lost`: LOST_AFTER_MS after the last request, every order of the run (admin GET /orders, paged)
 * whose saga is neither confirmed, done nor failed (compensated); `lost_at` their latest saga steps.
 * `met`: p99 ≤ 1000 ms and lost 0. `steps_p50_p99_ms`: where a confirmed checkout's time went, from
 * its saga log (stepBreakdown). `<process>_cpu_us_per_op`: CPU each service process, FerretDB, Kafka
 * and this driver spent per checkout offered during the run; `platform_cpu_cores` their sum as cores
 * kept busy, `host_cpu_busy_pct` the whole machine's (other work on it included).
 *
 * order-status-propagation: for each confirmed checkout of the run, its orders.order-status event of
 * type order.placed as the sync-monitor tracked it (GET /propagation/events?correlationId=…): the
 * LAST consumer group's first applied ack − the event's occurredAt (every consumer: channels,
 * promotions, cart, sync-monitor). An event is read once every expected service acknowledged it and it
 * names every group seen on the run's events. `slowest_consumer`: the group with the highest p99 of
 * its own lag. `met`: p99 ≤ 500 ms and no event left incomplete.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { BenchRow } from '../../../bench/harness';
import { benchSeconds, cpuMeter, drive, percentile, runStandalone } from '../../../bench/harness';
import { Omnimall, sleepUntil } from '../../../e2e/support/omnimall';
import { SERVICES, startStack, type Stack } from '../../../e2e/support/stack';
import { ADDRESS, openShop, pool, shoppers, untilOrdersHasCart, type Shop, type Shopper } from './checkout-shop';
import { placedEvents, propagationRow } from './order-propagation';

/** BENCH_CHECKOUT_RATE: another offered rate, to find what the machine sustains (the row is then named checkout@<rate>). */
const RATE = Number(process.env.BENCH_CHECKOUT_RATE ?? 50);
export const rows = [`checkout@${RATE}`, 'order-status-propagation'];

const SECONDS = benchSeconds(20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 40);
const CHECKOUT_TARGET_MS = 1000;
const LOST_AFTER_MS = 30_000;
/** How long after its request a 202 is followed, and a confirmed order awaited in the mobile history. */
const FOLLOW_MS = 30_000;
/** How often a 202 is followed: as often as the service itself looks (a 202 is over 3 s already; finer steps would only load orders). */
const FOLLOW_EVERY_MS = 250;
const VISIBLE_MS = 10_000;
const LIST_TIMEOUT_MS = 30_000;
const LIST_DEADLINE_MS = 60_000;
const SETTLED = new Set(['confirmed', 'done', 'failed']);

/** The machine's CPU ticks so far (/proc/stat): all, and all but idle and iowait. */
function hostCpu(): { busy: number; total: number } {
  const t = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = t.reduce((a, b) => a + b, 0);
  return { busy: total - t[3] - (t[4] ?? 0), total };
}

const round = (x: number): number => Math.round(x * 100) / 100;
const secondsSince = (t: number): number => Math.round((Date.now() - t) / 100) / 10;
const log = (msg: string): void => console.error(`  checkout: ${msg}`);

interface Attempt {
  correlationId: string;
  sentAt: number;
  status: number | null;
  orderId: string | null;
  confirmedAt: number | null;
  visibleAt: number | null;
}

interface Tally {
  answered201: number;
  answered202: number;
  confirmedAfter202: number;
  visibleMissing: number;
  errors: Map<string, number>;
}

const countError = (t: Tally, what: string): void => void t.errors.set(what, (t.errors.get(what) ?? 0) + 1);
const listed = (m: Map<string, number>): string =>
  m.size
    ? [...m]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')
    : 'none';

function checkoutBody(s: Shopper): Record<string, unknown> {
  return { cartVersion: s.cartVersion, address: ADDRESS, shipping: 'standard', paymentMethod: { token: 'tok_approve' } };
}

/** The warm-up checkouts: each retried (a fresh key each time) until orders accepts it, which proves its projections ready. */
async function warmUp(api: Omnimall, shop: Shop, warm: Shopper[]): Promise<void> {
  await pool(warm, 4, async (s, i) => {
    const deadline = Date.now() + 60_000;
    for (let attempt = 0; ; attempt++) {
      const r = await api.call('orders', 'post', '/checkouts', {
        token: s.webToken,
        channel: shop.web,
        headers: { 'idempotency-key': `warm-${i}-${attempt}` },
        body: checkoutBody(s),
      });
      if (r.status === 201 || r.status === 202) return;
      // a listing or channel not yet projected by orders is a moment early; anything else is a setup failure
      const early = ['item_not_sold_on_channel', 'channel_unknown', 'cart_empty', 'cart_changed'].includes(r.body?.code);
      if (!early || Date.now() > deadline) throw new Error(`warm-up checkout answered ${r.status} ${JSON.stringify(r.body)}`);
      await sleepUntil(100);
    }
  });
}

/** A 202: GET /orders/{id} until its saga is decided (confirmed: the moment that answer arrived). */
async function follow(api: Omnimall, shop: Shop, s: Shopper, a: Attempt, t: Tally): Promise<void> {
  for (;;) {
    const r = await api.call('orders', 'get', `/orders/${a.orderId}`, { token: s.webToken, channel: shop.web });
    const state = r.body?.saga?.state as string | undefined;
    if (r.status === 200 && (state === 'confirmed' || state === 'done')) {
      a.confirmedAt = r.at;
      t.confirmedAfter202++;
      return;
    }
    if (r.status === 200 && state !== 'running') {
      countError(t, `202 then ${state} ${r.body?.saga?.failure?.code ?? ''}`.trim());
      return;
    }
    if (r.status !== 200) {
      countError(t, `202 then GET ${r.status} ${r.body?.code ?? ''}`.trim());
      return;
    }
    if (Date.now() - a.sentAt > FOLLOW_MS) {
      countError(t, '202 then undecided');
      return;
    }
    await sleepUntil(FOLLOW_EVERY_MS);
  }
}

/** Until the confirmed order is listed in the customer's history on the mobile app. */
async function watchVisible(api: Omnimall, shop: Shop, s: Shopper, a: Attempt, t: Tally): Promise<void> {
  const deadline = Date.now() + VISIBLE_MS;
  for (;;) {
    const r = await api
      .call('orders', 'get', '/orders', { token: s.mobileToken, channel: shop.mobile })
      .catch(() => ({ status: 0, body: null, at: 0 }));
    if (r.status === 200 && (r.body as Array<{ id: string }>).some((o) => o.id === a.orderId)) {
      a.visibleAt = r.at;
      return;
    }
    if (Date.now() > deadline) {
      t.visibleMissing++;
      return;
    }
    await sleepUntil(20);
  }
}

/** Every order created since `since` (admin, newest first, paged by createdAt). */
interface OrderSeen {
  id: string;
  createdAt: number;
  saga: { state: string; steps: Array<{ name: string; state: string; attempts: number; startedAt: number; endedAt: number | null }> };
}

/**
 * A page of GET /orders, given up to 3 attempts of LIST_TIMEOUT_MS (LIST_DEADLINE_MS for the whole
 * listing): an overloaded orders answers slowly (the client's usual 15 s bound would fail the row), and
 * an unanswered check is reported, not thrown.
 */
async function ordersPage(url: string, adminToken: string, before: number, deadline: number): Promise<OrderSeen[]> {
  let last: unknown = 'out of time';
  for (let attempt = 0; attempt < 3 && Date.now() < deadline; attempt++) {
    try {
      const r = await fetch(`${url}/orders?limit=200&before=${before}`, {
        headers: { authorization: `Bearer ${adminToken}` },
        signal: AbortSignal.timeout(Math.min(LIST_TIMEOUT_MS, deadline - Date.now())),
      });
      if (r.status === 200) return (await r.json()) as OrderSeen[];
      last = `${r.status} ${await r.text()}`;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`GET /orders did not answer 200 (3 attempts, within ${LIST_DEADLINE_MS / 1000} s in all): ${String(last).slice(0, 200)}`);
}

async function ordersSince(
  url: string,
  adminToken: string,
  since: number,
): Promise<{ found: Map<string, OrderSeen>; error: string | null }> {
  const found = new Map<string, OrderSeen>();
  let before = Date.now() + 1;
  const deadline = Date.now() + LIST_DEADLINE_MS;
  try {
    for (;;) {
      const page = await ordersPage(url, adminToken, before, deadline);
      const fresh = page.filter((o) => o.createdAt >= since && !found.has(o.id));
      for (const o of fresh) found.set(o.id, o);
      if (!fresh.length || page.length < 200 || page.at(-1)!.createdAt < since) return { found, error: null };
      // orders created in the same millisecond as the page's last are read again (and kept once)
      before = page.at(-1)!.createdAt + 1;
    }
  } catch (err) {
    return { found, error: String(err) };
  }
}

/**
 * Where a confirmed checkout's time went, from its saga log: `accept` request sent → order created (HTTP,
 * validation, projections), each step started → ended (reserve: inventory's answer over Kafka; authorise:
 * the provider), `answer` authorisation ended → confirmation seen by the client (the confirming write and
 * the reply, or the 202 follow-up). Percentiles per part, as "part p50/p99".
 */
function stepBreakdown(attempts: Attempt[], orders: Map<string, OrderSeen>): string {
  const parts = new Map<string, number[]>();
  const add = (part: string, ms: number): void => void parts.set(part, [...(parts.get(part) ?? []), ms]);
  for (const a of attempts) {
    const o = a.orderId !== null && a.confirmedAt !== null ? orders.get(a.orderId) : undefined;
    if (!o) continue;
    add('accept', o.createdAt - a.sentAt);
    for (const st of o.saga.steps) if (st.endedAt !== null) add(st.name, st.endedAt - st.startedAt);
    const authorised = o.saga.steps.find((st) => st.name === 'authorise')?.endedAt;
    if (authorised) add('answer', a.confirmedAt! - authorised);
  }
  return [...parts]
    .map(([part, ms]) => {
      const sorted = ms.sort((x, y) => x - y);
      return `${part} ${Math.round(percentile(sorted, 50))}/${Math.round(percentile(sorted, 99))}`;
    })
    .join(', ');
}

/** The services' own account of failures (their logs are at warn and above). */
function reportServiceErrors(stack: Stack): void {
  for (const svc of Object.values(stack.services)) {
    const errs = svc
      .log()
      .split('\n')
      .filter((l) => /"level":"error"|Error/.test(l));
    if (errs.length)
      log(
        `${svc.name} logged ${errs.length} error lines, e.g.:\n${errs
          .slice(0, 3)
          .map((l) => l.slice(0, 1200))
          .join('\n')}`,
      );
  }
}

export async function run(): Promise<BenchRow[]> {
  let stack: Stack | undefined;
  try {
    const setupStart = Date.now();
    // registrations come from one address here: identity's per-address limit (100 an hour) would refuse most
    stack = await startStack({ env: { REGISTER_LIMIT_PER_HOUR: '1000000' } });
    const api = new Omnimall(stack);
    const tag = stack.tag;
    const shop = await openShop(stack, api);
    log(`shop open after ${secondsSince(setupStart)} s`);
    const total = RATE * SECONDS;
    const pids = Object.fromEntries(SERVICES.map((name) => [name.replace('-', '_'), stack!.services[name].child.pid]));
    const setupMeter = cpuMeter(['ferretdb', 'kafka'], pids);
    const everyone = await shoppers(api, shop, WARMUP + total, (i) =>
      i < WARMUP ? shop.skus[i % shop.skus.length] : shop.skus[Math.floor(Math.random() * shop.skus.length)],
    );
    log(
      `${everyone.length} customers with a cart after ${secondsSince(setupStart)} s; CPU µs per customer: ${JSON.stringify(setupMeter.per(everyone.length))}`,
    );
    await pool(everyone, 8, (s) => untilOrdersHasCart(api, shop, s, 60_000));
    const warm = everyone.slice(0, WARMUP);
    const buyers = everyone.slice(WARMUP);
    await warmUp(api, shop, warm);
    const setupS = secondsSince(setupStart);
    log(`orders holds every cart, ${warm.length} warm-up checkouts accepted; setup took ${setupS} s`);

    // The run.
    const tally: Tally = { answered201: 0, answered202: 0, confirmedAfter202: 0, visibleMissing: 0, errors: new Map() };
    const attempts: Attempt[] = [];
    const fire = async (i: number): Promise<void> => {
      const s = buyers[i];
      const a: Attempt = {
        correlationId: api.newCorrelationId('checkout'),
        sentAt: Date.now(),
        status: null,
        orderId: null,
        confirmedAt: null,
        visibleAt: null,
      };
      attempts.push(a);
      try {
        const r = await api.call('orders', 'post', '/checkouts', {
          token: s.webToken,
          channel: shop.web,
          correlationId: a.correlationId,
          headers: { 'idempotency-key': `bench-${tag}-${i}` },
          body: checkoutBody(s),
        });
        a.sentAt = r.sentAt;
        a.status = r.status;
        if (r.status === 201) {
          tally.answered201++;
          a.orderId = r.body.id;
          a.confirmedAt = r.at;
        } else if (r.status === 202) {
          tally.answered202++;
          a.orderId = r.body.id;
          await follow(api, shop, s, a, tally);
        } else {
          countError(tally, `${r.status} ${r.body?.code ?? ''}`.trim());
          return;
        }
        if (a.confirmedAt !== null && i % 5 === 0) await watchVisible(api, shop, s, a, tally);
      } catch (err) {
        countError(tally, `no answer (${String(err).slice(0, 60)})`);
      }
    };
    const meter = cpuMeter(['ferretdb', 'kafka'], pids);
    const host0 = hostCpu();
    const runStart = Date.now();
    await drive(RATE, SECONDS, fire);
    const driveS = (Date.now() - runStart) / 1000;
    const cpu = meter.per(attempts.length);
    const host1 = hostCpu();
    const lastSent = Math.max(...attempts.map((a) => a.sentAt));
    log(
      `${attempts.length} checkouts offered in ${round(driveS)} s; reading propagation, then the sagas ${LOST_AFTER_MS / 1000} s after the last request`,
    );

    // Propagation is read while the lost-saga check waits.
    const confirmed = attempts.filter((a) => a.confirmedAt !== null);
    const [found] = await Promise.all([
      placedEvents(
        api,
        shop.admin.token,
        tag,
        confirmed.map((a) => a.correlationId),
        lastSent + LOST_AFTER_MS,
      ),
      sleepUntil(Math.max(0, lastSent + LOST_AFTER_MS - Date.now())),
    ]);
    const listing = await ordersSince(stack.url('orders'), shop.admin.token, runStart);
    const orders = listing.found;
    const checkedAfterS = round((Date.now() - lastSent) / 1000);
    if (listing.error) log(`the lost-saga check failed: ${listing.error}`);
    const sagaStates = new Map<string, number>();
    for (const o of orders.values()) sagaStates.set(o.saga.state, (sagaStates.get(o.saga.state) ?? 0) + 1);
    const lostOrders = [...orders.values()].filter((o) => !SETTLED.has(o.saga.state));
    const lost = listing.error ? null : lostOrders.length;
    // where the lost sagas stand: their latest step
    const lostAt = new Map<string, number>();
    for (const o of lostOrders) {
      const step = o.saga.steps.at(-1);
      const at = step ? `${step.name} ${step.state} (attempt ${step.attempts})` : 'no step';
      lostAt.set(at, (lostAt.get(at) ?? 0) + 1);
    }
    const unlisted = attempts.filter((a) => a.orderId !== null && !orders.has(a.orderId)).length;
    if (tally.errors.size || lost) reportServiceErrors(stack);

    const latencies = confirmed.map((a) => a.confirmedAt! - a.sentAt).sort((x, y) => x - y);
    const visible = confirmed
      .filter((a) => a.visibleAt !== null)
      .map((a) => a.visibleAt! - a.sentAt)
      .sort((x, y) => x - y);
    const p99 = percentile(latencies, 99);
    return [
      {
        name: `checkout@${RATE}`,
        target_rate: RATE,
        achieved_rate: round(confirmed.length / driveS),
        p50_ms: round(percentile(latencies, 50)),
        p95_ms: round(percentile(latencies, 95)),
        p99_ms: round(p99),
        samples: latencies.length,
        met: p99 <= CHECKOUT_TARGET_MS && lost === 0 && unlisted === 0,
        target_p99_ms: CHECKOUT_TARGET_MS,
        lost,
        lost_checked_after_s: checkedAfterS,
        lost_at: listed(lostAt),
        visible_p50_ms: round(percentile(visible, 50)),
        visible_p99_ms: round(percentile(visible, 99)),
        visible_samples: visible.length,
        visible_missing: tally.visibleMissing,
        offered: attempts.length,
        answered_201: tally.answered201,
        answered_202: tally.answered202,
        confirmed_after_202: tally.confirmedAfter202,
        errors: listed(tally.errors),
        saga_states_after_30s: listed(sagaStates),
        orders_not_listed: unlisted,
        steps_p50_p99_ms: stepBreakdown(attempts, orders),
        seconds: SECONDS,
        customers: everyone.length,
        setup_s: setupS,
        host_cores: cpus().length,
        // cores the measured processes (services, FerretDB, Kafka, this driver) kept busy on average during the run
        platform_cpu_cores: round((Object.values(cpu).reduce<number>((sum, us) => sum + (us ?? 0), 0) * attempts.length) / 1e6 / driveS),
        host_cpu_busy_pct: Math.round((100 * (host1.busy - host0.busy)) / Math.max(1, host1.total - host0.total)),
        ...cpu,
      },
      propagationRow(tag, found),
    ];
  } finally {
    await stack?.stop();
  }
}

if (require.main === module) runStandalone(run);
