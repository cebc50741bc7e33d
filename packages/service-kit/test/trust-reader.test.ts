/**
 * The trust reader against the real Kafka and registry, through a toy service consuming the four
 * table topics: it is caught up before start resolves, revocations produced after start refuse
 * tokens (cached ones too) at once, staff disable and re-enable, keys published and retired, and a
 * record that cannot be read neither stops the reader nor holds up a start.
 */
import { Partitioners } from 'kafkajs';
import request from 'supertest';
import { defineService, generateTokenKeys, HttpApi, principalOf, requireAuth, TokenSigner, TRUST_TOPICS } from '../src';
import { testAuth, testConfig, testGroups, testKafka, uniqueName, type TestAuth } from '../src/testing';

const toy = defineService({
  name: 'kit-trust',
  port: 0,
  events: { produces: [], consumes: [...TRUST_TOPICS] },
  async build({ auth }) {
    const api = new HttpApi({ title: 'kit trust', version: '1.0.0' }).route({
      method: 'get',
      path: '/me',
      summary: 'Who the bearer is',
      auth: true,
      responses: { 200: { description: 'the principal' } },
      before: [requireAuth(auth.verifier)],
      handler: async ({ res }) => ({ body: { sub: principalOf(res).sub } }),
    });
    return { api, exposes: {} };
  },
});

const start = (env?: NodeJS.ProcessEnv) => toy.start({ config: testConfig('kit-trust'), groups: testGroups(), ...(env ? { env } : {}) });
type Toy = Awaited<ReturnType<typeof start>>;

async function me(svc: Toy, token: string): Promise<{ status: number; code?: string }> {
  const res = await request(svc.app).get('/me').set('authorization', `Bearer ${token}`);
  return { status: res.status, code: res.body.code };
}

/** A record on a table topic that is not Avro of its schema, keyed so it is recognisable. */
async function poison(topic: string): Promise<void> {
  const producer = testKafka('identity').producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: uniqueName('poison'), value: Buffer.from('not an avro record') }] });
  } finally {
    await producer.disconnect();
  }
}

let tools: TestAuth;
beforeAll(async () => {
  tools = await testAuth();
});
afterAll(() => tools.close());

describe('the trust reader (real Kafka)', () => {
  it('is caught up with what was published before the start when start resolves, and /readyz says so', async () => {
    const subject = uniqueName('c');
    await tools.revokeSessions({ subject, sessionId: 's-old' });
    const t0 = Date.now();
    const svc = await start();
    const startedIn = Date.now() - t0;
    try {
      const token = await tools.token({ sub: subject, channel: 'web', sid: 's-old' });
      expect(await me(svc, token)).toEqual({ status: 401, code: 'token_revoked' });
      const ready = await request(svc.app).get('/readyz');
      expect(ready.body.checks.trust).toBe(true);
      expect(startedIn).toBeLessThan(15_000);
    } finally {
      await svc.stop();
    }
  });

  describe('one running service', () => {
    let svc: Toy;
    beforeAll(async () => {
      svc = await start();
    });
    afterAll(() => svc.stop());

    it('refuses a cached token as soon as its session revocation is applied, and keeps the other session valid', async () => {
      const subject = uniqueName('c');
      const one = await tools.token({ sub: subject, channel: 'web', sid: 's-1' });
      const two = await tools.token({ sub: subject, channel: 'web', sid: 's-2' });
      expect(await me(svc, one)).toEqual({ status: 200, code: undefined });
      expect(await me(svc, two)).toEqual({ status: 200, code: undefined });
      await tools.revokeSessions({ subject, sessionId: 's-1' }, { into: svc });
      expect(await me(svc, one)).toEqual({ status: 401, code: 'token_revoked' });
      expect(await me(svc, two)).toEqual({ status: 200, code: undefined });
    });

    it('refuses every session of a subject issued up to a logout-all, and accepts a token issued after it', async () => {
      const subject = uniqueName('c');
      const before = await tools.token({ sub: subject, channel: 'web', sid: 's-1' });
      expect((await me(svc, before)).status).toBe(200);
      await tools.revokeSessions({ subject, sessionId: null, reason: 'password_changed' }, { into: svc });
      expect(await me(svc, before)).toEqual({ status: 401, code: 'token_revoked' });
      const after = await tools.token({ sub: subject, channel: 'web', sid: 's-2' });
      expect((await me(svc, after)).status).toBe(200);
    });

    it('refuses a disabled staff member at once and, once re-enabled, accepts tokens issued after the re-enable only', async () => {
      const staffId = uniqueName('st');
      const old = await tools.token({ sub: staffId, kind: 'staff', roles: ['admin'] });
      expect((await me(svc, old)).status).toBe(200);
      const revoked = new Promise((resolve) => svc.auth.trust.once('revoked', resolve));
      await tools.setStaff({ staffId, disabled: true }, { into: svc });
      expect(await revoked).toMatchObject({ subject: staffId, reason: 'staff_disabled' });
      expect(await me(svc, old)).toEqual({ status: 401, code: 'token_revoked' });
      await tools.setStaff({ staffId, disabled: false }, { into: svc });
      const fresh = await tools.token({ sub: staffId, kind: 'staff', roles: ['admin'] });
      expect((await me(svc, fresh)).status).toBe(200);
      expect((await me(svc, old)).status).toBe(401);
    });

    it('verifies tokens under a key once it is published, and refuses them once it is retired', async () => {
      const signer = await TokenSigner.fromPem((await generateTokenKeys()).privateKey);
      const token = await signer.sign({ sub: uniqueName('c'), kind: 'customer', roles: [], channels: [], channel: 'web' });
      expect(await me(svc, token)).toEqual({ status: 401, code: 'token_invalid' });
      await tools.publishKey(signer.publicJwk, 'active', { into: svc });
      expect((await me(svc, token)).status).toBe(200);
      await tools.publishKey(signer.publicJwk, 'retired', { into: svc });
      expect(await me(svc, token)).toEqual({ status: 401, code: 'token_invalid' });
    });

    it('skips a record it cannot read and goes on with the next', async () => {
      await poison('identity.session-revoked');
      const subject = uniqueName('c');
      const token = await tools.token({ sub: subject, channel: 'web', sid: 's-1' });
      await tools.revokeSessions({ subject, sessionId: 's-1' }, { into: svc });
      expect((await me(svc, token)).code).toBe('token_revoked');
    });
  });

  it('accepts the keys of an env given beside a config (AUTH_PUBLIC_KEY) as well as the test key', async () => {
    const keys = await generateTokenKeys();
    const other = await TokenSigner.fromPem(keys.privateKey);
    const svc = await start({ ...process.env, AUTH_PUBLIC_KEY: keys.publicKey });
    try {
      expect((await me(svc, await other.sign({ sub: 'c-1', kind: 'customer', roles: [], channels: [], channel: 'web' }))).status).toBe(200);
      expect((await me(svc, await tools.token({ sub: 'c-1', channel: 'web' }))).status).toBe(200);
    } finally {
      await svc.stop();
    }
  });

  it('starts when the last record of a table topic cannot be read', async () => {
    await poison('identity.session-revoked'); // one partition: now its last record
    const svc = await start();
    try {
      expect(svc.auth.trust.isReady()).toBe(true);
      expect((await request(svc.app).get('/readyz')).status).toBe(200);
    } finally {
      await svc.stop();
    }
  });
});
