import request from 'supertest';
import { generateTokenKeys, TokenSigner } from '@omnimall/service-kit';
import { bearer } from '@omnimall/service-kit/testing';
import type { RunningIdentity } from '../src/main';
import { adminToken, appHeaders, linkAs, newDevice, registerCustomer, startTestIdentity } from './support/harness';

const claims = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/**
 * Finding 7 of issue 17: device ids are identity's (POST /devices, a token bound to the channel),
 * a customer links a device only with its token, partner accounts and external logins only come
 * from the channel or its staff, and a conflict shown to a customer names nobody.
 */
describe('devices and linking rules', () => {
  let svc: RunningIdentity;
  let admin: string;
  beforeAll(async () => {
    svc = await startTestIdentity();
    admin = await adminToken(svc);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const link = (customerId: string, who: string | Record<string, string>, body: object) => linkAs(svc, customerId, who, body);

  it("issues random device ids with a token bound to the credential's channel, never usable as a bearer token", async () => {
    const refused = await request(svc.app).post('/devices').set('x-channel-code', 'web');
    expect([refused.status, refused.body.code]).toEqual([401, 'channel_credentials_missing']);
    const started = Date.now();
    const [one, two] = [await newDevice(svc, 'app'), await newDevice(svc, 'app')];
    expect(one.deviceId).not.toBe(two.deviceId);
    expect(one.deviceId).toMatch(/^dev_[A-Za-z0-9_-]{22}$/);
    const device = await svc.auth.verifier.verifyDevice(one.deviceToken);
    expect(device).toMatchObject({ deviceId: one.deviceId, channel: 'app' });
    expect(claims(one.deviceToken)).toMatchObject({ aud: 'omnimall-device', sub: one.deviceId, channel: 'app' });
    // 30 days by default (DEVICE_TOKEN_TTL_DAYS).
    const ttlMs = Date.parse(one.expiresAt) - started;
    expect(Math.abs(ttlMs - 30 * 86_400_000)).toBeLessThan(60_000);
    expect(Math.abs((claims(one.deviceToken).exp as number) * 1000 - Date.parse(one.expiresAt))).toBeLessThan(2000);
    const asBearer = await request(svc.app).get('/me').set('authorization', `Bearer ${one.deviceToken}`);
    expect([asBearer.status, asBearer.body.code]).toEqual([401, 'token_invalid']);
  });

  it("links a device to the customer only with the device's own token, from the session's channel", async () => {
    const c = await registerCustomer(svc, { channel: 'web' });
    const who = `Bearer ${c.accessToken}`;
    const mine = await newDevice(svc, 'web');
    const someoneElses = await newDevice(svc, 'web');
    // A bare id proves nothing: before, any id (someone else's device, and its cart) could be claimed.
    const bare = await link(c.id, who, { type: 'device', externalId: someoneElses.deviceId });
    expect([bare.status, bare.body.code]).toEqual([400, 'device_token_required']);
    const otherId = await link(c.id, who, { type: 'device', externalId: someoneElses.deviceId, deviceToken: mine.deviceToken });
    expect([otherId.status, otherId.body.code]).toEqual([403, 'device_token_mismatch']);
    const appDevice = await newDevice(svc, 'app');
    const otherChannel = await link(c.id, who, { type: 'device', externalId: appDevice.deviceId, deviceToken: appDevice.deviceToken });
    expect([otherChannel.status, otherChannel.body.code]).toEqual([403, 'channel_mismatch']);
    const forger = await TokenSigner.fromPem((await generateTokenKeys()).privateKey);
    const forged = await forger.signDevice({ deviceId: someoneElses.deviceId, channel: 'web' }, 600);
    const fake = await link(c.id, who, { type: 'device', externalId: someoneElses.deviceId, deviceToken: forged });
    expect([fake.status, fake.body.code]).toEqual([401, 'device_token_invalid']);
    expect(await svc.store.links.ofCustomer(c.id)).toEqual([]);

    const ok = await link(c.id, who, { type: 'app_installation', externalId: mine.deviceId, deviceToken: mine.deviceToken });
    expect([ok.status, ok.body.customerId, ok.body.channel]).toEqual([201, c.id, 'web']);
    // At login too: a bare deviceId is refused, a device token links its device.
    const login = async (body: object) =>
      request(svc.app)
        .post('/auth/login')
        .set(await appHeaders(svc, 'web'))
        .set('x-forwarded-for', '10.60.0.1')
        .send({ email: c.email, password: c.password, ...body });
    const bareLogin = await login({ deviceId: someoneElses.deviceId });
    expect([bareLogin.status, bareLogin.body.code]).toEqual([400, 'device_token_required']);
    const withToken = await login({ deviceToken: someoneElses.deviceToken });
    expect([withToken.status, withToken.body.deviceLink]).toEqual([200, { status: 'linked' }]);
    const wrongChannel = await login({ deviceToken: appDevice.deviceToken });
    expect([wrongChannel.status, wrongChannel.body.code]).toEqual([403, 'channel_mismatch']);
  });

  it('links partner accounts and external logins only for the channel app or staff of that channel, never the customer', async () => {
    const c = await registerCustomer(svc, { channel: 'web' });
    const partner = (externalId: string) => ({ type: 'partner_account', externalId });
    const byCustomer = await link(c.id, `Bearer ${c.accessToken}`, partner(`aff-${c.id}`));
    expect([byCustomer.status, byCustomer.body.code]).toEqual([403, 'link_requires_channel']);
    const login = await link(c.id, `Bearer ${c.accessToken}`, { type: 'external_login', externalId: `g-${c.id}` });
    expect([login.status, login.body.code]).toEqual([403, 'link_requires_channel']);

    const web = await appHeaders(svc, 'web');
    const byChannel = await link(c.id, web, partner(`aff-${c.id}`));
    expect([byChannel.status, byChannel.body.channel]).toEqual([201, 'web']);
    expect((await svc.store.links.get(`partner_account:aff-${c.id}`))!.linkedBy).toBe('channel:web');
    const namesOther = await link(c.id, web, { ...partner(`aff2-${c.id}`), channel: 'app' });
    expect([namesOther.status, namesOther.body.code]).toEqual([403, 'channel_mismatch']);
    const noCredential = await link(c.id, { 'x-channel-code': 'web' }, partner(`aff3-${c.id}`));
    expect([noCredential.status, noCredential.body.code]).toEqual([401, 'token_missing']);
    // A device token is the device's credential, not the channel app's.
    const device = await newDevice(svc, 'web');
    const byDevice = await link(c.id, { 'x-device-token': device.deviceToken }, partner(`aff4-${c.id}`));
    expect([byDevice.status, byDevice.body.code]).toEqual([401, 'token_missing']);

    const webManager = await bearer({ sub: 'mgr-web', kind: 'staff', roles: ['channel_manager'], channels: ['web'] });
    const appManager = await bearer({ sub: 'mgr-app', kind: 'staff', roles: ['channel_manager'], channels: ['app'] });
    const seller = await bearer({ sub: 'seller-1', kind: 'staff', roles: ['seller'] });
    const ext = { type: 'external_login', externalId: `g-${c.id}`, channel: 'web' };
    expect((await link(c.id, appManager, ext)).body.code).toBe('channel_out_of_scope');
    expect((await link(c.id, seller, ext)).status).toBe(403);
    const byManager = await link(c.id, webManager, ext);
    expect([byManager.status, byManager.body.channel]).toEqual([201, 'web']);
    expect((await svc.store.links.get(`external_login:g-${c.id}`))!.linkedBy).toBe('mgr-web');
    const byAdmin = await link(c.id, admin, { type: 'partner_account', externalId: `aff5-${c.id}`, channel: 'app' });
    expect([byAdmin.status, byAdmin.body.channel]).toEqual([201, 'app']);
  });

  it('answers a conflict at login, to the channel app and to the customer without naming the other customer', async () => {
    const holder = await registerCustomer(svc, { channel: 'web' });
    const other = await registerCustomer(svc, { channel: 'web' });
    const device = await newDevice(svc, 'web');
    const mine = { type: 'device', externalId: device.deviceId, deviceToken: device.deviceToken };
    expect((await link(holder.id, `Bearer ${holder.accessToken}`, mine)).status).toBe(201);
    const loggedIn = await request(svc.app)
      .post('/auth/login')
      .set(await appHeaders(svc, 'web'))
      .set('x-forwarded-for', '10.60.0.2')
      .send({ email: other.email, password: other.password, deviceToken: device.deviceToken });
    expect([loggedIn.status, loggedIn.body.deviceLink]).toEqual([200, { status: 'conflict' }]);
    const byApp = await link(other.id, await appHeaders(svc, 'web'), { type: 'partner_account', externalId: `aff-${holder.id}` });
    expect(byApp.status).toBe(201);
    const taken = await link(holder.id, await appHeaders(svc, 'web'), { type: 'partner_account', externalId: `aff-${holder.id}` });
    expect([taken.status, taken.body.code]).toEqual([409, 'identity_already_linked']);
    expect(JSON.stringify(loggedIn.body)).not.toContain(holder.id);
    expect(JSON.stringify(taken.body)).not.toContain(other.id);
    const seen = await link(holder.id, admin, { type: 'partner_account', externalId: `aff-${holder.id}`, channel: 'web' });
    expect([seen.status, seen.body.details.existingCustomerId]).toEqual([409, other.id]);
  });
});
