import request from 'supertest';
import { generateTokenKeys, TokenSigner } from '@omnimall/service-kit';
import { testAuth, uniqueName, type TestAuth } from '@omnimall/service-kit/testing';
import { asCustomer, asDevice, customerToken, projected, Simulator, startTestCart, type CartInstance } from './support';

/**
 * Whose cart and which channel, proven by credentials (issue 17, findings 6 and 7): the channel is
 * the customer token's channel claim or the device token's channel, never x-channel-code alone; an
 * anonymous cart is reached only with identity's device token; staff and channel apps have no cart.
 * Against the real stack; the channel API key is published on channels.channel-credentials and read
 * by the cart's trust reader.
 */
let sim: Simulator;
let cart: CartInstance;
let auth: TestAuth;
const uid = uniqueName('k').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
const SKU = 'SHOE-1';

beforeAll(async () => {
  [sim, cart, auth] = await Promise.all([Simulator.start(), startTestCart(), testAuth()]);
  const vs = await Promise.all([sim.channel(WEB), sim.channel(APP), sim.item(WEB, SKU), sim.item(APP, SKU)]);
  await projected(cart, { channel: [WEB, vs[0]], item: [WEB, SKU, vs[2]] });
  await projected(cart, { channel: [APP, vs[1]], item: [APP, SKU, vs[3]] });
});

afterAll(async () => {
  await Promise.allSettled([cart?.stop(), sim?.stop(), auth?.close()]);
});

const add = (headers: Record<string, string>) => request(cart.app).post('/cart/lines').set(headers).send({ sku: SKU });

describe('the channel of a cart request comes from its credentials', () => {
  it('refuses x-channel-code alone, and a token bound to no channel, with 401 channel_credentials_missing', async () => {
    const unbound = { authorization: await customerToken(uniqueName('cust'), null), 'x-channel-code': WEB };
    for (const headers of [{ 'x-channel-code': WEB }, unbound] as Record<string, string>[]) {
      const r = await add(headers);
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ code: 'channel_credentials_missing', hint: expect.stringMatching(/x-channel-key|token/) });
    }
  });

  it('refuses an x-channel-code naming another channel than the token’s with 403 channel_mismatch, on writes and reads', async () => {
    const c = uniqueName('cust');
    const onWeb = await customerToken(c, WEB);
    const write = await add({ authorization: onWeb, 'x-channel-code': APP });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ code: 'channel_mismatch', details: { channel: WEB } });
    const read = await request(cart.app).get('/cart').set({ authorization: onWeb, 'x-channel-code': APP });
    expect(read.body).toMatchObject({ code: 'channel_mismatch' });
    expect(await cart.store.carts.get(c)).toBeNull();
  });

  it('lets one customer logged in on two channels reach one cart, each request on its token’s channel', async () => {
    const c = uniqueName('cust');
    const onWeb = { authorization: await customerToken(c, WEB) };
    const onApp = await asCustomer(c, APP);
    const first = await add(onWeb); // no x-channel-code: the token says WEB
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ cartId: c, channel: WEB, lines: [expect.objectContaining({ channel: WEB })] });
    const second = await add(onApp);
    expect(second.body).toMatchObject({ cartId: c, channel: APP, version: 2, lines: [expect.objectContaining({ quantity: 2 })] });
    const view = await request(cart.app).get('/cart').set(onWeb);
    expect(view.body).toMatchObject({ channel: WEB, version: 2 });
  });

  it('has no cart for staff, channel apps with only their API key, or callers without credentials', async () => {
    const staff = { authorization: await auth.bearer({ sub: uniqueName('admin'), kind: 'staff', roles: ['admin'] }) };
    const byStaff = await add({ ...staff, 'x-channel-code': WEB });
    expect(byStaff.status).toBe(403);
    expect(byStaff.body.code).toBe('wrong_account_kind');

    const key = await auth.issueChannelKey(WEB, { into: cart });
    const byApp = await add({ 'x-channel-code': WEB, 'x-channel-key': key.apiKey });
    expect(byApp.status).toBe(401);
    expect(byApp.body).toMatchObject({ code: 'token_missing', hint: expect.stringMatching(/x-device-token/) });
    const wrongKey = await add({ 'x-channel-code': APP, 'x-channel-key': key.apiKey });
    expect(wrongKey.status).toBe(403);
    expect(wrongKey.body.code).toBe('channel_mismatch');

    const nobody = await request(cart.app).get('/cart');
    expect(nobody.status).toBe(401);
    expect(nobody.body.code).toBe('token_missing');
  });
});

describe('anonymous carts are reached with a device token only', () => {
  it('refuses x-device-id with 400 device_token_required and a hint, on every kind of route', async () => {
    const headers = { 'x-device-id': uniqueName('d'), 'x-channel-code': WEB };
    for (const r of [
      await add(headers),
      await request(cart.app).get('/cart').set(headers),
      await request(cart.app).get('/cart/stream').set(headers),
      await request(cart.app).post('/cart/stream-tickets').set(headers),
    ]) {
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'device_token_required', hint: expect.stringMatching(/POST \/devices.*x-device-token/) });
    }
    expect(await cart.store.carts.get(`device:${headers['x-device-id']}`)).toBeNull();
  });

  it('opens the device’s cart on the device token’s channel; another channel in x-channel-code is 403', async () => {
    const device = uniqueName('dev');
    const d = await asDevice(device, APP);
    const r = await add(d);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ cartId: `device:${device}`, customerId: null, channel: APP });
    const elsewhere = await add({ ...d, 'x-channel-code': WEB });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body).toMatchObject({ code: 'channel_mismatch', details: { channel: APP } });
  });

  it('refuses a device token identity did not sign, an access token sent as a device token, and a device token sent as a bearer', async () => {
    const foreign = await TokenSigner.fromPem((await generateTokenKeys()).privateKey);
    const forged = await add({ 'x-device-token': await foreign.signDevice({ deviceId: uniqueName('d'), channel: WEB }, 600) });
    expect(forged.status).toBe(401);
    expect(forged.body.code).toBe('device_token_invalid');

    const access = (await customerToken(uniqueName('cust'), WEB)).slice('Bearer '.length);
    const swapped = await add({ 'x-device-token': access });
    expect(swapped.status).toBe(401);
    expect(swapped.body.code).toBe('device_token_invalid');

    const { 'x-device-token': deviceToken } = await asDevice(uniqueName('d'), WEB);
    const asBearer = await add({ authorization: `Bearer ${deviceToken}` });
    expect(asBearer.status).toBe(401);
    expect(asBearer.body.code).toBe('token_invalid');
  });

  it('documents the credential headers and their refusals in the OpenAPI document', async () => {
    const doc = (await request(cart.app).get('/openapi.json')).body as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { description: string }>; parameters: { name: string; in: string }[] }>
      >;
    };
    for (const [path, method] of [
      ['/cart', 'get'],
      ['/cart/lines', 'post'],
      ['/cart/stream', 'get'],
      ['/cart/stream-tickets', 'post'],
    ] as const) {
      const op = doc.paths[path][method];
      const headers = op.parameters.filter((p) => p.in === 'header').map((p) => p.name);
      expect(headers).toEqual(expect.arrayContaining(['x-channel-code', 'x-channel-key', 'x-device-token']));
      expect(headers).not.toContain('x-device-id');
      expect(op.responses['400'].description).toMatch(/device_token_required/);
      expect(op.responses['401'].description).toMatch(/channel_credentials_missing.*device_token_invalid/);
      expect(op.responses['403'].description).toMatch(/channel_mismatch.*wrong_account_kind/);
    }
  });
});
