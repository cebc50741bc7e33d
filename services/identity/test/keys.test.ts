/**
 * Finding 9 of issue 17 (keys and secrets, identity part): tokens name their key, the key set is
 * published at /.well-known/jwks.json and on identity.signing-keys (so a service with no
 * AUTH_PUBLIC_KEY verifies identity's tokens), a rotation keeps the previous key live until it is
 * no longer configured, then retires it everywhere, and ERASURE_SALT is required outside local mode.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { decodeProtectedHeader } from 'jose';
import { generateTokenKeys, TokenSigner, TokenVerifier, type PlatformConfig } from '@omnimall/service-kit';
import { testConfig, testGroups, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import { identityService, type RunningIdentity } from '../src/main';
import { settingsFromEnv } from '../src/settings';
import { channelApp, registerThrough } from './support/channel-app';
import { startTestIdentity } from './support/harness';
import { probeCall, startTrustProbe } from './support/trust-probe';

const SETTINGS = {
  scrypt: { N: 1024, r: 8, p: 1 },
  channelDataRegions: { web: ['eu'] },
  registerLimit: { points: 10_000, durationSeconds: 3600 },
};

/** identity on `db`, signing with `signer` and, when given, also accepting the keys of a JWKS file (AUTH_PUBLIC_KEYS_FILE). */
function startWith(db: PlatformConfig['dbName'], signer: TokenSigner, keysFile?: string): Promise<RunningIdentity> {
  return identityService.start({
    config: testConfig('identity', { dbName: db }),
    groups: testGroups(),
    env: { OMNIMALL_LOCAL: 'true', ...(keysFile ? { AUTH_PUBLIC_KEYS_FILE: keysFile } : {}) },
    deps: { signer, settings: SETTINGS },
  });
}

const newSigner = async (): Promise<TokenSigner> => TokenSigner.fromPem((await generateTokenKeys()).privateKey);

describe('identity keys: kid, JWKS, rotation', () => {
  it('publishes its signing key at /.well-known/jwks.json, anonymous and cacheable, and its tokens verify against that set', async () => {
    const svc = await startTestIdentity();
    const app = await channelApp(svc);
    try {
      const res = await request(svc.app).get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      const customer = await registerThrough(svc, app);
      expect(res.body.keys.map((k: { kid: string }) => k.kid)).toContain(decodeProtectedHeader(customer.accessToken).kid);
      for (const key of res.body.keys) expect(key).not.toHaveProperty('d');
      const verifier = await TokenVerifier.fromJwks(res.body);
      expect((await verifier.verify(customer.accessToken)).sub).toBe(customer.id);
      const doc = (await request(svc.app).get('/openapi.json')).body;
      expect(doc.paths['/.well-known/jwks.json'].get.responses['200'].headers).toHaveProperty('Cache-Control');
      expect(doc.paths['/.well-known/jwks.json'].get.security).toBeUndefined();
    } finally {
      await app.auth.close();
      await svc.stop();
    }
  });

  it('publishes its keys on identity.signing-keys: a service with no AUTH_PUBLIC_KEY accepts them; a key dropped from the configuration is retired and refused everywhere; a restart with the same keys publishes nothing', async () => {
    const old = await newSigner();
    const fresh = await newSigner();
    const keysFile = join(mkdtempSync(join(tmpdir(), 'identity-jwks-')), 'previous.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [old.publicJwk] }));
    const recorder = await new TopicRecorder(testKafka(), ['identity.signing-keys']).start();
    const probe = await startTrustProbe();
    const db = testConfig('identity').dbName;
    const principal = { kind: 'customer' as const, roles: [], channels: [], channel: 'web' };
    const oldToken = await old.sign({ ...principal, sub: 'c-old' });
    const freshToken = await fresh.sign({ ...principal, sub: 'c-fresh' });
    const recordsOf = (kid: string) =>
      Promise.all(
        recorder
          .where((r) => r.message.key?.toString() === kid)
          .map((r) => probe.runtime.schemas.decode<{ kid: string; status: string; jwk: string }>(r.message.value!)),
      );
    try {
      for (let start = 0; start < 2; start++) {
        const during = await startWith(db, fresh, keysFile);
        try {
          const published = (await request(during.app).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
          expect(published).toEqual(expect.arrayContaining([old.kid, fresh.kid]));
          // Tokens of both keys: accepted by identity itself and, once the records are read, by the probe.
          expect((await request(during.app).get('/me').set('authorization', `Bearer ${oldToken}`)).status).not.toBe(401);
          await waitFor(async () => (await probeCall(probe, oldToken)).status === 200, 'the probe accepting the old key');
          expect(await probeCall(probe, freshToken)).toMatchObject({ status: 200, sub: 'c-fresh' });
        } finally {
          await during.stop();
        }
      }

      const after = await startWith(db, fresh);
      try {
        const keys = (await request(after.app).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
        expect(keys).toContain(fresh.kid);
        expect(keys).not.toContain(old.kid);
        const refused = await request(after.app).get('/me').set('authorization', `Bearer ${oldToken}`);
        expect(refused.status).toBe(401);
        expect(refused.body.message).toContain(old.kid);
        await waitFor(async () => (await probeCall(probe, oldToken)).status === 401, 'the probe refusing the retired key');
        expect(await probeCall(probe, oldToken)).toMatchObject({ status: 401, code: 'token_invalid' });
        expect(await probeCall(probe, freshToken)).toMatchObject({ status: 200, sub: 'c-fresh' });
      } finally {
        await after.stop();
      }
      // Two starts with the same keys announced the old key once; the third retired it.
      expect((await recordsOf(old.kid)).map((r) => r.status)).toEqual(['active', 'retired']);
      expect((await recordsOf(fresh.kid)).map((r) => r.status)).toEqual(['active']);
      for (const r of await recordsOf(fresh.kid)) expect(JSON.parse(r.jwk)).not.toHaveProperty('d');
    } finally {
      await Promise.all([probe.stop(), recorder.stop()]);
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
