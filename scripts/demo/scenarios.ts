/**
 * The seed's scenarios, played against the running platform over its public APIs. Each step's time
 * is measured as the end-to-end suite measures it (e2e/test/omnichannel.test.ts): from the moment the
 * response of the causing request arrived (or, for a promotion, from its start instant) to the first
 * observation of the effect on the other channel, on this machine's clock. Every wait is bounded.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CartStream, until, type Omnimall, type Reply } from '../../e2e/support/omnimall';
import { say, step, StepFailed, type DemoConfig } from './config';
import type { DemoChannel, Seeded } from './seed';

/** The platform's target for a change to reach another channel (README: under 2 s for 99 % of cases). */
export const TARGET_MS = 2000;
/** How long a step waits for its effect before the scenario fails. */
const BOUND_MS = 10_000;

export interface StepResult {
  scenario: string;
  step: string;
  ms: number;
}

export interface ScenarioOutcome {
  name: string;
  ok: boolean;
  steps: StepResult[];
  /** The step that failed, and why. */
  failure?: { step: string; message: string };
}

/** What a scenario body records its measurements with. */
interface Recorder {
  /** Prints and records one measured step. */
  measured(step: string, ms: number, after: string): void;
  /** Names the step now running (a failure names it). */
  now(step: string): void;
  note(text: string): void;
}

type Scenario = { name: string; title: string; run: (r: Recorder) => Promise<void> };

const fmt = (ms: number): string => `${ms} ms`;
/** An amount in minor units as a price (EUR and GBP both have two decimals). */
const money = (minor: number, currency: string): string => `${(minor / 100).toFixed(2)} ${currency}`;

export async function playScenarios(api: Omnimall, cfg: DemoConfig, s: Seeded): Promise<ScenarioOutcome[]> {
  const list = scenarios(api, cfg, s);
  const outcomes: ScenarioOutcome[] = [];
  for (const [i, sc] of list.entries()) {
    say('');
    say(`scenario ${i + 1}/${list.length} "${sc.name}": ${sc.title}`);
    const outcome: ScenarioOutcome = { name: sc.name, ok: false, steps: [] };
    let current = 'setup';
    const recorder: Recorder = {
      measured(step, raw, after) {
        // an effect can be observed before the causing response has been read (its answer travels last)
        const ms = Math.max(0, raw);
        outcome.steps.push({ scenario: sc.name, step, ms });
        const mark = ms <= TARGET_MS ? 'within the 2 s target' : 'OVER the 2 s target';
        say(`  ✓ ${step}: ${fmt(ms)} after ${after} (${mark}${raw < 0 ? `; seen ${-raw} ms before that response arrived` : ''})`);
      },
      now(step) {
        current = step;
      },
      note(text) {
        say(`  · ${text}`);
      },
    };
    try {
      await sc.run(recorder);
      outcome.ok = true;
      const slowest = Math.max(...outcome.steps.map((x) => x.ms));
      const n = outcome.steps.length;
      say(`scenario "${sc.name}" passed: ${n} step${n === 1 ? '' : 's'} measured, slowest ${fmt(slowest)}`);
    } catch (err) {
      const step = err instanceof StepFailed ? err.step : current;
      const message = err instanceof Error ? err.message : String(err);
      outcome.failure = { step, message };
      say(`  ✗ FAILED at step "${step}": ${message}`);
      say(`scenario "${sc.name}" failed`);
    }
    outcomes.push(outcome);
  }
  return outcomes;
}

/**
 * Probes in a few lanes back to back until one answer is the expected refusal; every other answer
 * must be `before` (what the probe got before the change). Resolves with the first refusal.
 */
function probeUntil(
  probe: () => Promise<Reply>,
  before: { status: number; code?: string },
  after: { status: number; code?: string },
): { stop: () => void; result: Promise<Reply> } {
  const matches = (r: Reply, x: { status: number; code?: string }): boolean =>
    r.status === x.status && (x.code === undefined || r.body?.code === x.code);
  let stopped = false;
  // shared by the lanes (an object, so TypeScript does not narrow it inside the closure)
  const seen: { first: Reply | null } = { first: null };
  const started = Date.now();
  const lane = async (): Promise<void> => {
    while (!seen.first) {
      if (stopped) throw new Error('probing stopped');
      const r = await probe();
      if (matches(r, after)) {
        const first = seen.first as Reply | null; // another lane may have set it while this one waited
        if (!first || r.at < first.at) seen.first = r;
        return;
      }
      if (!matches(r, before))
        throw new Error(
          `a probe answered ${r.status} ${JSON.stringify(r.body)}; expected ${before.status} before the change, ${after.status} after`,
        );
      if (Date.now() - started > BOUND_MS) throw new Error(`no change seen ${Date.now() - started} ms after probing began`);
    }
  };
  const result = Promise.all([lane(), lane(), lane()]).then(() => seen.first!);
  result.catch(() => undefined); // awaited by the scenario; this only avoids an unhandled rejection if the change itself fails
  return { stop: () => void (stopped = true), result };
}

/** A cart line of `sku`, as the viewing channel shows it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const lineOf = (cart: any, sku: string): any => cart?.lines?.find((l: { sku: string }) => l.sku === sku);

function scenarios(api: Omnimall, cfg: DemoConfig, s: Seeded): Scenario[] {
  const tag = cfg.tag;
  const webDe = s.channel('de', 'web');
  const appDe = s.channel('de', 'mobile_app');
  const webGb = s.channel('gb', 'web');
  const appGb = s.channel('gb', 'mobile_app');
  const mug = s.skus[0]; // kitchen/mugs: under the running promotion
  const teapot = s.skus[1];
  const lamp = s.skus[2];
  const unsold = `not-sold-${tag}`; // a SKU no channel sells: cart writes of it are refused either way
  const customer = (c: DemoChannel, displayName: string) =>
    api.registerCustomer(c.app, { displayName, dataRegion: c.market === 'gb' ? 'uk' : 'eu' });

  return [
    {
      name: 'cart',
      title: `a cart filled on the DE app (${appDe.code}) is seen on the DE web shop and the UK web shop`,
      run: async (r) => {
        r.now('customer logs in on three channels');
        const onApp = await customer(appDe, 'Demo: cart across channels');
        const onWeb = await api.login(webDe.app, onApp.email, onApp.password);
        const onUk = await api.login(webGb.app, onApp.email, onApp.password);
        const stream = await CartStream.open(cfg.url('cart'), onWeb.token, webDe.code);
        try {
          r.now('add two mugs on the app');
          const add = await api.expect(200, 'cart', 'post', '/cart/lines', {
            token: onApp.token,
            channel: appDe.code,
            body: { sku: mug, quantity: 2 },
          });
          const version: number = add.body.version;
          r.now(`the full cart on ${webDe.code}`);
          const seen = await until(
            `the cart on ${webDe.code}`,
            async () => {
              const c = await api.call('cart', 'get', '/cart', { token: onWeb.token, channel: webDe.code });
              const line = lineOf(c.body, mug);
              return c.status === 200 && c.body.version === version && line?.quantity === 2 && line.available ? c : null;
            },
            BOUND_MS,
            10,
          );
          r.measured(`full cart read on ${webDe.code}`, seen.at - add.at, 'the add’s response');
          r.now(`the change pushed to the ${webDe.code} session`);
          const frame = await stream.next((e) => e.event === 'cart-changed' && e.data.version === version, BOUND_MS);
          r.measured(`change pushed to the ${webDe.code} session (server-sent event)`, frame.receivedAt - add.at, 'the add’s response');
          r.now(`the cart on ${webGb.code}, priced in GBP`);
          const uk = await until(
            `the cart on ${webGb.code}`,
            async () => {
              const c = await api.call('cart', 'get', '/cart', { token: onUk.token, channel: webGb.code });
              const line = lineOf(c.body, mug);
              return c.status === 200 && c.body.version >= version && line?.quantity === 2 && line.available ? c : null;
            },
            BOUND_MS,
            10,
          );
          r.measured(`cart read on ${webGb.code}`, uk.at - add.at, 'the add’s response');
          const eur = lineOf(seen.body, mug);
          const gbp = lineOf(uk.body, mug);
          r.note(
            `the line: ${eur.title}; ${money(eur.unitPriceMinor, eur.currency)} a unit on ${webDe.code}, ${money(gbp.unitPriceMinor, gbp.currency)} on ${webGb.code}`,
          );
          r.now('the running promotion on the line');
          type Offer = { promotionId: string; name: string; amountMinor: number };
          const offer = (view: { body: unknown }): Offer | undefined =>
            (lineOf(view.body, mug)?.offers as Offer[] | undefined)?.find((o) => o.promotionId === s.promotionId);
          const offered = offer(seen)
            ? seen
            : await until(`the running promotion on the ${webDe.code} cart`, async () => {
                const c = await api.call('cart', 'get', '/cart', { token: onWeb.token, channel: webDe.code });
                return offer(c) ? c : null;
              });
          r.note(`offer on ${webDe.code}: ${offer(offered)!.name}, −${money(offer(offered)!.amountMinor, eur.currency)}`);
        } finally {
          await stream.close();
        }
      },
    },
    {
      name: 'ban',
      title: `a customer banned on ${appDe.code} is refused a cart write on ${webDe.code}`,
      run: async (r) => {
        r.now('customer with a cart on two channels');
        const onWeb = await customer(webDe, 'Demo: banned');
        const onApp = await api.login(appDe.app, onWeb.email, onWeb.password);
        await api.expect(200, 'cart', 'post', '/cart/lines', {
          token: onApp.token,
          channel: appDe.code,
          body: { sku: teapot, quantity: 1 },
        });
        const probe = (): Promise<Reply> =>
          api.call('cart', 'post', '/cart/lines', { token: onWeb.token, channel: webDe.code, body: { sku: unsold, quantity: 1 } });
        r.now(`probing ${webDe.code} before the ban`);
        const first = await probe();
        if (first.status !== 422) throw new Error(`before the ban a probe answered ${first.status} ${JSON.stringify(first.body)}`);
        const probing = probeUntil(probe, { status: 422, code: 'item_not_sold_on_channel' }, { status: 403, code: 'customer_banned' });
        r.now(`ban on ${appDe.code}`);
        const ban = await api
          .expect(200, 'identity', 'post', `/admin/customers/${onWeb.id}/ban`, {
            token: s.admin.token,
            channel: appDe.code,
            body: { reason: 'demo: card testing on the app' },
          })
          .catch((err: unknown) => {
            probing.stop();
            throw err;
          });
        r.now(`the first refusal on ${webDe.code}`);
        const refused = await probing.result;
        r.measured(`cart write refused on ${webDe.code} (403 customer_banned)`, refused.at - ban.at, 'the ban’s response');
        r.now('a real write refused');
        const real = await api.call('cart', 'post', '/cart/lines', {
          token: onWeb.token,
          channel: webDe.code,
          body: { sku: mug, quantity: 1 },
        });
        if (real.status !== 403) throw new Error(`a real write after the ban answered ${real.status} ${JSON.stringify(real.body)}`);
        r.note(`a real add on ${webDe.code} now answers 403 ${real.body.code}`);
      },
    },
    {
      name: 'maintenance',
      title: `${appGb.code} goes into maintenance and back; its cart writes stop and resume`,
      run: async (r) => {
        r.now('customer with a cart on the UK app');
        const shopper = await customer(appGb, 'Demo: maintenance');
        await api.expect(200, 'cart', 'post', '/cart/lines', {
          token: shopper.token,
          channel: appGb.code,
          body: { sku: lamp, quantity: 1 },
        });
        const probe = (): Promise<Reply> =>
          api.call('cart', 'post', '/cart/lines', { token: shopper.token, channel: appGb.code, body: { sku: unsold, quantity: 1 } });
        const trading = { status: 422, code: 'item_not_sold_on_channel' };
        const closed = { status: 409, code: 'channel_not_active' };
        let probing = probeUntil(probe, trading, closed);
        r.now(`${appGb.code} enters maintenance`);
        const enter = await api
          .transition(s.manager.token, appGb.code, 'enter_maintenance', {
            expectedBackAt: new Date(Date.now() + 15 * 60_000).toISOString(),
            reason: 'demo: app store release',
          })
          .catch((err: unknown) => {
            probing.stop();
            throw err;
          });
        r.now('the first refused write');
        const refused = await probing.result;
        r.measured(`cart write refused on ${appGb.code} (409 channel_not_active)`, refused.at - enter.at, 'the transition’s response');
        r.now('the cart on the UK web shop still trades');
        const other = await api.call('cart', 'post', '/cart/lines', {
          token: (await api.login(webGb.app, shopper.email, shopper.password)).token,
          channel: webGb.code,
          body: { sku: lamp, quantity: 1 },
        });
        if (other.status !== 200) throw new Error(`${webGb.code} refused a write during ${appGb.code}'s maintenance: ${other.status}`);
        r.note(`${webGb.code} kept trading: the same cart now holds ${lineOf(other.body, lamp)?.quantity} lamps`);
        probing = probeUntil(probe, closed, trading);
        r.now(`${appGb.code} ends maintenance`);
        const end = await api.transition(s.manager.token, appGb.code, 'end_maintenance').catch((err: unknown) => {
          probing.stop();
          throw err;
        });
        r.now('the first accepted write');
        const back = await probing.result;
        r.measured(`cart writes accepted again on ${appGb.code}`, back.at - end.at, 'the transition’s response');
      },
    },
    {
      name: 'stock',
      title: `the seller changes the master stock of a lamp in ${s.warehouse.de}; carts on ${webDe.code} and ${appDe.code} show it`,
      run: async (r) => {
        r.now('two carts holding the lamp');
        const [onWeb, onApp] = await Promise.all([customer(webDe, 'Demo: stock web'), customer(appDe, 'Demo: stock app')]);
        await api.expect(200, 'cart', 'post', '/cart/lines', { token: onWeb.token, channel: webDe.code, body: { sku: lamp, quantity: 1 } });
        await api.expect(200, 'cart', 'post', '/cart/lines', { token: onApp.token, channel: appDe.code, body: { sku: lamp, quantity: 1 } });
        let op = 0;
        const setStock = (quantity: number): Promise<Reply> =>
          api.expect(200, 'inventory', 'post', `/stock/${lamp}/operations`, {
            token: s.seller.token,
            headers: { 'idempotency-key': `demo-${tag}-stock-${++op}` },
            body: { kind: 'set', location: s.warehouse.de, bucket: 'onHand', quantity, reason: 'demo: stock count' },
          });
        type Line = { stock?: { available: number; state: string }; outOfStock: boolean };
        const reached = async (what: string, change: Reply, seen: (l: Line) => boolean): Promise<void> => {
          const lags = await Promise.all(
            [
              [webDe.code, onWeb.token],
              [appDe.code, onApp.token],
            ].map(async ([channel, token]) => {
              const c = await until(
                `the ${channel} cart to show ${what}`,
                async () => {
                  const v = await api.call('cart', 'get', '/cart', { token, channel });
                  const line = lineOf(v.body, lamp);
                  return line && seen(line) ? v : null;
                },
                BOUND_MS,
                10,
              );
              return [channel, c.at - change.at] as const;
            }),
          );
          for (const [channel, ms] of lags) r.measured(`${what} on the ${channel} cart`, ms, 'the stock change’s response');
        };
        r.now('goods in: 12 on hand');
        const goodsIn = await setStock(12);
        await reached('12 available', goodsIn, (l) => l.stock?.available === 12 && !l.outOfStock);
        r.now('sold out: 0 on hand');
        const soldOut = await setStock(0);
        await reached('out of stock', soldOut, (l) => l.outOfStock && l.stock?.available === 0);
        r.now('restock');
        await setStock(s.stock);
      },
    },
    {
      name: 'promotion',
      title: `a promotion starts while one cart is open on ${webGb.code} and ${appDe.code}`,
      run: async (r) => {
        r.now('one cart open on two channels');
        const onUk = await customer(webGb, 'Demo: promotion');
        const onApp = await api.login(appDe.app, onUk.email, onUk.password);
        await api.expect(200, 'cart', 'post', '/cart/lines', {
          token: onUk.token,
          channel: webGb.code,
          body: { sku: teapot, quantity: 1 },
        });
        r.now('schedule the promotion');
        const startsAt = Date.now() + 6000;
        const created = await api.expect(201, 'promotions', 'post', '/promotions', {
          token: s.admin.token,
          body: {
            name: `Teapot flash sale ${tag}`,
            level: 'cart',
            startsAt,
            endsAt: null,
            channels: [webGb.code, appDe.code],
            condition: { field: 'line.sku', op: 'eq', value: teapot },
            reward: { kind: 'percentage', percent: 20 },
          },
        });
        const id = created.body.id as string;
        await api.expect(200, 'promotions', 'post', `/promotions/${id}/schedule?startNow=true`, { token: s.admin.token });
        r.note(`"Teapot flash sale" (20 % off the teapot) starts at ${new Date(startsAt).toISOString()}`);
        r.now('both channels acknowledge the promotion ahead of its start');
        const ready = await until(
          'both channels to acknowledge the promotion',
          async () => {
            const x = await api.call('promotions', 'get', `/promotions/${id}/readiness`, { token: s.admin.token });
            const states = (x.body?.channels ?? []) as { channel: string; state: string }[];
            return [webGb.code, appDe.code].every((c) => states.some((y) => y.channel === c && y.state === 'acknowledged'))
              ? Date.now()
              : null;
          },
          Math.max(0, startsAt - 600 - Date.now()),
          50,
        ).catch(() => null);
        // what the carts show is the expectation; the acknowledgements only tell whether they were told in time
        r.note(
          ready
            ? `both channels acknowledged it ${startsAt - ready} ms before its start`
            : 'not acknowledged by both channels before its start',
        );
        r.now('watch both carts across the start');
        const watch = async (channel: string, token: string): Promise<number> => {
          for (let next = Math.max(Date.now(), startsAt - 500); ; next += 50) {
            await new Promise((ok) => setTimeout(ok, Math.max(0, next - Date.now()))); // paced views, by the clock
            const v = await api.expect(200, 'cart', 'get', '/cart', { token, channel });
            const offered = (lineOf(v.body, teapot)?.offers ?? []).some((o: { promotionId: string }) => o.promotionId === id);
            const pricedAt = Date.parse(v.body.pricedAt);
            if (offered && pricedAt < startsAt)
              throw new Error(`${channel} showed the offer before its start (priced at ${v.body.pricedAt})`);
            if (!offered && pricedAt >= startsAt + BOUND_MS)
              throw new Error(`${channel} still without the offer ${pricedAt - startsAt} ms after the start`);
            if (offered) return v.at - startsAt;
          }
        };
        const [uk, app] = await Promise.all([watch(webGb.code, onUk.token), watch(appDe.code, onApp.token)]);
        r.measured(`discount shown on ${webGb.code}`, uk, 'the start instant');
        r.measured(`discount shown on ${appDe.code}`, app, 'the start instant');
      },
    },
    {
      name: 'checkout',
      title: `a cart filled on ${appDe.code} is checked out on ${webDe.code}; the order reaches every channel`,
      run: async (r) => {
        // the web shop's order system: a receiver on loopback, registered as the channel's webhook
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
          r.now(`register an order webhook on ${webDe.code}`);
          await api.expect(201, 'channels', 'post', `/channels/${webDe.code}/webhooks`, {
            token: s.manager.token,
            body: { url: `http://127.0.0.1:${(partner.address() as AddressInfo).port}/orders`, events: ['order.status'] },
          });
          r.now('fill the cart on the app');
          const onApp = await customer(appDe, 'Demo: checkout');
          const onWeb = await api.login(webDe.app, onApp.email, onApp.password);
          const onUk = await api.login(webGb.app, onApp.email, onApp.password);
          const before = (await api.expect(200, 'inventory', 'get', `/stock/${mug}`, { token: s.admin.token })).body.levels?.[
            s.warehouse.de
          ];
          if (!before) throw new Error(`no stock of ${mug} in ${s.warehouse.de}`);
          await api.expect(200, 'cart', 'post', '/cart/lines', {
            token: onApp.token,
            channel: appDe.code,
            body: { sku: mug, quantity: 2 },
          });
          const cart = await until(`the cart on ${webDe.code}`, async () => {
            const c = await api.call('cart', 'get', '/cart', { token: onWeb.token, channel: webDe.code });
            return lineOf(c.body, mug)?.quantity === 2 ? c.body : null;
          });
          r.now(`checkout on ${webDe.code}`);
          let last: Reply | undefined;
          const co = await until(
            () => `the checkout to be accepted (last answer ${last?.status} ${JSON.stringify(last?.body)})`,
            async () => {
              last = await api.call('orders', 'post', '/checkouts', {
                token: onWeb.token,
                channel: webDe.code,
                headers: { 'idempotency-key': `demo-${tag}-checkout` },
                body: {
                  cartVersion: cart.version,
                  address: { name: 'Demo Shopper', line1: 'Am Sandtorkai 1', city: 'Hamburg', postalCode: '20457', country: 'DE' },
                  shipping: 'standard',
                  paymentMethod: { token: 'tok_approve' },
                },
              });
              // orders learns of the cart from its event: 422 cart_empty or 409 cart_changed is a moment early
              if (last.status === 201) return last;
              if (last.status !== 409 && last.status !== 422)
                throw new Error(`checkout answered ${last.status} ${JSON.stringify(last.body)}`);
              return null;
            },
            BOUND_MS,
            50,
          );
          const order = co.body;
          if (order.state !== 'confirmed') throw new Error(`the order is ${order.state}, not confirmed`);
          r.note(`order ${order.id} confirmed: ${money(order.price.totalMinor, order.price.currency)}`);
          const waits: Array<[string, () => Promise<number>]> = [
            ...[
              [appDe.code, onApp.token],
              [webGb.code, onUk.token],
            ].map(
              ([channel, token]) =>
                [
                  `order ${order.state} in the customer’s history on ${channel}`,
                  async () => {
                    const h = await until(`the order on ${channel}`, async () => {
                      const x = await api.call('orders', 'get', '/orders', { token, channel });
                      return x.status === 200 && (x.body as { id: string }[]).some((o) => o.id === order.id) ? x : null;
                    });
                    return h.at - co.at;
                  },
                ] as [string, () => Promise<number>],
            ),
            [
              `order status at ${webDe.code}’s order webhook`,
              async () =>
                (await until('the order status at the webhook', async () => received.find((x) => x.body.includes(order.id)), BOUND_MS)).at -
                co.at,
            ],
            [
              `cart emptied, as ${appDe.code} shows it`,
              async () => {
                const c = await until(
                  'the cart emptied',
                  async () => {
                    const x = await api.call('cart', 'get', '/cart', { token: onApp.token, channel: appDe.code });
                    return x.status === 200 && x.body.lines?.length === 0 ? x : null;
                  },
                  BOUND_MS,
                  10,
                );
                return c.at - co.at;
              },
            ],
            [
              `stock committed in ${s.warehouse.de}`,
              async () => {
                const x = await until(
                  'the stock committed',
                  async () => {
                    const v = await api.call('inventory', 'get', `/stock/${mug}`, { token: s.admin.token });
                    const level = v.body?.levels?.[s.warehouse.de];
                    return level && level.onHand === before.onHand - 2 && level.reserved === (before.reserved ?? 0) ? v : null;
                  },
                  BOUND_MS,
                  10,
                );
                return x.at - co.at;
              },
            ],
          ];
          r.now('the order’s effects');
          const results = await Promise.all(waits.map(async ([what, wait]) => [what, await step(what, wait)] as const));
          for (const [what, ms] of results) r.measured(what, ms, 'the checkout’s response');
        } finally {
          partner.close();
        }
      },
    },
  ];
}
