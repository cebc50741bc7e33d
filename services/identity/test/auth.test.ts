import request from 'supertest';
import { testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import type { RunningIdentity } from '../src/main';
import { bootstrapAdmin } from '../src/application/staff';
import { adminToken, ADMIN, registerCustomer, startTestIdentity, uniqueEmail } from './support/harness';

const claims = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

describe('identity authentication (HTTP against the real stack)', () => {
  let svc: RunningIdentity;
  let recorder: TopicRecorder;
  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), ['identity.customer-status']).start();
    svc = await startTestIdentity({
      throttle: {
        windowMs: 60_000,
        pair: { free: 2, baseMs: 60_000, maxMs: 120_000 },
        address: { free: 4, baseMs: 60_000, maxMs: 120_000 },
        account: { free: 1_000, baseMs: 60_000, maxMs: 120_000 },
      },
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await recorder?.stop();
  });

  it('registers a customer, opens a session and announces the registration', async () => {
    const email = uniqueEmail();
    const res = await request(svc.app)
      .post('/auth/register')
      .set('x-channel-code', 'web')
      .send({ email, password: 'a-long-password-1', dataRegion: 'eu', displayName: 'Ada' });
    expect(res.status).toBe(201);
    expect(res.body.customer).toMatchObject({
      email,
      displayName: 'Ada',
      dataRegion: 'eu',
      registeredChannel: 'web',
      standing: { status: 'active', loyaltyTier: 'standard' },
    });
    expect(res.body.customer).not.toHaveProperty('passwordHash');
    expect(res.body.channel).toBe('web');
    expect(claims(res.body.tokens.accessToken)).toMatchObject({
      sub: res.body.customer.id,
      kind: 'customer',
      channel: 'web',
      iss: 'omnimall-identity',
    });
    const stored = await svc.store.customers.get(res.body.customer.id);
    expect(stored!.passwordHash).toMatch(/^scrypt\$/);
    const ev = await waitFor(() => recorder.where((r) => r.message.key?.toString() === res.body.customer.id), 'the registration event');
    const value = await svc.runtime.schemas.decode<{ status: string; change: string; dataRegion: string }>(ev[0].message.value!);
    expect(value).toMatchObject({ status: 'active', change: 'registered', dataRegion: 'eu' });
  });

  it('refuses a taken email, a weak password and malformed input with 4xx codes', async () => {
    const c = await registerCustomer(svc);
    const dup = await request(svc.app)
      .post('/auth/register')
      .send({ email: c.email.toUpperCase(), password: 'a-long-password-1', dataRegion: 'eu' });
    expect([dup.status, dup.body.code]).toEqual([409, 'email_taken']);
    const weak = await request(svc.app).post('/auth/register').send({ email: uniqueEmail(), password: 'short', dataRegion: 'eu' });
    expect([weak.status, weak.body.code]).toEqual([400, 'weak_password']);
    const bad = await request(svc.app).post('/auth/register').send({ email: 'nope', password: 1, dataRegion: 'mars' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'body.dataRegion',
      'body.email',
      'body.password',
    ]);
    const badChannel = await request(svc.app)
      .post('/auth/login')
      .set('x-channel-code', 'Not A Code')
      .send({ email: c.email, password: c.password });
    expect([badChannel.status, badChannel.body.code]).toEqual([400, 'invalid_channel_code']);
  });

  it('logs in on another channel and answers the same global customer with that channel', async () => {
    const c = await registerCustomer(svc, { channel: 'web' });
    const res = await request(svc.app)
      .post('/auth/login')
      .set('x-channel-code', 'app')
      .set('x-forwarded-for', '10.0.0.1')
      .send({ email: c.email, password: c.password });
    expect(res.status).toBe(200);
    expect(res.body.customer.id).toBe(c.id);
    expect(res.body.channel).toBe('app');
    expect(claims(res.body.tokens.accessToken)).toMatchObject({ sub: c.id, channel: 'app' });
    const me = await request(svc.app).get('/me').set('authorization', `Bearer ${res.body.tokens.accessToken}`);
    expect(me.body.id).toBe(c.id);
  });

  it('rotates refresh tokens and revokes the whole session when a rotated token is reused', async () => {
    const c = await registerCustomer(svc);
    const first = await request(svc.app).post('/auth/refresh').send({ refreshToken: c.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(c.refreshToken);
    expect(first.body.sessionId).toBe(c.refreshToken.split('.')[0]);
    const second = await request(svc.app).post('/auth/refresh').send({ refreshToken: first.body.refreshToken });
    expect(second.status).toBe(200);

    const reuse = await request(svc.app).post('/auth/refresh').send({ refreshToken: c.refreshToken });
    expect([reuse.status, reuse.body.code]).toEqual([401, 'refresh_token_reused']);
    const legit = await request(svc.app).post('/auth/refresh').send({ refreshToken: second.body.refreshToken });
    expect([legit.status, legit.body.code]).toEqual([401, 'session_revoked']);
    const me = await request(svc.app).get('/me').set('authorization', `Bearer ${second.body.accessToken}`);
    expect([me.status, me.body.code]).toEqual([401, 'session_revoked']);
    const session = await svc.store.sessions.get(first.body.sessionId);
    expect(session!.revokedReason).toBe('refresh_token_reused');
    expect(session!.currentHash).not.toContain(second.body.refreshToken.split('.')[1]); // stored hashed
  });

  it('refuses unknown and malformed refresh tokens without revoking anything', async () => {
    const c = await registerCustomer(svc);
    const sid = c.refreshToken.split('.')[0];
    const stranger = await request(svc.app)
      .post('/auth/refresh')
      .send({ refreshToken: `${sid}.${'x'.repeat(43)}` });
    expect([stranger.status, stranger.body.code]).toEqual([401, 'refresh_token_invalid']);
    expect((await request(svc.app).post('/auth/refresh').send({ refreshToken: c.refreshToken })).status).toBe(200);
  });

  it('logs out one session, or everywhere', async () => {
    const c = await registerCustomer(svc);
    const other = await request(svc.app)
      .post('/auth/login')
      .set('x-forwarded-for', '10.0.0.2')
      .send({ email: c.email, password: c.password });
    const third = await request(svc.app)
      .post('/auth/login')
      .set('x-forwarded-for', '10.0.0.2')
      .send({ email: c.email, password: c.password });
    expect((await request(svc.app).post('/auth/logout').send({ refreshToken: third.body.tokens.refreshToken })).status).toBe(204);
    expect((await request(svc.app).post('/auth/refresh').send({ refreshToken: third.body.tokens.refreshToken })).body.code).toBe(
      'session_revoked',
    );

    const all = await request(svc.app).post('/auth/logout-all').set('authorization', `Bearer ${c.accessToken}`);
    expect(all.status).toBe(200);
    expect(all.body.revokedSessions).toBe(2);
    for (const rt of [c.refreshToken, other.body.tokens.refreshToken]) {
      expect((await request(svc.app).post('/auth/refresh').send({ refreshToken: rt })).body.code).toBe('session_revoked');
    }
    expect((await request(svc.app).get('/me').set('authorization', `Bearer ${other.body.tokens.accessToken}`)).status).toBe(401);
  });

  it('delays guesses on an account from one address (429, Retry-After) but not its owner signing in from another', async () => {
    const c = await registerCustomer(svc);
    const from = (address: string, password: string) =>
      request(svc.app).post('/auth/login').set('x-forwarded-for', address).send({ email: c.email, password });
    expect((await from('10.1.0.1', 'wrong-password-1')).body.code).toBe('invalid_credentials');
    expect((await from('10.1.0.1', 'wrong-password-2')).body.code).toBe('invalid_credentials');
    const third = await from('10.1.0.1', 'wrong-password-3');
    expect([third.status, third.body.code, third.body.details.scope]).toEqual([429, 'login_delayed', 'account_address']);
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(60);
    // The guesser's address waits even with the right password; the owner elsewhere does not.
    const guesser = await from('10.1.0.1', c.password);
    expect([guesser.status, guesser.body.code]).toEqual([429, 'login_delayed']);
    expect(guesser.headers['retry-after']).toBeDefined();
    const owner = await from('10.1.0.2', c.password);
    expect(owner.status).toBe(200);
    expect(owner.body.customer.id).toBe(c.id);
  });

  it('delays an address after failures across accounts', async () => {
    const address = '10.2.0.7';
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await request(svc.app)
        .post('/auth/login')
        .set('x-forwarded-for', address)
        .send({ email: uniqueEmail('nobody'), password: 'whatever-password' });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const c = await registerCustomer(svc);
    const blocked = await request(svc.app)
      .post('/auth/login')
      .set('x-forwarded-for', address)
      .send({ email: c.email, password: c.password });
    expect([blocked.status, blocked.body.details.scope]).toEqual([429, 'address']);
    expect(
      (await request(svc.app).post('/auth/login').set('x-forwarded-for', '10.2.0.8').send({ email: c.email, password: c.password })).status,
    ).toBe(200);
  });

  it('creates the bootstrap admin once, and lets admins create scoped staff', async () => {
    expect(await bootstrapAdmin(svc.ctx)).toBe('exists');
    expect(await svc.store.staff.byEmail(ADMIN.email)).toMatchObject({ email: ADMIN.email, roles: ['admin'], createdBy: 'bootstrap' });
    const admin = await adminToken(svc);
    expect(claims(admin.slice(7))).toMatchObject({ kind: 'staff', roles: ['admin'] });

    const unscoped = await request(svc.app)
      .post('/staff')
      .set('authorization', admin)
      .send({ email: uniqueEmail('mgr'), password: 'manager-password-1', roles: ['channel_manager'] });
    expect([unscoped.status, unscoped.body.code]).toEqual([400, 'channel_scope_required']);
    const email = uniqueEmail('mgr');
    const created = await request(svc.app)
      .post('/staff')
      .set('authorization', admin)
      .send({ email, password: 'manager-password-1', roles: ['channel_manager'], channels: ['web'] });
    expect(created.status).toBe(201);
    const login = await request(svc.app)
      .post('/auth/staff/login')
      .set('x-forwarded-for', '10.3.0.1')
      .send({ email, password: 'manager-password-1' });
    expect(claims(login.body.tokens.accessToken)).toMatchObject({ kind: 'staff', roles: ['channel_manager'], channels: ['web'] });
    const notAdmin = await request(svc.app)
      .post('/staff')
      .set('authorization', `Bearer ${login.body.tokens.accessToken}`)
      .send({ email: uniqueEmail(), password: 'x-long-password', roles: ['seller'] });
    expect([notAdmin.status, notAdmin.body.code]).toEqual([403, 'role_required']);
    const customer = await registerCustomer(svc);
    const asCustomer = await request(svc.app)
      .post('/staff')
      .set('authorization', `Bearer ${customer.accessToken}`)
      .send({ email: uniqueEmail(), password: 'x-long-password', roles: ['seller'] });
    expect(asCustomer.body.code).toBe('wrong_account_kind');
  });

  it('serves an OpenAPI document generated from the request schemas', async () => {
    const res = await request(svc.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.0.3');
    expect(res.body.paths['/auth/login'].post.requestBody.content['application/json'].schema.required).toEqual(['email', 'password']);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/auth/register',
        '/auth/refresh',
        '/customers/{id}/profile',
        '/admin/merges',
        '/admin/customers/{id}/ban',
        '/customers/{id}/erasure',
        '/auth/password',
        '/auth/password-reset',
        '/auth/password-reset/confirm',
      ]),
    );
    expect(Object.keys(res.body.paths['/staff/{id}'])).toEqual(['patch']);
    for (const [path, method] of [
      ['/auth/register', 'post'],
      ['/auth/login', 'post'],
      ['/auth/password-reset', 'post'],
    ])
      expect(res.body.paths[path][method].responses['429'].headers).toHaveProperty('Retry-After');
  });
});
