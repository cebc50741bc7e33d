import request from 'supertest';
import { bearer, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import type { RunningIdentity } from '../src/main';
import { bootstrapAdmin } from '../src/application/staff';
import {
  adminToken,
  ADMIN,
  appHeaders,
  customerLogin,
  customerRefresh,
  registerCustomer,
  startTestIdentity,
  trustOf,
  uniqueEmail,
} from './support/harness';

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
  const login = (body: object, address: string, channel?: string) => customerLogin(svc, body, address, channel);
  const refresh = (refreshToken: string, channel?: string) => customerRefresh(svc, refreshToken, channel);

  it('registers a customer, opens a session and announces the registration', async () => {
    const email = uniqueEmail();
    const res = await request(svc.app)
      .post('/auth/register')
      .set(await appHeaders(svc, 'web'))
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
    const web = await appHeaders(svc, 'web');
    const register = (body: object) => request(svc.app).post('/auth/register').set(web).send(body);
    const dup = await register({ email: c.email.toUpperCase(), password: 'a-long-password-1', dataRegion: 'eu' });
    expect([dup.status, dup.body.code]).toEqual([409, 'email_taken']);
    const weak = await register({ email: uniqueEmail(), password: 'short', dataRegion: 'eu' });
    expect([weak.status, weak.body.code]).toEqual([400, 'weak_password']);
    const bad = await register({ email: 'nope', password: 1, dataRegion: 'mars' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'body.dataRegion',
      'body.email',
      'body.password',
    ]);
    const badChannel = await request(svc.app)
      .post('/auth/login')
      .set({ ...web, 'x-channel-code': 'Not A Code' })
      .send({ email: c.email, password: c.password });
    expect([badChannel.status, badChannel.body.code]).toEqual([400, 'channel_code_invalid']);
  });

  it('refuses customer calls without the channel app credential, or with a bad one (finding 6)', async () => {
    const c = await registerCustomer(svc);
    const web = await appHeaders(svc, 'web');
    const calls = {
      register: { path: '/auth/register', body: { email: uniqueEmail(), password: 'a-long-password-1', dataRegion: 'eu' } },
      login: { path: '/auth/login', body: { email: c.email, password: c.password } },
      refresh: { path: '/auth/refresh', body: { refreshToken: c.refreshToken } },
      reset: { path: '/auth/password-reset', body: { email: c.email } },
    };
    for (const [name, call] of Object.entries(calls)) {
      const send = (headers: Record<string, string>) =>
        request(svc.app).post(call.path).set('x-forwarded-for', '10.8.0.1').set(headers).send(call.body);
      // The header alone was enough before: it names a channel but proves nothing.
      const headerOnly = await send({ 'x-channel-code': 'web' });
      expect([name, headerOnly.status, headerOnly.body.code]).toEqual([name, 401, 'channel_credentials_missing']);
      expect(headerOnly.body.hint).toMatch(/x-channel-key/);
      const none = await send({});
      expect([name, none.status, none.body.code]).toEqual([name, 401, 'channel_credentials_missing']);
      const wrong = await send({ 'x-channel-code': 'web', 'x-channel-key': `${web['x-channel-key']}x` });
      expect([name, wrong.status, wrong.body.code]).toEqual([name, 401, 'channel_key_invalid']);
      const foreign = await send({ ...web, 'x-channel-code': 'app' });
      expect([name, foreign.status, foreign.body.code]).toEqual([name, 403, 'channel_mismatch']);
    }
    // A key revoked by the channels service is refused from the moment its record arrives.
    const key = await trustOf(svc).issueChannelKey('web', { into: svc });
    const withKey = () =>
      request(svc.app)
        .post('/auth/login')
        .set({ 'x-channel-code': 'web', 'x-channel-key': key.apiKey, 'x-forwarded-for': '10.8.0.2' })
        .send({ email: c.email, password: c.password });
    expect((await withKey()).status).toBe(200);
    await trustOf(svc).changeChannelKey({ ...key, channel: 'web' }, 'revoked', { into: svc });
    const revoked = await withKey();
    expect([revoked.status, revoked.body.code]).toEqual([401, 'channel_key_revoked']);
  });

  it("binds the customer's tokens to the credential's channel; refresh keeps it and works only through that channel", async () => {
    const c = await registerCustomer(svc, { channel: 'web' });
    expect(claims(c.accessToken).channel).toBe('web');
    const onApp = await login({ email: c.email, password: c.password }, '10.8.1.1', 'app');
    expect(claims(onApp.body.tokens.accessToken).channel).toBe('app');
    // The app's session refreshed through the web app: refused, and nothing rotated.
    const elsewhere = await refresh(onApp.body.tokens.refreshToken, 'web');
    expect([elsewhere.status, elsewhere.body.code, elsewhere.body.details.sessionChannel]).toEqual([403, 'channel_mismatch', 'app']);
    const bare = await request(svc.app).post('/auth/refresh').send({ refreshToken: onApp.body.tokens.refreshToken });
    expect([bare.status, bare.body.code]).toEqual([401, 'channel_credentials_missing']);
    const home = await refresh(onApp.body.tokens.refreshToken, 'app');
    expect(home.status).toBe(200);
    expect(claims(home.body.accessToken)).toMatchObject({ sub: c.id, channel: 'app' });
    // A staff session needs no channel app.
    const staff = await request(svc.app).post('/auth/staff/login').set('x-forwarded-for', '10.8.1.2').send(ADMIN);
    const staffRefresh = await request(svc.app).post('/auth/refresh').send({ refreshToken: staff.body.tokens.refreshToken });
    expect(staffRefresh.status).toBe(200);
  });

  it("reads a customer's channel from the token: another x-channel-code is 403, and omitting it cannot skip residency", async () => {
    const c = await registerCustomer(svc, { channel: 'web', dataRegion: 'eu' });
    const me = (headers: Record<string, string> = {}) =>
      request(svc.app).get('/me').set('authorization', `Bearer ${c.accessToken}`).set(headers);
    expect((await me()).status).toBe(200);
    const other = await me({ 'x-channel-code': 'app' });
    expect([other.status, other.body.code]).toEqual([403, 'channel_mismatch']);
    expect((await me({ 'x-channel-code': 'web' })).status).toBe(200);
    // The customer's region moves to one web may not receive: the token's channel still decides.
    const admin = await adminToken(svc);
    await request(svc.app).post(`/admin/customers/${c.id}/region`).set('authorization', admin).send({ dataRegion: 'uk' });
    const refused = await me();
    expect([refused.status, refused.body.code, refused.body.details.channel]).toEqual([403, 'data_residency_forbidden', 'web']);
    const profile = await request(svc.app).get(`/customers/${c.id}/profile`).set('authorization', `Bearer ${c.accessToken}`);
    expect([profile.status, profile.body.code]).toEqual([403, 'data_residency_forbidden']);
    // A customer token bound to no channel proves nothing about where the request comes from.
    const unbound = await request(svc.app)
      .get('/me')
      .set('authorization', await bearer({ sub: c.id, kind: 'customer' }));
    expect([unbound.status, unbound.body.code]).toEqual([401, 'token_unbound']);
  });

  it('logs in on another channel and answers the same global customer with that channel', async () => {
    const c = await registerCustomer(svc, { channel: 'web' });
    const res = await login({ email: c.email, password: c.password }, '10.0.0.1', 'app');
    expect(res.status).toBe(200);
    expect(res.body.customer.id).toBe(c.id);
    expect(res.body.channel).toBe('app');
    expect(claims(res.body.tokens.accessToken)).toMatchObject({ sub: c.id, channel: 'app' });
    const me = await request(svc.app).get('/me').set('authorization', `Bearer ${res.body.tokens.accessToken}`);
    expect(me.body.id).toBe(c.id);
  });

  it('rotates refresh tokens and revokes the whole session when a rotated token is reused', async () => {
    const c = await registerCustomer(svc);
    const first = await refresh(c.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(c.refreshToken);
    expect(first.body.sessionId).toBe(c.refreshToken.split('.')[0]);
    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);

    const reuse = await refresh(c.refreshToken);
    expect([reuse.status, reuse.body.code]).toEqual([401, 'refresh_token_reused']);
    const legit = await refresh(second.body.refreshToken);
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
      .set(await appHeaders(svc))
      .send({ refreshToken: `${sid}.${'x'.repeat(43)}` });
    expect([stranger.status, stranger.body.code]).toEqual([401, 'refresh_token_invalid']);
    expect((await refresh(c.refreshToken)).status).toBe(200);
  });

  it('logs out one session, or everywhere', async () => {
    const c = await registerCustomer(svc);
    const other = await login({ email: c.email, password: c.password }, '10.0.0.2');
    const third = await login({ email: c.email, password: c.password }, '10.0.0.2');
    expect((await request(svc.app).post('/auth/logout').send({ refreshToken: third.body.tokens.refreshToken })).status).toBe(204);
    expect((await refresh(third.body.tokens.refreshToken)).body.code).toBe('session_revoked');

    const all = await request(svc.app).post('/auth/logout-all').set('authorization', `Bearer ${c.accessToken}`);
    expect(all.status).toBe(200);
    expect(all.body.revokedSessions).toBe(2);
    for (const rt of [c.refreshToken, other.body.tokens.refreshToken]) {
      expect((await refresh(rt)).body.code).toBe('session_revoked');
    }
    expect((await request(svc.app).get('/me').set('authorization', `Bearer ${other.body.tokens.accessToken}`)).status).toBe(401);
  });

  it('delays guesses on an account from one address (429, Retry-After) but not its owner signing in from another', async () => {
    const c = await registerCustomer(svc);
    const from = (address: string, password: string) => login({ email: c.email, password }, address);
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
      const r = await login({ email: uniqueEmail('nobody'), password: 'whatever-password' }, address);
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const c = await registerCustomer(svc);
    const blocked = await login({ email: c.email, password: c.password }, address);
    expect([blocked.status, blocked.body.details.scope]).toEqual([429, 'address']);
    expect((await login({ email: c.email, password: c.password }, '10.2.0.8')).status).toBe(200);
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
    // Channel app calls document their credential headers and its refusals.
    for (const path of ['/auth/register', '/auth/login', '/auth/refresh', '/auth/password-reset', '/devices']) {
      const op = res.body.paths[path].post;
      const headers = op.parameters.filter((p: { in: string }) => p.in === 'header').map((p: { name: string }) => p.name);
      expect([path, ...headers.sort()]).toEqual([path, 'x-channel-code', 'x-channel-key', 'x-correlation-id']);
      expect([path, ...Object.keys(op.responses).filter((s) => s === '401' || s === '403')]).toEqual([path, '401', '403']);
    }
  });
});
