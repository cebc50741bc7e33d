import { testGroups, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { SyncApplied } from '@omnimall/contracts';
import { asCustomer, asDevice, projected, Simulator, SseClient, startTestCart, ticketFor, type CartInstance } from './support';

/**
 * Live push with two cart instances on one database: the write is handled by instance A, the
 * sessions are held by instance B (and A), and the change reaches B only through Kafka.
 */
let sim: Simulator;
let a: CartInstance;
let b: CartInstance;
let acks: TopicRecorder;
const uid = uniqueName('p').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
const SKU = 'SHOE-1';
const streams: SseClient[] = [];
/** A and B share their consumer-group settings: one suffix on every group. */
const groups = testGroups();

beforeAll(async () => {
  const shared = { dbName: uniqueName('test_cart_push'), groups };
  [sim, a, b, acks] = await Promise.all([
    Simulator.start(),
    startTestCart(shared),
    startTestCart(shared),
    new TopicRecorder(testKafka(), ['sync.applied']).start(),
  ]);
  const [vw, va, vi, vai] = await Promise.all([
    sim.channel(WEB),
    sim.channel(APP, { kind: 'mobile_app' }),
    sim.item(WEB, SKU),
    sim.item(APP, SKU),
  ]);
  await projected(a, { channel: [WEB, vw], item: [WEB, SKU, vi] });
  await projected(a, { channel: [APP, va], item: [APP, SKU, vai] });
});

afterAll(async () => {
  streams.forEach((s) => s.close());
  await Promise.allSettled([a?.stop(), b?.stop(), sim?.stop(), acks?.stop()]);
});

async function open(instance: CartInstance, headers: Record<string, string>): Promise<SseClient> {
  const s = await SseClient.open(instance.url, headers);
  streams.push(s);
  return s;
}

const post = async (instance: CartInstance, headers: Record<string, string>, body: object) =>
  fetch(`${instance.url}/cart/lines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('live push across channels and instances', () => {
  it('pushes a change handled by instance A to every session of the customer, including those held by instance B', async () => {
    expect(a.runtime.config.instanceId).not.toBe(b.runtime.config.instanceId);
    // One customer logged in on both channels: two tokens, each bound to its channel, one cart.
    const c = uniqueName('cust');
    const [onApp, onWeb] = [await asCustomer(c, APP), await asCustomer(c, WEB)];
    const onB = await open(b, onApp);
    const onA = await open(a, onWeb);
    const stranger = await open(b, await asCustomer(uniqueName('other'), APP));
    expect(onB.events[0]).toMatchObject({ event: 'ready', data: { cartId: c, channel: APP, version: 0 } });
    expect(b.hub.size).toBeGreaterThanOrEqual(2);

    const res = await post(a, onWeb, { sku: SKU, quantity: 2 });
    expect(res.status).toBe(200);
    const [pushed] = await waitFor(() => onB.changes(), 'the push on instance B');
    expect(pushed).toMatchObject({
      id: '1',
      data: { cartId: c, version: 1, change: 'line_added', sourceChannel: WEB, lines: [{ sku: SKU, quantity: 2, channel: WEB }] },
    });
    await waitFor(() => onA.changes(), 'the push on instance A');

    // B's push consumer acknowledged the event it fanned out, for the sync-monitor.
    const eventId = pushed.data.eventId as string;
    const pushGroup = b.consumers.push.name;
    await waitFor(async () => {
      const decoded = await Promise.all(
        acks.where((r) => r.message.key?.toString() === eventId).map((r) => b.runtime.schemas.decode<SyncApplied>(r.message.value!)),
      );
      return decoded.some((d) => d.consumer === pushGroup && d.outcome === 'applied');
    }, 'the push acknowledgement');

    // A second change made on the other channel through B reaches the session on A.
    await fetch(`${b.url}/cart/wishlist/HAT-1`, { method: 'PUT', headers: onApp });
    const second = await waitFor(() => onA.changes().find((e) => e.data.version === 2), 'the second push on A');
    expect(second.data).toMatchObject({ change: 'wishlist_changed', sourceChannel: APP, wishlist: ['HAT-1'] });
    await waitFor(() => onB.changes().length === 2, 'the second push on B');
    expect(stranger.changes()).toHaveLength(0);
  });

  it('opens EventSource streams with a ticket (never a token in the URL), and pushes anonymous device carts too', async () => {
    const c = uniqueName('cust');
    const onApp = await asCustomer(c, APP);
    const refused = await SseClient.open(b.url, {}).catch((e: Error) => e);
    expect(String(refused)).toMatch(/401.*token_missing/);
    const inUrl = await SseClientAt(b, `?access_token=${encodeURIComponent(onApp.authorization.slice('Bearer '.length))}`).catch(
      (e: Error) => e,
    );
    expect(String(inUrl)).toMatch(/400.*token_in_query.*stream-tickets/);
    // Issued by A, redeemed on B: tickets are in the shared database.
    const { ticket } = await ticketFor(a.url, onApp);
    const q = await SseClientAt(b, `?ticket=${ticket}`);
    expect(q.events[0].data).toMatchObject({ cartId: c, channel: APP });

    const device = uniqueName('dev');
    const d = await open(b, await asDevice(device, APP));
    expect((await post(a, await asDevice(device, APP), { sku: SKU })).status).toBe(200);
    const [e] = await waitFor(() => d.changes(), 'the device push');
    expect(e.data).toMatchObject({ cartId: `device:${device}`, version: 1 });
  });
});

describe('frames carry the cart as GET /cart answers it', () => {
  it('puts in each frame the body GET /cart answers on the session’s channel at that version (priced, channel set)', async () => {
    const c = uniqueName('cust');
    const [onApp, onWeb] = [await asCustomer(c, APP), await asCustomer(c, WEB)];
    const session = await open(b, onApp);
    expect((await post(a, onWeb, { sku: SKU, quantity: 3 })).status).toBe(200);
    const [frame] = await waitFor(() => session.changes(), 'the push');
    const view = frame.data.view as Record<string, unknown> & { lines: Record<string, unknown>[] };
    expect(view).toMatchObject({ cartId: c, channel: APP, version: 1 });
    expect(view.lines).toEqual([expect.objectContaining({ sku: SKU, quantity: 3, channel: WEB, available: true })]);
    const read = await fetch(`${b.url}/cart`, { headers: onApp });
    expect(read.headers.get('etag')).toBe(`"${String(view.version)}"`);
    // the same body, but for the instant the promotions were evaluated at
    expect({ ...view, pricedAt: null }).toEqual({ ...((await read.json()) as object), pricedAt: null });
  });
});

/** Opens a stream with a query string (the SseClient adds /cart/stream to the base URL). */
async function SseClientAt(instance: CartInstance, query: string): Promise<SseClient> {
  const s = await SseClient.open(instance.url, {}, query);
  streams.push(s);
  return s;
}
