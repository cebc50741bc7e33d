import request from 'supertest';
import { testConfig, testGroups, testTokens } from '@omnimall/service-kit/testing';
import { identityService, type RunningIdentity } from '../../src/main';
import type { IdentitySettings } from '../../src/settings';

export const ADMIN = { email: 'root@omnimall.test', password: 'bootstrap-secret-1' };

/** Identity on its own test database, signing with the test key pair (so `bearer()` tokens verify too). */
export async function startTestIdentity(settings: Partial<IdentitySettings> = {}): Promise<RunningIdentity> {
  const { signer, verifier } = await testTokens();
  return identityService.start({
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
    .set('x-channel-code', opts.channel ?? 'web')
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

export async function adminToken(svc: RunningIdentity): Promise<string> {
  const res = await request(svc.app).post('/auth/staff/login').set('x-forwarded-for', '10.9.9.9').send(ADMIN);
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return `Bearer ${res.body.tokens.accessToken}`;
}
