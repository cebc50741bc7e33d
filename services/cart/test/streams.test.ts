import { createHash } from 'node:crypto';
import { bearer, testAuth, testGroups, testTokens, uniqueName, waitFor, type TestAuth } from '@omnimall/service-kit/testing';
import {
  asCustomer,
  asDevice,
  customerToken,
  projected,
  rawCollection,
  requestTicket,
  Simulator,
  SseClient,
  startTestCart,
  ticketFor,
  type CartInstance,
} from './support';

/**
 * Live streams that cannot be abused (issue 17, findings 10 and 12, the cart's part), against the
 * real Kafka, FerretDB and schema registry: a stream ends at its token's exp and on a ban or
 * suspension published on identity.customer-status; streams are capped per cart and per instance;
 * EventSource clients open streams with single-use, short-lived tickets, never a token in the URL.
 *
 * Instance A: at most 2 streams per cart. Instance B (same database and groups): at most 2 streams
 * in all, tickets valid 1 s.
 */
let sim: Simulator;
let a: CartInstance;
let b: CartInstance;
let auth: TestAuth;
const WEB = `web-${uniqueName('s').slice(2)}`;
const opened: SseClient[] = [];

beforeAll(async () => {
  const shared = { dbName: uniqueName('test_cart_streams'), groups: testGroups() };
  [sim, a, b, auth] = await Promise.all([
    Simulator.start(),
    startTestCart({ ...shared, settings: { maxStreamsPerCart: 2 } }),
    startTestCart({ ...shared, settings: { maxStreams: 2, ticketTtlMs: 1000 } }),
    testAuth(),
  ]);
  await projected(a, { channel: [WEB, await sim.channel(WEB)] });
});

afterAll(async () => {
  opened.forEach((s) => s.close());
  await Promise.allSettled([a?.stop(), b?.stop(), sim?.stop(), auth?.close()]);
});

async function open(instance: CartInstance, headers: Record<string, string>, query = ''): Promise<SseClient> {
  const s = await SseClient.open(instance.url, headers, query);
  opened.push(s);
  return s;
}

/** A JWT's exp in epoch millis. */
const expOf = (jwt: string): number => (JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as { exp: number }).exp * 1000;

/** A customer's token with a lifetime of `seconds`, and its exp in epoch millis. */
async function shortToken(sub: string, seconds: number): Promise<{ authorization: string; exp: number }> {
  const { signer } = await testTokens();
  const jwt = await signer.sign({ sub, kind: 'customer', roles: [], channels: [], channel: null }, seconds);
  return { authorization: `Bearer ${jwt}`, exp: expOf(jwt) };
}

describe('a stream never outlives what let it open', () => {
  it('ends every stream of a token, opened with the header or with a ticket, at the token exp with a final token_expired event', async () => {
    const c = uniqueName('cust');
    const { authorization, exp } = await shortToken(c, 4);
    const device = await asDevice(uniqueName('dev'), WEB, 4);
    const byDevice = await open(a, device); // a device token's exp ends its streams too
    const byHeader = await open(a, { authorization });
    const t = await ticketFor(a.url, { authorization });
    expect(Date.parse(t.expiresAt)).toBeLessThanOrEqual(exp); // a ticket never outlives its token
    const byTicket = await open(b, {}, `?ticket=${t.ticket}`);
    expect(byHeader.events[0].data).toMatchObject({ cartId: c, expiresAt: exp });
    expect(byTicket.events[0].data).toMatchObject({ cartId: c, expiresAt: exp });

    const deviceExp = expOf(device['x-device-token']);
    expect(byDevice.events[0].data).toMatchObject({ cartId: expect.stringMatching(/^device:/), expiresAt: deviceExp });

    for (const [s, until] of [
      [byHeader, exp],
      [byTicket, exp],
      [byDevice, deviceExp],
    ] as const) {
      const last = await waitFor(() => s.find('token_expired'), 'the token_expired event', 8000);
      expect(last.receivedAt).toBeGreaterThanOrEqual(until - 50);
      expect(last.data).toMatchObject({ code: 'token_expired', hint: expect.stringMatching(/stream-tickets/) });
      await waitFor(() => s.endedAt, 'the stream ended by the server');
    }
    expect(a.hub.sessionsOf(c) + b.hub.sessionsOf(c)).toBe(0);
  });

  it('ends a customer’s streams on every instance when identity bans them, and refuses to reopen them', async () => {
    const c = uniqueName('cust');
    const other = uniqueName('cust');
    const token = await customerToken(c, WEB);
    await projected(a, { customer: [c, await sim.customer(c)] });
    const onA = await open(a, { authorization: token, 'x-channel-code': WEB });
    const onB = await open(b, { authorization: token });
    const bystander = await open(a, { authorization: await bearer({ sub: other }) });

    await sim.customer(c, { status: 'banned', reason: 'fraud', change: 'banned' });
    for (const s of [onA, onB]) {
      const last = await waitFor(() => s.find('customer_banned'), 'the customer_banned event');
      expect(last.data).toMatchObject({ code: 'customer_banned', details: { reason: 'fraud' } });
      await waitFor(() => s.endedAt, 'the banned stream ended');
    }
    expect(bystander.endedAt).toBeUndefined();
    expect(a.hub.sessionsOf(other)).toBe(1);
    const again = await waitFor(
      () =>
        SseClient.open(a.url, { authorization: token }).then(
          (s) => (s.close(), null),
          (e: Error) => String(e),
        ),
      'the reopen refused',
    );
    expect(again).toMatch(/403.*customer_banned/);
  });

  it('ends the streams of a suspended customer with customer_suspended', async () => {
    const c = uniqueName('cust');
    const s = await open(a, { authorization: await bearer({ sub: c }) });
    const until = Date.now() + 3600_000;
    await sim.customer(c, { status: 'suspended', reason: 'chargebacks', until, change: 'suspended' });
    const last = await waitFor(() => s.find('customer_suspended'), 'the customer_suspended event');
    expect(last.data).toMatchObject({ details: { until: new Date(until).toISOString() } });
    await waitFor(() => s.endedAt, 'the suspended stream ended');
  });
});

describe('a stream ends with the login session it was opened in', () => {
  it('ends the streams of a session identity revoked (logout) on every instance, and only those; its tickets are refused', async () => {
    const c = uniqueName('cust');
    const [s1, s2] = [uniqueName('sid'), uniqueName('sid')];
    const inS1 = await asCustomer(c, WEB, { sid: s1 });
    const byHeader = await open(a, inS1);
    const byTicket = await open(b, {}, `?ticket=${(await ticketFor(a.url, inS1)).ticket}`);
    const unused = await ticketFor(a.url, inS1);
    const otherSession = await open(a, await asCustomer(c, WEB, { sid: s2 }));

    // identity.session-revoked, as identity publishes it at a logout, read by both instances' trust readers.
    await auth.revokeSessions({ subject: c, sessionId: s1, reason: 'logout' }, { into: [a, b] });
    for (const s of [byHeader, byTicket]) {
      const last = await waitFor(() => s.find('session_revoked'), 'the session_revoked event');
      expect(last.data).toMatchObject({ code: 'session_revoked', hint: expect.any(String), details: { cause: 'logout' } });
      await waitFor(() => s.endedAt, 'the stream ended by the server');
    }
    expect(otherSession.endedAt).toBeUndefined();
    expect(a.hub.sessionsOf(c)).toBe(1);

    const late = await fetch(`${b.url}/cart/stream?ticket=${unused.ticket}`);
    expect(late.status).toBe(401);
    expect(await late.json()).toMatchObject({ code: 'token_revoked', details: { reason: 'session_revoked' } });
    const reopen = await requestTicket(a.url, inS1);
    expect(reopen.status).toBe(401);
    expect(await reopen.json()).toMatchObject({ code: 'token_revoked' });
  });

  it('ends every stream of the customer opened before a logout everywhere; a token issued after it opens one', async () => {
    const c = uniqueName('cust');
    const streams = [await open(a, await asCustomer(c, WEB, { sid: uniqueName('sid') })), await open(b, await asCustomer(c, WEB))];
    const bystander = await open(a, await asCustomer(uniqueName('cust'), WEB));
    const revokedAt = Date.now();
    await auth.revokeSessions({ subject: c, sessionId: null, reason: 'password_changed', revokedAt }, { into: [a, b] });
    for (const s of streams) {
      await waitFor(() => s.find('session_revoked'), 'the session_revoked event');
      await waitFor(() => s.endedAt, 'the stream ended');
    }
    expect(bystander.endedAt).toBeUndefined();
    await waitFor(() => Date.now() > revokedAt, 'a millisecond after the revocation'); // a token issued after it
    const fresh = await open(a, await asCustomer(c, WEB, { sid: uniqueName('sid') }));
    expect(fresh.events[0].event).toBe('ready');
  });
});

describe('stream caps', () => {
  it('keeps at most CART_MAX_STREAMS_PER_CUSTOMER streams of a cart: a further one closes the oldest with too_many_streams', async () => {
    const token = await bearer({ sub: uniqueName('cust') });
    const other = await open(a, { authorization: await bearer({ sub: uniqueName('cust') }) });
    const [first, second] = [await open(a, { authorization: token }), await open(a, { authorization: token })];
    const third = await open(a, { authorization: token });
    const last = await waitFor(() => first.find('too_many_streams'), 'the oldest stream closed');
    expect(last.data).toMatchObject({ code: 'too_many_streams', details: { maxPerCart: 2 } });
    await waitFor(() => first.endedAt, 'the oldest stream ended');
    expect(a.hub.sessionsOf(third.events[0].data.cartId as string)).toBe(2);
    for (const s of [second, third, other]) expect(s.endedAt).toBeUndefined();
  });

  it('refuses a stream beyond CART_MAX_STREAMS on the instance with 503 stream_capacity_reached and Retry-After, and takes it once one closes', async () => {
    const device = () => asDevice(uniqueName('d'), WEB);
    const held = [await open(b, await device()), await open(b, await device())];
    const refused = await fetch(`${b.url}/cart/stream`, { headers: await device() });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ code: 'stream_capacity_reached', hint: expect.any(String), details: { maxStreams: 2 } });
    held[0].close();
    await waitFor(() => b.hub.size < 2, 'the closed stream forgotten');
    const taken = await open(b, await device());
    expect(taken.events[0].event).toBe('ready');
    held[1].close();
    taken.close();
    await waitFor(() => b.hub.size === 0, 'instance B empty again');
  });
});

describe('stream tickets instead of tokens in URLs', () => {
  it('refuses an access token in the query string, pointing at tickets', async () => {
    const jwt = (await bearer({ sub: uniqueName('cust') })).slice('Bearer '.length);
    for (const r of [await fetch(`${a.url}/cart/stream?access_token=${jwt}`), await requestTicket(a.url, {}, `?access_token=${jwt}`)]) {
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ code: 'token_in_query', hint: expect.stringMatching(/POST \/cart\/stream-tickets/) });
    }
  });

  it('issues a ticket only to a customer token or a device token, and refuses anyone else', async () => {
    const none = await requestTicket(a.url, {});
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ code: 'token_missing' });
    const forged = await requestTicket(a.url, { authorization: 'Bearer not-a-token' });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ code: 'token_invalid' });
    const badChannel = await requestTicket(a.url, { authorization: await bearer({ sub: 'x' }), 'x-channel-code': 'NOT A CODE' });
    expect(badChannel.status).toBe(400);
    const byDeviceId = await requestTicket(a.url, { 'x-device-id': uniqueName('d') });
    expect(byDeviceId.status).toBe(400);
    expect(await byDeviceId.json()).toMatchObject({ code: 'device_token_required', hint: expect.stringMatching(/x-device-token/) });
  });

  it('opens the cart and channel it was issued for, once; it is stored only as its hash', async () => {
    const c = uniqueName('cust');
    const r = await requestTicket(a.url, await asCustomer(c, WEB));
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const t = (await r.json()) as { ticket: string; expiresAt: string; cartId: string; channel: string };
    expect(t).toMatchObject({ cartId: c, channel: WEB, ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(Date.parse(t.expiresAt) - Date.now()).toBeGreaterThan(20_000);
    expect(Date.parse(t.expiresAt) - Date.now()).toBeLessThanOrEqual(30_000);
    const hash = createHash('sha256').update(t.ticket).digest('hex');
    expect(await rawCollection(a, 'stream_tickets').findOne({ _id: t.ticket })).toBeNull();
    expect(await rawCollection(a, 'stream_tickets').findOne({ _id: hash })).toMatchObject({ cartId: c });

    // No header at all: the ticket says whose cart and which channel.
    const s = await open(a, {}, `?ticket=${t.ticket}`);
    expect(s.events[0].data).toMatchObject({ cartId: c, channel: WEB });
    const reused = await fetch(`${a.url}/cart/stream?ticket=${t.ticket}`);
    expect(reused.status).toBe(401);
    expect(await reused.json()).toMatchObject({ code: 'ticket_invalid', hint: expect.stringMatching(/single-use/) });
    const unknown = await fetch(`${a.url}/cart/stream?ticket=${'A'.repeat(43)}`);
    expect(await unknown.json()).toMatchObject({ code: 'ticket_invalid' });
    const malformed = await fetch(`${a.url}/cart/stream?ticket=short`);
    expect(malformed.status).toBe(400);
  });

  it('refuses an expired ticket, and the pruning pass removes expired tickets nobody used', async () => {
    const device = uniqueName('dev');
    const t = await ticketFor(b.url, await asDevice(device, WEB));
    expect(t.cartId).toBe(`device:${device}`);
    await waitFor(() => Date.now() > Date.parse(t.expiresAt), 'the ticket expired', 3000);
    const late = await fetch(`${a.url}/cart/stream?ticket=${t.ticket}`);
    expect(late.status).toBe(401);
    expect(await late.json()).toMatchObject({ code: 'ticket_invalid' });

    const unused = await ticketFor(b.url, await asDevice(device, WEB));
    const hash = createHash('sha256').update(unused.ticket).digest('hex');
    await waitFor(() => Date.now() > Date.parse(unused.expiresAt), 'the unused ticket expired', 3000);
    expect(await a.store.streamTickets.prune(Date.now())).toBeGreaterThanOrEqual(1);
    expect(await rawCollection(a, 'stream_tickets').findOne({ _id: hash })).toBeNull();
  });

  it('declares the ticket route and every stream status in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${a.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: { name: string; in: string }[] }>>;
    };
    expect(Object.keys(doc.paths['/cart/stream-tickets'].post.responses)).toEqual(expect.arrayContaining(['201', '400', '401']));
    const stream = doc.paths['/cart/stream'].get;
    expect(Object.keys(stream.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '409', '503']));
    const query = stream.parameters!.filter((p) => p.in === 'query').map((p) => p.name);
    expect(query).toEqual(['ticket']);
  });
});
