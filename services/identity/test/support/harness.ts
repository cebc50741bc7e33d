import request from 'supertest';
import { testAuth, testConfig, testGroups, testTokens, type TestAuth } from '@omnimall/service-kit/testing';
import { identityService, type RunningIdentity } from '../../src/main';
import type { IdentitySettings } from '../../src/settings';

/** Per running identity: the test's channels and trust records, and the channel keys issued to it. */
const apps = new WeakMap<RunningIdentity, { auth: TestAuth; keys: Map<string, Promise<string>> }>();

/** The test's stand-in for channels and identity's topics towards `svc` (its trust state); closed with svc.stop(). */
export function trustOf(svc: RunningIdentity): TestAuth {
  const app = apps.get(svc);
  if (!app) throw new Error('not an identity started by startTestIdentity');
  return app.auth;
}

/**
 * The headers of a channel app's call (x-channel-code + x-channel-key): an API key of `channel`
 * published on channels.channel-credentials once per channel and identity, as the channels service
 * does, and awaited until identity's trust state holds it.
 */
export async function appHeaders(svc: RunningIdentity, channel = 'web'): Promise<{ 'x-channel-code': string; 'x-channel-key': string }> {
  const app = apps.get(svc);
  if (!app) throw new Error('not an identity started by startTestIdentity');
  let key = app.keys.get(channel);
  if (!key) {
    key = app.auth.issueChannelKey(channel, { into: svc }).then((k) => k.apiKey);
    app.keys.set(channel, key);
  }
  return { 'x-channel-code': channel, 'x-channel-key': await key };
}

export const ADMIN = { email: 'root@omnimall.test', password: 'bootstrap-secret-1' };

/** Identity on its own test database, signing with the test key pair (so `bearer()` tokens verify too). */
export async function startTestIdentity(settings: Partial<IdentitySettings> = {}): Promise<RunningIdentity> {
  const { signer, verifier } = await testTokens();
  const svc = await identityService.start({
    config: testConfig('identity'),
    groups: testGroups(),
    env: { OMNIMALL_LOCAL: 'true' },
    deps: {
      signer,
      verifier,
      settings: {
        // Cheaper scrypt in tests: same code path, a fraction of the CPU.
        scrypt: { N: 1024, r: 8, p: 1 },
        channelDataRegions: { web: ['eu', 'us'], app: ['eu', 'us', 'uk'], 'us-kiosk': ['us'] },
        bootstrapAdmin: ADMIN,
        // Suites register many customers from one address; the limit itself is tested with a low one.
        registerLimit: { points: 10_000, durationSeconds: 3600 },
        ...settings,
      },
    },
  });
  const auth = await testAuth();
  apps.set(svc, { auth, keys: new Map() });
  const stop = svc.stop.bind(svc);
  svc.stop = async () => {
    await stop();
    await auth.close();
  };
  return svc;
}

let n = 0;
export const uniqueEmail = (tag = 'c'): string =>
  `${tag}-${Date.now().toString(36)}-${(n++).toString(36)}-${Math.random().toString(36).slice(2, 6)}@example.com`;

export async function registerCustomer(
  svc: RunningIdentity,
  opts: { channel?: string; dataRegion?: string; email?: string; password?: string } = {},
): Promise<{ id: string; email: string; password: string; accessToken: string; refreshToken: string }> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? 'a-long-password-1';
  const res = await request(svc.app)
    .post('/auth/register')
    .set('x-forwarded-for', `10.250.${(n >> 8) & 255}.${n++ & 255}`) // an address of its own: registrations are limited per address
    .set(await appHeaders(svc, opts.channel ?? 'web'))
    .send({ email, password, dataRegion: opts.dataRegion ?? 'eu' });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    id: res.body.customer.id,
    email,
    password,
    accessToken: res.body.tokens.accessToken,
    refreshToken: res.body.tokens.refreshToken,
  };
}

/** A customer login through the channel app of `channel` (its key), from `address`. */
export async function customerLogin(svc: RunningIdentity, body: object, address: string, channel = 'web'): Promise<request.Response> {
  return request(svc.app)
    .post('/auth/login')
    .set(await appHeaders(svc, channel))
    .set('x-forwarded-for', address)
    .send(body);
}

/** A refresh through the channel app of `channel` (a customer session's must be its own channel's). */
export async function customerRefresh(svc: RunningIdentity, refreshToken: string, channel = 'web'): Promise<request.Response> {
  return request(svc.app)
    .post('/auth/refresh')
    .set(await appHeaders(svc, channel))
    .send({ refreshToken });
}

/** A link asked for by a token holder (`who`: a bearer header) or, with no bearer, by headers such as a channel app's. */
export function linkAs(svc: RunningIdentity, customerId: string, who: string | Record<string, string>, body: object): request.Test {
  const req = request(svc.app).post(`/customers/${customerId}/identities`);
  return (typeof who === 'string' ? req.set('authorization', who) : req.set(who)).send(body);
}

/** A device of `channel` as its app gets one: POST /devices with the channel app's key. */
export async function newDevice(
  svc: RunningIdentity,
  channel = 'web',
): Promise<{ deviceId: string; deviceToken: string; expiresAt: string }> {
  const res = await request(svc.app)
    .post('/devices')
    .set(await appHeaders(svc, channel));
  if (res.status !== 201) throw new Error(`device failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function adminToken(svc: RunningIdentity): Promise<string> {
  const res = await request(svc.app).post('/auth/staff/login').set('x-forwarded-for', '10.9.9.9').send(ADMIN);
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return `Bearer ${res.body.tokens.accessToken}`;
}
