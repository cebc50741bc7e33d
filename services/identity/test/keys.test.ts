/**
 * Finding 9 of issue 17 (keys and secrets, identity part): tokens name their key, the key set is
 * published at /.well-known/jwks.json, a rotation keeps the previous key live, and ERASURE_SALT is
 * required outside local mode.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { decodeProtectedHeader } from 'jose';
import { generateTokenKeys, TokenSigner, TokenVerifier, type Principal } from '@omnimall/service-kit';
import { testConfig, testGroups } from '@omnimall/service-kit/testing';
import { identityService, type RunningIdentity } from '../src/main';
import { settingsFromEnv } from '../src/settings';
import { registerCustomer, startTestIdentity } from './support/harness';

const SETTINGS = {
  scrypt: { N: 1024, r: 8, p: 1 },
  channelDataRegions: { web: ['eu'] },
  registerLimit: { points: 10_000, durationSeconds: 3600 },
};

/** identity signing with `signer` and, when given, also accepting the keys of a JWKS file (AUTH_PUBLIC_KEYS_FILE). */
function startWith(signer: TokenSigner, keysFile?: string): Promise<RunningIdentity> {
  return identityService.start({
    config: testConfig('identity'),
    groups: testGroups(),
    env: { OMNIMALL_LOCAL: 'true', ...(keysFile ? { AUTH_PUBLIC_KEYS_FILE: keysFile } : {}) },
    deps: { signer, settings: SETTINGS },
  });
}

describe('identity keys: kid, JWKS, rotation', () => {
  it('publishes its signing key at /.well-known/jwks.json, anonymous and cacheable, and its tokens verify against that set', async () => {
    const svc = await startTestIdentity();
    try {
      const res = await request(svc.app).get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      const { kid } = decodeProtectedHeader((await registerCustomer(svc)).accessToken);
      expect(res.body.keys.map((k: { kid: string }) => k.kid)).toContain(kid);
      for (const key of res.body.keys) expect(key).not.toHaveProperty('d');
      const verifier = await TokenVerifier.fromJwks(res.body);
      const customer = await registerCustomer(svc);
      expect((await verifier.verify(customer.accessToken)).sub).toBe(customer.id);
      const doc = (await request(svc.app).get('/openapi.json')).body;
      expect(doc.paths['/.well-known/jwks.json'].get.responses['200'].headers).toHaveProperty('Cache-Control');
      expect(doc.paths['/.well-known/jwks.json'].get.security).toBeUndefined();
    } finally {
      await svc.stop();
    }
  });

  it('accepts tokens of the previous key while AUTH_PUBLIC_KEYS_FILE lists it, and refuses them once it is gone', async () => {
    const old = await TokenSigner.fromPem((await generateTokenKeys()).privateKey);
    const fresh = await TokenSigner.fromPem((await generateTokenKeys()).privateKey);
    const keysFile = join(mkdtempSync(join(tmpdir(), 'identity-jwks-')), 'previous.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [old.publicJwk] }));

    const during = await startWith(fresh, keysFile);
    let oldToken: string;
    try {
      const customer = await registerCustomer(during);
      expect(decodeProtectedHeader(customer.accessToken).kid).toBe(fresh.kid);
      const published = (await request(during.app).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
      expect(published.sort()).toEqual([old.kid, fresh.kid].sort());
      const principal: Principal = { sub: customer.id, kind: 'customer', roles: [], channels: [], channel: 'web' };
      oldToken = await old.sign(principal);
      expect((await request(during.app).get('/me').set('authorization', `Bearer ${oldToken}`)).status).toBe(200);
      expect((await request(during.app).get('/me').set('authorization', `Bearer ${customer.accessToken}`)).status).toBe(200);
    } finally {
      await during.stop();
    }

    const after = await startWith(fresh);
    try {
      expect((await request(after.app).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid)).toEqual([fresh.kid]);
      const refused = await request(after.app).get('/me').set('authorization', `Bearer ${oldToken}`);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ code: 'token_invalid' });
      expect(refused.body.message).toContain(`key ${old.kid}, which is not among the accepted keys`);
    } finally {
      await after.stop();
    }
  });
});

describe('ERASURE_SALT', () => {
  it('is required outside local mode: settings and the service start refuse to go on without it', async () => {
    expect(() => settingsFromEnv({})).toThrow(/ERASURE_SALT must be set/);
    expect(settingsFromEnv({ ERASURE_SALT: 's3cret' }).erasureSalt).toBe('s3cret');
    expect(settingsFromEnv({ OMNIMALL_LOCAL: 'true' }).erasureSalt).toBeTruthy();
    const signer = await TokenSigner.fromPem((await generateTokenKeys()).privateKey);
    await expect(
      identityService.start({ config: testConfig('identity'), groups: testGroups(), env: {}, deps: { signer, settings: SETTINGS } }),
    ).rejects.toThrow(/ERASURE_SALT must be set/);
  });
});
