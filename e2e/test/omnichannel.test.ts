/**
 * The first end-to-end test of omnimall (issue 8, item 7): identity, channels, catalog-sync, cart,
 * inventory and the sync-monitor run as processes from their build output, against the local Kafka / FerretDB /
 * schema registry, and are driven over HTTP only, as channel apps and staff would.
 *
 *  A. a customer fills the cart on the mobile channel; on the web channel the full cart is there
 *     within 2 s, and the web session's live stream receives the change within 2 s;
 *  B. a ban by an admin (acting on the mobile channel) is refused by cart writes on the web channel within 2 s;
 *  C. a channel put into maintenance refuses cart writes within 2 s;
 *  D. a seller's stock change on the master warehouse shows on the lines of carts on the web and the
 *     mobile channel within 2 s (the inventory's inventory.stock-level, projected by the cart), and
 *     running out is flagged there as fast;
 *  F. a cart filled on mobile is checked out on the web (orders' saga over inventory, promotions and the
 *     payment provider): within 2 s of the confirmation the order is in the customer's history on mobile,
 *     at the web channel's partner webhook, the cart is empty, the stock committed and the points redeemed;
 *  G. the audit holds the evidence of B's ban and of the cart's refusals (platform.exception), C's
 *     maintenance in the channel's trail, a checkpoint over them, and `npm run audit:verify` (the CLI,
 *     as an outside auditor runs it) finds the whole log intact;
 *  E. a promotion scheduled by an admin starts while one customer has the same cart open on the web and
 *     the mobile channel: both show the discounted price from the promotion's start instant, neither
 *     before it, and the first discounted views of the two channels arrive within a polling step.
 *
 * For each, the lag the sync-monitor reports for the cart's acknowledgement of the event agrees with
 * the lag this test measures within 50 ms. What each lag measures (all on the one machine clock that
 * the services and this test share):
 *
 *  - monitor lag = ack.appliedAt − event.occurredAt, both stamped by the services: `occurredAt` by the
 *    producer when it builds the event (just before its database write), `appliedAt` by the cart's
 *    consumer right after its handler finished. The monitor only subtracts them.
 *  - test lag    = (moment this test observed the cart's effect) − event.occurredAt, where occurredAt
 *    is read from the monitor (or, in A, from the pushed frame itself, which carries the same value)
 *    and the observation is this test's own clock:
 *      A: the web session's SSE frame was parsed (the cart's push consumer is what writes it);
 *      B, C: the response of the first refused cart write arrived (the cart's projection consumer is
 *         what the refusal reads). Probes (see probeUntilRefused) run in several lanes back to back,
 *         so this over-states the effect's moment by about one refused probe's round trip; the test
 *         also checks the lower bound (the cart applied the change after the last probe answered the
 *         old way was sent).
 *    In A the test's moment is one point, and it differs from appliedAt only by the loopback hop from
 *    the handler's socket write to this test. In B and C an HTTP probe can only bracket the moment the
 *    change became visible: after the last probe still answered the old way was sent, before the first
 *    refusal arrived. The monitor's lag must lie within 50 ms of that bracket (expectAgreement), and
 *    the bracket must be narrow enough to mean something. Note that appliedAt is stamped after the
 *    consumer's handler returned, which can be a little later than the moment its write became visible
 *    (observed: up to ~30 ms on a loaded machine), so the monitor's lag may exceed the upper end slightly.
 * The 2 s requirements are measured from the response of the causing request (the add, the ban, the
 * maintenance transition), as a user would experience them.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ackOf, CartStream, firstAckOf, Omnimall, until, type ChannelCredential, type MonitorEvent, type Reply } from '../support/omnimall';
import { ROOT, startStack, type Stack, logsOnFailure } from '../support/stack';

const SLA_MS = 2000;
const AGREEMENT_MS = 50;
const PROMOTION_LEAD_MS = 3000;

let stack: Stack | undefined;
let api: Omnimall;
let admin: { id: string; token: string };
let manager: { id: string; token: string };
let mobile: string;
let web: string;
/** The channel apps' API keys: customers register and log in through them (tokens bound to the channel). */
let mobileApp: ChannelCredential;
let webApp: ChannelCredential;
let sku: string;
/** A SKU no channel sells (see probeUntilRefused). */
let unsold: string;
const streams: CartStream[] = [];
/** Scenario B's customer: G finds the evidence of the ban and of the refusals. */
let bannedCustomer: string | undefined;
const measured: Array<Record<string, unknown>> = [];

const withLogs = logsOnFailure(() => stack);

beforeAll(async () => {
  await withLogs(async () => {
    // promotions are scheduled at least this long before their start (scenario E)
    stack = await startStack({
      // the partner endpoint of scenario F listens on loopback over plain http
      env: { PROMOTIONS_LEAD_MS: String(PROMOTION_LEAD_MS), WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' },
    });
    api = new Omnimall(stack);
    const tag = stack.tag;
    mobile = `mobile-${tag}`;
    web = `web-${tag}`;

    // Staff: the bootstrap admin, and a channel manager for both channels.
    admin = await api.staffLogin(stack.admin.email, stack.admin.password);
    const mgr = await api.createStaff(admin.token, ['channel_manager'], [mobile, web]);
    manager = await api.staffLogin(mgr.email, mgr.password);

    // Two channels, through the whole onboarding lifecycle to active.
    await api.registerChannel(admin.token, mobile, 'mobile_app', manager.id);
    await api.registerChannel(admin.token, web, 'web', manager.id);
    await api.activateChannel(admin.token, manager.token, mobile);
    await api.activateChannel(admin.token, manager.token, web);
    [mobileApp, webApp] = await Promise.all([api.channelKey(manager.token, mobile), api.channelKey(manager.token, web)]);

    // A product with one SKU, assigned with a shelf price to both channels.
    sku = `mug-${tag}-350`;
    unsold = `unlisted-${tag}`;
    await api.createProduct(admin.token, `mug-${tag}`, [sku]);
    await api.assign(admin.token, mobile, `mug-${tag}`, [{ sku, amountMinor: 1299 }]);
    await api.assign(admin.token, web, `mug-${tag}`, [{ sku, amountMinor: 1349 }]);

    // Everything above travelled as events; wait until the services that need it have it.
    await Promise.all([
      api.identityKnowsChannel(admin.token, mobile),
      api.identityKnowsChannel(admin.token, web),
      api.cartSells(mobileApp, sku),
      api.cartSells(webApp, sku),
    ]);
  });
}, 150_000);

afterAll(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await stack?.stop();
  if (measured.length) console.log(`e2e lags (ms):\n${measured.map((m) => JSON.stringify(m)).join('\n')}`);
}, 60_000);

/**
 * Watches for the moment the cart starts refusing a customer's writes on a channel, from before the
 * change is requested until the first refusal, in PROBE_LANES concurrent lanes of back-to-back probes.
 *
 * The probe is a cart write the cart refuses either way, so it never takes the cart's document lock
 * (accepted writes queue on that lock, and probes would then measure their own queue): adding a SKU
 * the channel does not sell. Before the change it is refused with 422 item_not_sold_on_channel,
 * after it with the expected code; the cart checks the customer and the channel (the projections the
 * change updates) before the item, so the probe reads exactly what a real write reads first. The
 * tests also show that a real write is accepted before and refused after.
 *
 * Returns the latest probe still answered the old way (its read came before the cart applied the
 * change, so its send time bounds that moment from below) and the first refusal (bounds it from above).
 */
const PROBE_LANES = 4;
const BEFORE = { status: 422, code: 'item_not_sold_on_channel' };
function probeUntilRefused(
  probe: () => Promise<Reply>,
  refusal: { status: number; code: string },
): { stop: () => void; result: Promise<{ lastAccepted: Reply | null; refused: Reply; probes: number }> } {
  let stopped = false;
  // Shared by the lanes (an object, so TypeScript does not narrow it inside the closure).
  const seen: { refused: Reply | null; lastAccepted: Reply | null } = { refused: null, lastAccepted: null };
  let probes = 0;
  const started = Date.now();
  const lane = async (): Promise<void> => {
    while (!seen.refused) {
      if (stopped) throw new Error('probing stopped');
      const r = await probe();
      probes++;
      if (r.status === refusal.status && r.body?.code === refusal.code) {
        const first = seen.refused as Reply | null; // another lane may have set it while this one waited
        if (!first || r.at < first.at) seen.refused = r;
        return;
      }
      if (r.status !== BEFORE.status || r.body?.code !== BEFORE.code)
        throw new Error(
          `probe answered ${r.status} ${JSON.stringify(r.body)}, expected ${BEFORE.status} ${BEFORE.code} or ${refusal.status} ${refusal.code}`,
        );
      if (!seen.lastAccepted || r.sentAt > seen.lastAccepted.sentAt) seen.lastAccepted = r;
      // Bounded: well past the SLA, so a miss is reported with its numbers rather than hanging.
      if (Date.now() - started > 5 * SLA_MS)
        throw new Error(`still accepted ${Date.now() - started} ms after probing began (${probes} probes)`);
    }
  };
  const result = Promise.all(Array.from({ length: PROBE_LANES }, lane)).then(() => ({
    lastAccepted: seen.lastAccepted,
    refused: seen.refused!,
    probes,
  }));
  result.catch(() => undefined); // awaited by the test; this only avoids an unhandled rejection if the causing request fails first
  return { stop: () => void (stopped = true), result };
}

/**
 * The monitor's lag agrees with the test's measurement within AGREEMENT_MS. The test measures an
 * interval [lowMs, highMs] (relative to occurredAt) in which the effect became visible: in A both
 * ends are the moment the pushed frame arrived; in B and C the change became visible after the last
 * probe answered the old way was sent and before the first refusal arrived. The monitor's lag must
 * lie within AGREEMENT_MS of that interval, and the interval itself must be narrow enough to mean
 * something (MAX_RESOLUTION_MS), or the test fails saying its own measurement was too coarse.
 */
const MAX_RESOLUTION_MS = 400;
function expectAgreement(what: string, monitorLagMs: number, lowMs: number, highMs: number): void {
  const off = monitorLagMs < lowMs ? lowMs - monitorLagMs : monitorLagMs > highMs ? monitorLagMs - highMs : 0;
  if (highMs - lowMs > MAX_RESOLUTION_MS)
    throw new Error(
      `${what}: the test could only bracket the effect within ${highMs - lowMs} ms ([${lowMs}, ${highMs}] after occurredAt), coarser than ${MAX_RESOLUTION_MS} ms; the machine is too loaded to compare`,
    );
  if (off > AGREEMENT_MS)
    throw new Error(
      `${what}: the monitor reports ${monitorLagMs} ms, the test measured the effect at [${lowMs}, ${highMs}] ms after occurredAt (${off} ms outside > ${AGREEMENT_MS})`,
    );
  expect(off).toBeLessThanOrEqual(AGREEMENT_MS);
}

it(
  'A: a cart filled on the mobile channel is complete on the web channel within 2 s, and the monitor agrees on the lag',
  () =>
    withLogs(async () => {
      const customer = await api.registerCustomer(mobileApp);
      const onWeb = await api.login(webApp, customer.email, customer.password);
      expect(onWeb.id).toBe(customer.id); // one global customer, whichever channel
      expect(onWeb.channel).toBe(web);
      const stream = await CartStream.open(stack!.url('cart'), onWeb.token, web);
      streams.push(stream);

      const corr = api.newCorrelationId('scenario-a');
      const add = await api.expect(200, 'cart', 'post', '/cart/lines', {
        token: customer.token,
        channel: mobile,
        body: { sku, quantity: 2 },
        correlationId: corr,
      });
      expect(add.body.lines).toEqual([expect.objectContaining({ sku, quantity: 2, channel: mobile })]);
      const version: number = add.body.version;

      // The web app reads the cart: the full cart, priced for the web channel.
      const seen = await until(
        'the web channel to show the full cart',
        async () => {
          const r = await api.call('cart', 'get', '/cart', { token: onWeb.token, channel: web });
          const line = r.status === 200 ? r.body.lines?.find((l: { sku: string }) => l.sku === sku) : undefined;
          return line && line.quantity === 2 && line.available && r.body.version === version ? r : null;
        },
        4 * SLA_MS,
        10,
      );
      expect(seen.body.channel).toBe(web);
      expect(seen.body.lines).toHaveLength(1);
      expect(seen.body.lines[0]).toMatchObject({ sku, quantity: 2, channel: mobile, available: true });
      const readLagMs = seen.at - add.at;
      expect(readLagMs).toBeLessThan(SLA_MS);

      // The web session's live stream gets the change: that is the cart.cart-changed event, pushed by the
      // cart's own consumer of it.
      const frame = await stream.next((e) => e.event === 'cart-changed' && e.data.version === version, 4 * SLA_MS);
      expect(frame.data).toMatchObject({ cartId: customer.id, sourceChannel: mobile, change: 'line_added' });
      expect(frame.data.lines).toEqual([expect.objectContaining({ sku, quantity: 2, channel: mobile })]);
      const pushLagFromResponse = frame.receivedAt - add.at;
      expect(pushLagFromResponse).toBeLessThan(SLA_MS);

      // The monitor tracked the event the add caused, and the cart's push consumer's ack of it.
      // Group ids are <service>.<purpose>[.<instance>].<tag>; the monitor tracks only this run's events.
      const pushGroup = 'cart.push.';
      const events = await api.monitorEvents(admin.token, corr, (evs) =>
        evs.some((e) => e.eventId === frame.data.eventId && !!ackOf(e, pushGroup)),
      );
      const e = events.find((x) => x.eventId === frame.data.eventId) as MonitorEvent;
      expect(e).toMatchObject({
        topic: 'cart.cart-changed',
        aggregateId: customer.id,
        sourceChannel: mobile,
        occurredAt: frame.data.occurredAt,
      });
      expect(e.expected).toEqual(expect.arrayContaining(['cart', 'channels']));
      const ack = ackOf(e, pushGroup)!;
      expect(ack.service).toBe('cart');
      expect(ack.lagMs).toBe(ack.appliedAt - e.occurredAt);
      const testLag = frame.receivedAt - e.occurredAt;
      measured.push({ scenario: 'A', readLagFromResponse: readLagMs, pushLagFromResponse, testLag, monitorLag: ack.lagMs });
      expectAgreement('A (cart-changed pushed to web)', ack.lagMs, testLag, testLag);
    }),
  60_000,
);

it(
  'B: a customer banned on one channel is refused a cart write on another within 2 s, and the monitor agrees on the lag',
  () =>
    withLogs(async () => {
      const customer = await api.registerCustomer(webApp);
      bannedCustomer = customer.id;
      const onMobile = await api.login(mobileApp, customer.email, customer.password);
      await api.expect(200, 'cart', 'post', '/cart/lines', { token: onMobile.token, channel: mobile, body: { sku, quantity: 1 } });
      // Before the ban a real write on web is accepted, and the probe is refused only for its item.
      await api.expect(200, 'cart', 'put', `/cart/lines/${sku}`, { token: customer.token, channel: web, body: { quantity: 2 } });
      const probe = (): Promise<Reply> =>
        api.call('cart', 'post', '/cart/lines', { token: customer.token, channel: web, body: { sku: unsold, quantity: 1 } });
      expect((await probe()).body.code).toBe(BEFORE.code);

      const corr = api.newCorrelationId('scenario-b');
      const probing = probeUntilRefused(probe, { status: 403, code: 'customer_banned' });
      const ban = await api
        .expect(200, 'identity', 'post', `/admin/customers/${customer.id}/ban`, {
          token: admin.token,
          channel: mobile,
          body: { reason: 'e2e: fraud on the mobile channel' },
          correlationId: corr,
        })
        .catch((err: unknown) => {
          probing.stop();
          throw err;
        });
      expect(ban.body).toMatchObject({ customerId: customer.id, status: 'banned' });

      const { lastAccepted, refused, probes } = await probing.result;
      // Negative when the refusal was seen before the ban's own response had been read.
      const refusalLag = refused.at - ban.at;
      expect(refusalLag).toBeLessThan(SLA_MS);
      // Real writes are refused too, on web and on the mobile channel the ban was issued on.
      for (const [token, channel] of [
        [customer.token, web],
        [onMobile.token, mobile],
      ]) {
        const add = await api.call('cart', 'post', '/cart/lines', { token, channel, body: { sku, quantity: 1 } });
        expect([add.status, add.body.code]).toEqual([403, 'customer_banned']);
      }

      // The cart applies it twice: in its shared projection group, and in each instance's gate group
      // (the in-process gate cache). The refusal starts with whichever applied it first.
      const cartGroups = 'cart.';
      const events = await api.monitorEvents(admin.token, corr, (evs) =>
        evs.some(
          (e) => e.topic === 'identity.customer-status' && !!ackOf(e, `${cartGroups}projections`) && !!ackOf(e, `${cartGroups}gates`),
        ),
      );
      const e = events.find((x) => x.topic === 'identity.customer-status')!;
      expect(e.aggregateId).toBe(customer.id);
      const ack = firstAckOf(e, cartGroups)!;
      expect(ack.service).toBe('cart');
      expect(ack.lagMs).toBe(ack.appliedAt - e.occurredAt);
      expect(lastAccepted).not.toBeNull(); // probing began before the ban took effect
      const testLag = refused.at - e.occurredAt;
      measured.push({
        scenario: 'B',
        refusalLagFromResponse: refusalLag,
        probes,
        testLag,
        monitorLag: ack.lagMs,
        appliedBetween: [lastAccepted!.sentAt - e.occurredAt, testLag],
      });
      expectAgreement('B (ban applied by the cart)', ack.lagMs, lastAccepted!.sentAt - e.occurredAt, testLag);
    }),
  60_000,
);

it(
  'D: a seller’s master stock change reaches the web and mobile channels’ carts within 2 s (and running out is flagged)',
  () =>
    withLogs(async () => {
      const tag = stack!.tag;
      // A seller with a product of their own, listed on both channels; one warehouse, the master
      // stock, linked to both channels by their manager.
      const s = await api.createStaff(admin.token, ['seller'], []);
      const seller = await api.staffLogin(s.email, s.password);
      const lamp = `lamp-${tag}-1`;
      await api.createProduct(seller.token, `lamp-${tag}`, [lamp]);
      await api.assign(seller.token, web, `lamp-${tag}`, [{ sku: lamp, amountMinor: 2500 }]);
      await api.assign(seller.token, mobile, `lamp-${tag}`, [{ sku: lamp, amountMinor: 2400 }]);
      const warehouse = `wh-${tag}`;
      await api.expect(200, 'inventory', 'put', `/locations/${warehouse}`, {
        token: admin.token,
        body: {
          name: 'master warehouse',
          kind: 'warehouse',
          address: { line1: '1 Dock Rd', city: 'Hamburg', postalCode: '20457', country: 'DE' },
        },
      });
      for (const code of [web, mobile])
        await api.expect(200, 'inventory', 'put', `/channels/${code}/locations/${warehouse}`, {
          token: manager.token,
          body: { priority: 1 },
        });
      await Promise.all([api.cartSells(webApp, lamp), api.cartSells(mobileApp, lamp)]);

      // One customer's cart holds the lamp added on the web, another's added on the mobile app.
      const [onWeb, onMobile] = await Promise.all([api.registerCustomer(webApp), api.registerCustomer(mobileApp)]);
      await api.expect(200, 'cart', 'post', '/cart/lines', { token: onWeb.token, channel: web, body: { sku: lamp, quantity: 1 } });
      await api.expect(200, 'cart', 'post', '/cart/lines', { token: onMobile.token, channel: mobile, body: { sku: lamp, quantity: 1 } });

      let op = 0;
      const setStock = (quantity: number) =>
        api.expect(200, 'inventory', 'post', `/stock/${lamp}/operations`, {
          token: seller.token,
          headers: { 'idempotency-key': `e2e-${tag}-${++op}` },
          body: { kind: 'set', location: warehouse, bucket: 'onHand', quantity, reason: 'e2e: goods in' },
        });
      /** The moment each cart first shows the lamp's stock as `seen` says, from the change's response. */
      const reached = async (
        change: Reply,
        seen: (line: { stock?: { available: number; state: string }; outOfStock: boolean }) => boolean,
      ): Promise<Record<string, number>> => {
        const lag: Record<string, number> = {};
        await Promise.all(
          [
            [web, onWeb.token],
            [mobile, onMobile.token],
          ].map(([channel, token]) =>
            until(`the ${channel} cart to show the new stock`, async () => {
              const cart = await api.call('cart', 'get', '/cart', { token, channel });
              const line = cart.body.lines?.find((l: { sku: string }) => l.sku === lamp);
              if (line && seen(line)) lag[channel] = cart.at - change.at;
              return line !== undefined && seen(line);
            }),
          ),
        );
        return lag;
      };

      const goodsIn = await setStock(12);
      const inStock = await reached(goodsIn, (l) => l.stock?.available === 12 && l.stock.state === 'in_stock');
      const soldOut = await setStock(0);
      const outOfStock = await reached(soldOut, (l) => l.outOfStock && l.stock?.available === 0);
      measured.push({ scenario: 'D', inStock, outOfStock });
      for (const lag of [...Object.values(inStock), ...Object.values(outOfStock)]) expect(lag).toBeLessThan(SLA_MS);
    }),
  90_000,
);

// E runs before C: C leaves the mobile channel in maintenance, where carts are not priced.
it(
  'E: a promotion starting while the same cart is open on the web and the mobile channel shows the new price on both from its start instant',
  () =>
    withLogs(async () => {
      const customer = await api.registerCustomer(webApp);
      const onMobile = await api.login(mobileApp, customer.email, customer.password);
      await api.expect(200, 'cart', 'post', '/cart/lines', { token: customer.token, channel: web, body: { sku, quantity: 2 } });

      // 10 % off the mug on both channels, from an instant a little after the lead time
      const startsAt = Date.now() + PROMOTION_LEAD_MS + 3000;
      const created = await api.expect(201, 'promotions', 'post', '/promotions', {
        token: admin.token,
        body: {
          name: `e2e ten off ${stack!.tag}`,
          level: 'cart',
          startsAt,
          endsAt: null,
          channels: [web, mobile],
          condition: { field: 'line.sku', op: 'eq', value: sku },
          reward: { kind: 'percentage', percent: 10 },
        },
      });
      const id = created.body.id as string;
      await api.expect(200, 'promotions', 'post', `/promotions/${id}/schedule`, { token: admin.token });
      // distributed ahead of its start: cart acknowledges it for both channels
      await until('both channels ready for the promotion', async () => {
        const r = await api.call('promotions', 'get', `/promotions/${id}/readiness`, { token: admin.token });
        const states = (r.body.channels ?? []) as { channel: string; state: string }[];
        return [web, mobile].every((c) => states.some((x) => x.channel === c && x.state === 'acknowledged'));
      });
      expect(Date.now()).toBeLessThan(startsAt);

      // Both carts viewed every VIEW_EVERY_MS from a second before the start until each shows the offer
      // (paced: the kit's rate limit allows a caller 1000 requests per 10 s).
      interface View {
        at: number;
        pricedAt: number;
        discount: number;
      }
      const VIEW_EVERY_MS = 25;
      await new Promise((r) => setTimeout(r, Math.max(0, startsAt - 1000 - Date.now()))); // the clock, not a condition
      const watch = async (channel: string, token: string): Promise<View[]> => {
        const views: View[] = [];
        for (let next = Date.now(); ; next += VIEW_EVERY_MS) {
          await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
          const r = await api.expect(200, 'cart', 'get', '/cart', { token, channel });
          const line = r.body.lines?.find((l: { sku: string }) => l.sku === sku);
          const discount = (line?.offers ?? []).reduce((n: number, o: { amountMinor: number }) => n + o.amountMinor, 0);
          const pricedAt = Date.parse(r.body.pricedAt);
          expect(Number.isFinite(pricedAt)).toBe(true);
          views.push({ at: r.at, pricedAt, discount });
          if (discount > 0) return views;
          if (r.at > startsAt + 5 * SLA_MS) throw new Error(`${channel}: no offer ${r.at - startsAt} ms after the start`);
        }
      };
      const [onWeb, onApp] = await Promise.all([watch(web, customer.token), watch(mobile, onMobile.token)]);
      for (const [channel, views, unit] of [
        [web, onWeb, 1349],
        [mobile, onApp, 1299],
      ] as const) {
        // priced for an instant: no offer before the start, the whole offer from it (10 % of each unit, rounded down)
        for (const v of views) expect([channel, v.discount]).toEqual([channel, v.pricedAt >= startsAt ? 2 * Math.floor(unit / 10) : 0]);
        expect(views.length).toBeGreaterThan(1); // watched from before the start
      }
      const firstWeb = onWeb[onWeb.length - 1];
      const firstApp = onApp[onApp.length - 1];
      const spread = Math.abs(firstWeb.at - firstApp.at);
      measured.push({
        scenario: 'E',
        firstOfferAfterStartMs: { [web]: firstWeb.at - startsAt, [mobile]: firstApp.at - startsAt },
        spreadMs: spread,
        views: onWeb.length + onApp.length,
        lastWithoutOffer: [onWeb, onApp].map((v) => {
          const last = v[v.length - 2];
          return { atMs: last.at - startsAt, pricedAtMs: last.pricedAt - startsAt };
        }),
        firstWithOffer: [firstWeb, firstApp].map((v) => ({ atMs: v.at - startsAt, pricedAtMs: v.pricedAt - startsAt })),
      });
      // each channel shows it from its first view after the start (views every 25 ms, each a few ms)
      for (const first of [firstWeb, firstApp]) expect(first.pricedAt - startsAt).toBeLessThan(4 * VIEW_EVERY_MS + 200);
      expect(spread).toBeLessThan(4 * VIEW_EVERY_MS + 200);
    }),
  90_000,
);

it(
  'F: a cart filled on mobile is checked out on the web; within 2 s the order is on mobile and at the partner’s webhook, the cart empty, stock and points updated',
  () =>
    withLogs(async () => {
      const tag = stack!.tag;
      // the web channel's partner endpoint (a local receiver) takes order statuses
      const received: { at: number; body: string }[] = [];
      const partner = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString('utf8')));
        req.on('end', () => {
          received.push({ at: Date.now(), body });
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((ok) => partner.listen(0, '127.0.0.1', ok));
      try {
        const port = (partner.address() as AddressInfo).port;
        await api.expect(201, 'channels', 'post', `/channels/${web}/webhooks`, {
          token: manager.token,
          body: { url: `http://127.0.0.1:${port}/orders`, events: ['order.status'] },
        });
        // stock of the mug in a warehouse serving the web channel
        const warehouse = `wh-f-${tag}`;
        await api.expect(200, 'inventory', 'put', `/locations/${warehouse}`, {
          token: admin.token,
          body: {
            name: 'web store',
            kind: 'warehouse',
            address: { line1: '2 Dock Rd', city: 'Hamburg', postalCode: '20457', country: 'DE' },
          },
        });
        await api.expect(200, 'inventory', 'put', `/channels/${web}/locations/${warehouse}`, {
          token: manager.token,
          body: { priority: 0 },
        });
        await api.expect(200, 'inventory', 'post', `/stock/${sku}/operations`, {
          token: admin.token,
          headers: { 'idempotency-key': `e2e-f-${tag}` },
          body: { kind: 'set', location: warehouse, bucket: 'onHand', quantity: 20, reason: 'e2e: goods in' },
        });

        // the cart is filled on mobile; the customer has 500 loyalty points
        const onMobile = await api.registerCustomer(mobileApp);
        const onWeb = await api.login(webApp, onMobile.email, onMobile.password);
        await api.expect(200, 'cart', 'post', '/cart/lines', { token: onMobile.token, channel: mobile, body: { sku, quantity: 2 } });
        await api.expect(201, 'promotions', 'post', `/customers/${onMobile.id}/loyalty/adjustments`, {
          token: admin.token,
          headers: { 'idempotency-key': `e2e-f-points-${tag}` },
          body: { points: 500, reason: 'e2e: welcome' },
        });
        const seen = await until('the web cart to show the mobile line', async () => {
          const r = await api.call('cart', 'get', '/cart', { token: onWeb.token, channel: web });
          return r.body.lines?.length === 1 && r.body;
        });
        // checked out on the web, at the price the web cart showed, 100 points redeemed
        const co = await until('the checkout to be accepted', async () => {
          const r = await api.call('orders', 'post', '/checkouts', {
            token: onWeb.token,
            channel: web,
            headers: { 'idempotency-key': `e2e-f-${tag}` },
            body: {
              cartVersion: seen.version,
              address: { name: 'E2E', line1: '1 Main St', city: 'Hamburg', postalCode: '20457', country: 'DE' },
              shipping: 'standard',
              points: 100,
              paymentMethod: { token: 'tok_approve' },
            },
          });
          // orders learns of the cart from its event: a 422 cart_empty or 409 cart_changed is a moment early
          return r.status === 201 && r;
        });
        const order = co.body;
        expect(order).toMatchObject({ state: 'confirmed', channel: web, customerId: onMobile.id });
        const webTotals = (seen.totals as { currency: string; totalMinor: number }[]).find((t) => t.currency === order.price.currency)!;
        expect(order.price.totalMinor + order.price.pointsMinor).toBe(webTotals.totalMinor);
        expect(order.price.points).toBe(100);

        const lag: Record<string, number> = {};
        await Promise.all([
          until('the order in the customer’s history on mobile', async () => {
            const r = await api.call('orders', 'get', '/orders', { token: onMobile.token, channel: mobile });
            const found = (r.body as { id: string; state: string }[]).find((o) => o.id === order.id);
            if (found) lag.visibleOnMobile = r.at - co.at;
            return found;
          }),
          until('the order status at the partner’s webhook', async () => {
            const hit = received.find((x) => x.body.includes(order.id));
            if (hit) lag.partnerWebhook = hit.at - co.at;
            return hit;
          }),
          until('the cart emptied on mobile', async () => {
            const r = await api.call('cart', 'get', '/cart', { token: onMobile.token, channel: mobile });
            if (r.body.lines?.length === 0) lag.cartEmptied = r.at - co.at;
            return r.body.lines?.length === 0;
          }),
          until('the stock committed (shipped from the warehouse)', async () => {
            const r = await api.call('inventory', 'get', `/stock/${sku}`, { token: admin.token });
            const level = r.body.levels?.[warehouse];
            const done = level?.onHand === 18 && level.reserved === 0;
            if (done) lag.stock = r.at - co.at;
            return done;
          }),
          until('the points redeemed', async () => {
            const r = await api.call('promotions', 'get', `/customers/${onMobile.id}/loyalty`, { token: admin.token });
            if (r.body.balance !== undefined && r.body.balance < 500) lag.points = r.at - co.at;
            return r.body.balance !== undefined && r.body.balance < 500;
          }),
        ]);
        measured.push({ scenario: 'F', ...lag });
        for (const [what, ms] of Object.entries(lag)) expect([what, ms < SLA_MS]).toEqual([what, true]);
      } finally {
        partner.close();
      }
    }),
  90_000,
);

it(
  'C: a channel put into maintenance refuses cart writes within 2 s, and the monitor agrees on the lag',
  () =>
    withLogs(async () => {
      const customer = await api.registerCustomer(webApp);
      // Each channel's token is bound to it: the mobile app has a login of its own.
      const onMobile = await api.login(mobileApp, customer.email, customer.password);
      await api.expect(200, 'cart', 'post', '/cart/lines', { token: onMobile.token, channel: mobile, body: { sku, quantity: 3 } });
      const probe = (): Promise<Reply> =>
        api.call('cart', 'post', '/cart/lines', { token: onMobile.token, channel: mobile, body: { sku: unsold, quantity: 1 } });
      expect((await probe()).body.code).toBe(BEFORE.code);

      const corr = api.newCorrelationId('scenario-c');
      const expectedBackAt = new Date(Date.now() + 3_600_000).toISOString();
      const probing = probeUntilRefused(probe, { status: 409, code: 'channel_not_active' });
      const change = await api
        .transition(manager.token, mobile, 'enter_maintenance', { expectedBackAt, reason: 'e2e: app store release' }, corr)
        .catch((err: unknown) => {
          probing.stop();
          throw err;
        });
      expect(change.body).toMatchObject({ state: 'maintenance', commerceAllowed: false });

      const { lastAccepted, refused, probes } = await probing.result;
      const refusalLag = refused.at - change.at;
      expect(refusalLag).toBeLessThan(SLA_MS);
      expect(refused.body.details).toMatchObject({ state: 'maintenance' });
      const write = await api.call('cart', 'put', `/cart/lines/${sku}`, { token: onMobile.token, channel: mobile, body: { quantity: 4 } });
      expect([write.status, write.body.code]).toEqual([409, 'channel_not_active']);
      // The other channel still trades, and the cart (one, global) is intact.
      const onWeb = await api.expect(200, 'cart', 'get', '/cart', { token: customer.token, channel: web });
      expect(onWeb.body.lines).toEqual([expect.objectContaining({ sku, quantity: 3, available: true })]);

      // The cart applies it twice: in its shared projection group, and in each instance's gate group
      // (the in-process gate cache). The refusal starts with whichever applied it first.
      const cartGroups = 'cart.';
      const events = await api.monitorEvents(admin.token, corr, (evs) =>
        evs.some(
          (e) => e.topic === 'channels.channel-changed' && !!ackOf(e, `${cartGroups}projections`) && !!ackOf(e, `${cartGroups}gates`),
        ),
      );
      const e = events.find((x) => x.topic === 'channels.channel-changed')!;
      expect(e.aggregateId).toBe(mobile);
      const ack = firstAckOf(e, cartGroups)!;
      expect(ack.service).toBe('cart');
      expect(ack.lagMs).toBe(ack.appliedAt - e.occurredAt);
      expect(lastAccepted).not.toBeNull(); // probing began before the maintenance took effect
      const testLag = refused.at - e.occurredAt;
      measured.push({
        scenario: 'C',
        refusalLagFromResponse: refusalLag,
        probes,
        testLag,
        monitorLag: ack.lagMs,
        appliedBetween: [lastAccepted!.sentAt - e.occurredAt, testLag],
      });
      expectAgreement('C (maintenance applied by the cart)', ack.lagMs, lastAccepted!.sentAt - e.occurredAt, testLag);
    }),
  60_000,
);

it(
  'G: the audit holds the evidence of the ban and of the cart’s refusals, and an outside auditor’s check of its log passes',
  () =>
    withLogs(async () => {
      expect(bannedCustomer).toBeDefined();
      type Evidence = { index: number; topic: string; kind: string; source: string; payload?: { code?: string; status?: string } };
      const trail = await until(
        'the ban and a refusal in the customer’s trail',
        async () => {
          const r = await api.call('audit', 'get', `/audit/records?subjectKind=customer&subjectRef=${bannedCustomer}&limit=500`, {
            token: admin.token,
          });
          const records = r.status === 200 ? (r.body as Evidence[]) : [];
          const ban = records.find((x) => x.topic === 'identity.customer-status' && x.payload?.status === 'banned');
          const refusal = records.find((x) => x.topic === 'platform.exception' && x.payload?.code === 'customer_banned');
          return ban && refusal ? { ban, refusal } : undefined;
        },
        20_000,
      );
      expect(trail.ban).toMatchObject({ kind: 'business', source: 'identity' });
      expect(trail.refusal).toMatchObject({ kind: 'policy', source: 'cart' });
      // the maintenance of scenario C is in the channel's trail
      const onMobile = await api.expect(200, 'audit', 'get', `/audit/records?channel=${mobile}&kind=business&limit=500`, {
        token: admin.token,
      });
      expect((onMobile.body as Evidence[]).some((x) => x.topic === 'channels.channel-changed')).toBe(true);
      // a checkpoint covers the refusal, and the CLI verifies the whole log from the outside
      await until(
        'a checkpoint over the refusal',
        async () => {
          const c = await api.call('audit', 'get', '/audit/checkpoints?limit=1', { token: admin.token });
          return c.status === 200 && (c.body as Array<{ treeSize: number }>)[0]?.treeSize > trail.refusal.index ? true : undefined;
        },
        20_000,
      );
      const cli = spawnSync(
        process.execPath,
        [join(ROOT, 'services/audit/dist/cli/verify.js'), '--url', stack!.url('audit'), '--token', admin.token],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      expect({ status: cli.status, last: cli.stdout.trim().split('\n').pop() }).toEqual({ status: 0, last: 'the log is intact' });
    }),
  180_000,
);
