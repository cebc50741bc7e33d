/**
 * e2e-propagation@200 (issue 8): all five services as processes (e2e/support/stack.ts), mixed traffic
 * at 200 events/s for BENCH_SECONDS (default 60):
 *   - ~97.5 % cart writes: CUSTOMERS customers, each changing the quantity of a line on one of four
 *     channels (web, mobile app, kiosk, mini app), each holding a live cart stream on another channel;
 *   - 2 % customer status changes (loyalty tier, identity.customer-status);
 *   - 0.5 % channel changes (a channel renamed, channels.channel-changed).
 * Each operation produces one business event. The latency measured OUTSIDE the monitor is, for each
 * cart change, the time from the event's occurredAt (carried in the pushed frame) to this process
 * parsing the frame on the customer's other-channel stream: what a customer on another channel
 * waits. `monitor_p99_ms` is what the sync-monitor reports for the same population: p99 of
 * appliedAt − occurredAt of the cart service's acks of `cart.line_updated` events over its 5-minute
 * window (read once it has caught up with every ack); `monitor_push_group_p99_ms` is the p99 of the
 * lags the monitor recorded for this run's push group's first ack of each write (per event), which
 * separates a timing difference from a population difference (the window also counts every other
 * cart ack of those events). Status and channel changes are load here; the
 * e2e test measures those propagations one by one.
 * `<service>_cpu_us_per_op` (and FerretDB's, Kafka's, this driver's as `client`): the CPU each
 * process spent per operation produced during the run, i.e. where one business event's cost lands.
 */
import type { BenchRow } from '../../../bench/harness';
import { cpuMeter, drive, percentile, runStandalone } from '../../../bench/harness';
import { CartStream, Omnimall, until } from '../../../e2e/support/omnimall';
import { SERVICES, startStack, type Stack } from '../../../e2e/support/stack';

const RATE = 200;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 80);
const KINDS = ['web', 'mobile_app', 'kiosk', 'mini_app'] as const;
const TIERS = ['standard', 'silver', 'gold', 'platinum'];

const round = (x: number): number => Math.round(x * 100) / 100;

async function pool<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

export async function run(): Promise<BenchRow[]> {
  let stack: Stack | undefined;
  const streams: CartStream[] = [];
  try {
    stack = await startStack();
    const api = new Omnimall(stack);
    const tag = stack.tag;
    const admin = await api.staffLogin(stack.admin.email, stack.admin.password);
    const codes = KINDS.map((k) => `${k.replace('_', '')}-${tag}`.slice(0, 32));
    const mgr = await api.createStaff(admin.token, ['channel_manager'], codes);
    const manager = await api.staffLogin(mgr.email, mgr.password);
    for (const [i, code] of codes.entries()) await api.registerChannel(admin.token, code, KINDS[i], manager.id);
    for (const code of codes) await api.activateChannel(admin.token, manager.token, code);
    // Channel apps: customers register and log in through a channel's app (its API key); each token is bound to that channel.
    const creds = await Promise.all(codes.map((code) => api.channelKey(admin.token, code)));
    const sku = `mug-${tag}-350`;
    await api.createProduct(admin.token, `mug-${tag}`, [sku]);
    for (const code of codes) await api.assign(admin.token, code, `mug-${tag}`, [{ sku, amountMinor: 1299 }]);
    await Promise.all(codes.map((c, i) => Promise.all([api.identityKnowsChannel(admin.token, c), api.cartSells(creds[i], sku)])));

    // Customers: registered on their writing channel, a live stream on the next channel, one line in the cart.
    const customers: Array<{ id: string; token: string; channel: string; k: number; busy: boolean }> = [];
    await pool(
      Array.from({ length: CUSTOMERS }, (_, i) => i),
      4,
      async (i) => {
        const channel = codes[i % codes.length];
        const next = codes[(i + 1) % codes.length];
        const c = await api.registerCustomer(creds[i % codes.length]);
        // The stream is on the next channel: a login there gives a token bound to it.
        const there = await api.login(creds[(i + 1) % codes.length], c.email, c.password);
        streams.push(await CartStream.open(stack!.url('cart'), there.token, next));
        await api.expect(200, 'cart', 'post', '/cart/lines', { token: c.token, channel, body: { sku, quantity: 1 } });
        customers.push({ id: c.id, token: c.token, channel, k: 1, busy: false });
      },
    );

    // The run.
    const counts = { cart: 0, cartSkipped: 0, status: 0, channel: 0, failed: 0 };
    const sentWrites = new Set<string>(); // `${cartId}:${version}` of committed writes during the run
    const runStart = Date.now();
    const corr = (what: string) => api.newCorrelationId(`bench-${what}`);
    let c = 0;
    const fire = async (i: number): Promise<void> => {
      try {
        if (i % 50 === 25) {
          const who = customers[((i / 50) % customers.length) | 0];
          await api.expect(200, 'identity', 'post', `/admin/customers/${who.id}/tier`, {
            token: admin.token,
            body: { loyaltyTier: TIERS[((i / 50) % TIERS.length) | 0] },
            correlationId: corr('tier'),
          });
          counts.status++;
        } else if (i % 200 === 100) {
          const code = codes[((i / 200) % codes.length) | 0];
          await api.expect(200, 'channels', 'patch', `/channels/${code}`, {
            token: admin.token,
            body: { name: `E2E channel ${code} #${i}` },
            correlationId: corr('channel'),
          });
          counts.channel++;
        } else {
          // Round-robin over customers whose previous write has finished (one writer per cart, as an app would).
          let who = customers[c++ % customers.length];
          for (let n = 0; who.busy && n < customers.length; n++) who = customers[c++ % customers.length];
          if (who.busy) {
            counts.cartSkipped++;
            return;
          }
          who.busy = true;
          try {
            who.k++;
            const r = await api.expect(200, 'cart', 'put', `/cart/lines/${sku}`, {
              token: who.token,
              channel: who.channel,
              body: { quantity: (who.k % 9) + 1 },
              correlationId: corr('cart'),
            });
            sentWrites.add(`${who.id}:${r.body.version}`);
            counts.cart++;
          } finally {
            who.busy = false;
          }
        }
      } catch (err) {
        counts.failed++;
        if (counts.failed <= 5) console.error(`e2e-propagation: ${String(err).slice(0, 300)}`);
        throw err;
      }
    };
    const meter = cpuMeter(
      ['ferretdb', 'kafka'],
      Object.fromEntries(SERVICES.map((s) => [s.replace('-', '_'), stack!.services[s].child.pid])),
    );
    const { achieved, errors } = await drive(RATE, SECONDS, fire);
    const elapsedS = (Date.now() - runStart) / 1000;
    const cpu = meter.per(counts.cart + counts.status + counts.channel);

    // Outside measurement: every committed write of the run, seen on its customer's other-channel stream.
    const lagOf = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const s of streams)
        for (const f of s.received)
          if (f.event === 'cart-changed' && f.data.change === 'line_updated' && f.receivedAt >= runStart)
            m.set(`${f.data.cartId}:${f.data.version}`, f.receivedAt - f.data.occurredAt);
      return m;
    };
    await until('every committed write to be pushed', async () => [...sentWrites].every((k) => lagOf().has(k)), 30_000, 200).catch(
      () => undefined,
    );
    const lags = lagOf();
    const outside = [...sentWrites]
      .map((k) => lags.get(k))
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);

    // The monitor's view of the same population, once it has processed the acks.
    const q = `/propagation/percentiles?window=5m&consumer=cart&type=cart.line_updated`;
    let monitor = (await api.expect(200, 'sync-monitor', 'get', q, { token: admin.token })).body;
    let caughtUp = false;
    const waitStart = Date.now();
    while (Date.now() - waitStart < 120_000) {
      monitor = (await api.expect(200, 'sync-monitor', 'get', q, { token: admin.token })).body;
      if (monitor.count >= outside.length) {
        caughtUp = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const monitorCatchUpS = round((Date.now() - waitStart) / 1000);

    // The same comparison event by event: the lag the monitor recorded for this run's push group's ack
    // of each pushed write (GET /propagation/events/:id), and how many other cart acks it counted.
    const frames = new Map<string, { eventId: string }>();
    for (const st of streams)
      for (const f of st.received) if (f.event === 'cart-changed') frames.set(`${f.data.cartId}:${f.data.version}`, f.data);
    const pushGroup = `cart.${tag}.push.`;
    const perEvent: number[] = [];
    let otherCartAcks = 0;
    let redelivered = 0;
    const firstAttempts: number[] = [];
    await pool(
      [...sentWrites].filter((k) => frames.has(k)),
      8,
      async (k) => {
        const r = await api.call('sync-monitor', 'get', `/propagation/events/${frames.get(k)!.eventId}`, { token: admin.token });
        if (r.status !== 200) return;
        const mine: Array<{ lagMs: number; attempt: number }> = [];
        for (const a of r.body.acks as Array<{ group: string; service: string; lagMs: number; outcome: string; attempt: number }>) {
          if (a.group.startsWith(pushGroup) && a.outcome === 'applied') mine.push(a);
          else if (a.service === 'cart') otherCartAcks++;
        }
        if (!mine.length) return;
        // The first delivery's ack is the propagation; later ones come from re-deliveries (the monitor's SLA retries).
        perEvent.push(Math.min(...mine.map((a) => a.lagMs)));
        if (mine.length > 1) redelivered++;
        firstAttempts.push(mine.reduce((x, y) => (y.lagMs < x.lagMs ? y : x)).attempt);
      },
    );
    perEvent.sort((a, b) => a - b);

    if (counts.failed) {
      // The services' own account of the failures (their logs are at warn and above).
      for (const svc of Object.values(stack.services)) {
        const errs = svc
          .log()
          .split('\n')
          .filter((l) => /"level":"error"|Error/.test(l));
        if (errs.length)
          console.error(
            `e2e-propagation: ${svc.name} logged ${errs.length} error lines, e.g.:\n${errs
              .slice(0, 3)
              .map((l) => l.slice(0, 1200))
              .join('\n')}`,
          );
      }
    }
    const produced = counts.cart + counts.status + counts.channel;
    return [
      {
        name: 'e2e-propagation@200',
        target_rate: RATE,
        achieved_rate: round(produced / elapsedS),
        p50_ms: round(percentile(outside, 50)),
        p95_ms: round(percentile(outside, 95)),
        p99_ms: round(percentile(outside, 99)),
        samples: outside.length,
        monitor_p99_ms: monitor.p99,
        monitor_p50_ms: monitor.p50,
        monitor_samples: monitor.count,
        monitor_caught_up: caughtUp,
        monitor_push_group_p99_ms: round(percentile(perEvent, 99)),
        monitor_push_group_samples: perEvent.length,
        monitor_other_cart_acks: otherCartAcks,
        monitor_events_acked_twice_by_push_group: redelivered,
        monitor_first_ack_not_attempt_1: firstAttempts.filter((a) => a !== 1).length,
        monitor_catch_up_s: monitorCatchUpS,
        seconds: SECONDS,
        customers: CUSTOMERS,
        cart_writes: counts.cart,
        cart_writes_skipped_busy: counts.cartSkipped,
        status_changes: counts.status,
        channel_changes: counts.channel,
        failed_requests: errors,
        writes_not_pushed: sentWrites.size - outside.length,
        driver_completed_rate: achieved,
        ...cpu,
      },
    ];
  } finally {
    await Promise.all(streams.map((s) => s.close()));
    await stack?.stop();
  }
}

if (require.main === module) runStandalone(run);
