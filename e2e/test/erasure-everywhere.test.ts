/**
 * Erasure everywhere (issue 17, finding 11 "Done when"): a customer who left traces in every service
 * is erased by a compliance officer, and once every consumer of identity.data-request acknowledged
 * the request (the sync-monitor's propagation record of it), no document of any collection of any
 * service's database holds their email, their name or their partner customer id.
 *
 * The traces, made as the platform makes them: registration and logins through two channel apps
 * (identity), cart lines on both channels and a wishlist entry (cart), a partner customer mapping and
 * a partner order status the partner wrote on its own topic (channels), a password-reset notification
 * (channels), and the monitor's tracking of every event this run caused (sync-monitor). Before the
 * erasure the test checks that the search does find them, so an empty result afterwards means erased,
 * not unsearched. Databases and collections are listed with the driver (support/databases.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { partnerTopic } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka } from '@omnimall/service-kit/testing';
import { collectionsOf, findEverywhere } from '../support/databases';
import { Omnimall, until, type ChannelCredential, type MonitorEvent } from '../support/omnimall';
import { SERVICES, startStack, type ServiceName, type Stack, logsOnFailure } from '../support/stack';

/** A local partner: the stack's Kafka has its principal (partner-acme) and topic (partner.acme.order-status). */
const PARTNER = 'acme';

let stack: Stack | undefined;
let api: Omnimall;
let admin: { id: string; token: string };
let manager: { id: string; token: string };
let officer: { id: string; token: string };
let web: ChannelCredential;
let mobile: ChannelCredential;
let sku: string;
let partnerSchemas: ServiceRuntime | undefined;
let partnerProducer: Producer | undefined;

const withLogs = logsOnFailure(() => stack, 2000);

beforeAll(async () => {
  await withLogs(async () => {
    stack = await startStack();
    api = new Omnimall(stack);
    const tag = stack.tag;
    const [webCode, mobileCode] = [`web-${tag}`, `mobile-${tag}`];
    admin = await api.staffLogin(stack.admin.email, stack.admin.password);
    const [mgr, co] = await Promise.all([
      api.createStaff(admin.token, ['channel_manager'], [webCode, mobileCode, PARTNER]),
      api.createStaff(admin.token, ['compliance_officer'], []),
    ]);
    [manager, officer] = await Promise.all([api.staffLogin(mgr.email, mgr.password), api.staffLogin(co.email, co.password)]);

    await api.registerChannel(admin.token, webCode, 'web', manager.id);
    await api.registerChannel(admin.token, mobileCode, 'mobile_app', manager.id);
    await api.registerChannel(admin.token, PARTNER, 'affiliate', manager.id, { masterChannel: webCode });
    for (const code of [webCode, mobileCode, PARTNER]) await api.activateChannel(admin.token, manager.token, code);
    [web, mobile] = await Promise.all([api.channelKey(manager.token, webCode), api.channelKey(manager.token, mobileCode)]);

    sku = `mug-${tag}-erase`;
    await api.createProduct(admin.token, `mug-${tag}`, [sku]);
    await api.assign(admin.token, webCode, `mug-${tag}`, [{ sku, amountMinor: 1299 }]);
    await api.assign(admin.token, mobileCode, `mug-${tag}`, [{ sku, amountMinor: 1399 }]);
    await Promise.all([
      api.identityKnowsChannel(admin.token, webCode),
      api.identityKnowsChannel(admin.token, mobileCode),
      api.cartSells(web, sku),
      api.cartSells(mobile, sku),
    ]);

    // What the partner's system holds: its topic's schema, and a producer logged in as the partner.
    partnerSchemas = await ServiceRuntime.start({ config: testConfig('e2e-partner-acme'), produces: ['partner.order-status'] });
    partnerProducer = testKafka(`partner-${PARTNER}`).producer({ allowAutoTopicCreation: false });
    await partnerProducer.connect();
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([partnerProducer?.disconnect(), partnerSchemas?.stop()]);
  await stack?.stop();
}, 60_000);

/** The partner writes an order status for its customer on its own topic, as its own Kafka principal. */
async function partnerOrderStatus(partnerCustomerId: string, correlationId: string): Promise<void> {
  const orderId = `p-order-${randomBytes(4).toString('hex')}`;
  const event = newEvent(
    'partner.order-status',
    {
      type: 'partner.order_status',
      producer: 'partner-system',
      aggregateId: orderId,
      aggregateVersion: 1,
      sourceChannel: PARTNER,
      correlationId,
    },
    {
      partnerChannel: PARTNER,
      partnerOrderId: orderId,
      partnerCustomerId,
      status: 'paid',
      currency: 'EUR',
      totalMinor: 4999,
      statusAt: Date.now(),
    },
  );
  // Encoded with the family's subject, which the partner's own topic accepts.
  const value = await partnerSchemas!.schemas.encode('partner.order-status', event.value);
  await partnerProducer!.send({
    topic: partnerTopic('partner.order-status', PARTNER),
    acks: -1,
    messages: [{ key: event.key, value, headers: { eventId: event.value.envelope.eventId } }],
  });
}

/** Every service named in the record's expectations acknowledged it as applied. */
const acknowledgedByAll = (e: MonitorEvent): boolean =>
  e.expected.length > 0 && e.expected.every((service) => e.acks.some((a) => a.service === service && a.outcome === 'applied'));

/** The monitor's record of the erasure request once every expected consumer applied it; else says who did not. */
async function acknowledgedDataRequest(correlationId: string): Promise<MonitorEvent> {
  let seen: MonitorEvent | undefined;
  try {
    await api.monitorEvents(
      admin.token,
      correlationId,
      (evs) => {
        seen = evs.find((e) => e.topic === 'identity.data-request') ?? seen;
        return !!seen && acknowledgedByAll(seen);
      },
      30_000,
    );
  } catch (err) {
    const acks = seen?.acks.map((a) => `${a.service}:${a.group}:${a.outcome}`).join(', ');
    throw new Error(
      `${(err as Error).message}; ${seen ? `expected ${seen.expected.join(', ')}, acknowledged by ${acks || 'none'}` : 'the monitor has no record of the request'}`,
    );
  }
  return seen!;
}

it(
  'an erased customer leaves no email, name or partner customer id in any collection of any service',
  () =>
    withLogs(async () => {
      const marker = randomBytes(5).toString('hex');
      const email = `erase.me+${marker}@omnimall.test`;
      const name = `Ada Erasable ${marker}`;
      const partnerCustomerId = `acme-cust-${marker}`;
      const dbs = SERVICES.map((s) => stack!.services[s].db);

      // Traces in identity: registered through the web app, logged in through the mobile app.
      const onWeb = await api.registerCustomer(web, { email, displayName: name });
      const onMobile = await api.login(mobile, email, onWeb.password);
      // Traces in the cart: lines on both channels, a wishlist entry.
      await api.expect(200, 'cart', 'post', '/cart/lines', { token: onWeb.token, channel: web.code, body: { sku, quantity: 1 } });
      await api.expect(200, 'cart', 'put', `/cart/lines/${sku}`, { token: onMobile.token, channel: mobile.code, body: { quantity: 3 } });
      await api.expect(200, 'cart', 'put', `/cart/wishlist/${sku}`, { token: onMobile.token, channel: mobile.code });
      // Traces in channels: the partner's customer id mapped, and an order status the partner wrote for it.
      await api.expect(204, 'channels', 'put', `/channels/${PARTNER}/partner-customers/${partnerCustomerId}`, {
        token: manager.token,
        body: { customerId: onWeb.id },
      });
      const partnerCorr = api.newCorrelationId('partner-order');
      await partnerOrderStatus(partnerCustomerId, partnerCorr);
      await api.monitorEvents(admin.token, partnerCorr, (evs) => evs.some((e) => e.topic === 'channels.partner-order-status'), 30_000);
      // A notification: the password reset the customer asked for through the web app.
      await api.expect(202, 'identity', 'post', '/auth/password-reset', { credential: web, body: { email } });
      await until('the password-reset notification', async () => {
        const r = await api.call('channels', 'get', `/channels/${web.code}/notifications`, { token: manager.token });
        return r.status === 200 && r.body.notifications.some((n: { recipientIds?: string[] }) => n.recipientIds?.includes(onWeb.id));
      });

      // The search sees the traces: the customer's id in every service that holds customer data, the
      // email and the name at least where the customer registered.
      const before = await findEverywhere(dbs, [onWeb.id, email, name, partnerCustomerId]);
      const heldBy = (needle: string) => [...new Set(before.filter((h) => h.needle === needle).map((h) => h.db))].sort();
      const dbOf = (s: ServiceName): string => stack!.services[s].db;
      // (The sync-monitor tracks in memory and stores exceptions and gzip snapshots: a plain search of
      // its database finds a customer only in an exception; its own privacy test reads the snapshots.)
      expect(heldBy(onWeb.id)).toEqual(expect.arrayContaining((['identity', 'channels', 'cart'] as const).map(dbOf)));
      expect(heldBy(email)).toContain(dbOf('identity'));
      expect(heldBy(name)).toContain(dbOf('identity'));
      expect(heldBy(partnerCustomerId)).toContain(dbOf('channels'));
      console.log(
        `before the erasure: id in ${heldBy(onWeb.id).join(', ')}; email in ${heldBy(email).join(', ')}; name in ${heldBy(name).join(', ')}; partner customer id in ${heldBy(partnerCustomerId).join(', ')}`,
      );

      // The erasure, by a compliance officer; then every consumer of identity.data-request acknowledges it.
      const corr = api.newCorrelationId('erasure');
      await api.expect(200, 'identity', 'post', `/customers/${onWeb.id}/erasure`, { token: officer.token, correlationId: corr });
      const request = await acknowledgedDataRequest(corr);
      expect(request.expected).toEqual(expect.arrayContaining(['channels', 'catalog-sync', 'cart', 'sync-monitor']));

      const hits = await findEverywhere(dbs, [email, name, partnerCustomerId]);
      const searched = await collectionsOf(dbs);
      expect(Object.values(searched).flat().length).toBeGreaterThan(0);
      expect(hits.map((h) => `${h.db}.${h.collection} ${h.id} holds ${h.needle}: …${h.excerpt}…`)).toEqual([]);
    }),
  180_000,
);
