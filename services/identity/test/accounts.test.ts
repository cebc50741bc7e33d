import request from 'supertest';
import { testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import type { RunningIdentity } from '../src/main';
import { admitAttempt } from '../src/application/throttle';
import { resetTokenHash } from '../src/domain/password-reset';
import { settingsFromEnv } from '../src/settings';
import { adminToken, appHeaders, registerCustomer, startTestIdentity, uniqueEmail } from './support/harness';

const claims = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/**
 * Finding 8 of issue 17 (accounts): atomic attempt counting and the global ceiling, TRUST_PROXY,
 * the registration limit, password change and reset, staff disable and role edits.
 */
describe('accounts: throttling, proxies, limits, passwords, staff changes', () => {
  let svc: RunningIdentity;
  let recorder: TopicRecorder;
  let admin: string;
  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), ['identity.password-reset', 'identity.staff-changed']).start();
    svc = await startTestIdentity({
      trustProxy: 2,
      registerLimit: { points: 3, durationSeconds: 3600 },
      resetRequestLimit: { points: 3, durationSeconds: 3600 },
      throttle: {
        windowMs: 60_000,
        pair: { free: 2, baseMs: 30_000, maxMs: 60_000 },
        address: { free: 50, baseMs: 30_000, maxMs: 60_000 },
        account: { free: 6, baseMs: 30_000, maxMs: 60_000 },
      },
    });
    admin = await adminToken(svc);
  });
  afterAll(async () => {
    await svc?.stop();
    await recorder?.stop();
  });

  const login = async (email: string, password: string, address: string) =>
    request(svc.app)
      .post('/auth/login')
      .set(await appHeaders(svc))
      .set('x-forwarded-for', address)
      .send({ email, password });
  const refresh = async (refreshToken: string) =>
    request(svc.app)
      .post('/auth/refresh')
      .set(await appHeaders(svc))
      .send({ refreshToken });
  const decoded = async <T>(topic: string, pred: (v: T) => boolean): Promise<T[]> => {
    const values = await Promise.all(
      recorder
        .where((r) => r.topic === topic)
        .map((r) => svc.runtime.schemas.decode<T & { envelope: { eventId: string } }>(r.message.value!)),
    );
    const seen = new Set<string>(); // published at least once: one per event id
    return values.filter((v) => pred(v) && !seen.has(v.envelope.eventId) && !!seen.add(v.envelope.eventId));
  };

  it('counts attempts with one atomic increment: parallel ones each see those before them', async () => {
    const key = `pair:${uniqueEmail('race')}|x`;
    const counts = await Promise.all(Array.from({ length: 12 }, (_, i) => svc.store.loginAttempts.count(key, 7, 1000 + i, new Date())));
    expect(counts.map((c) => c?.n ?? 0).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
  });

  it('admits only the free attempts of a burst of parallel guesses; the rest wait (429) without a password check', async () => {
    const email = uniqueEmail('burst');
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => admitAttempt(svc.ctx, email, '10.40.0.1')));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason);
    expect(refused).toHaveLength(8);
    for (const err of refused) expect(err).toMatchObject({ status: 429, code: 'login_delayed', details: { scope: 'account_address' } });
    // Over HTTP: of parallel wrong guesses, only the free ones are answered 401 (checked).
    const c = await registerCustomer(svc);
    const statuses = await Promise.all(Array.from({ length: 6 }, () => login(c.email, 'wrong-password-x', '10.40.0.2')));
    expect(statuses.map((r) => r.status).sort()).toEqual([401, 401, 429, 429, 429, 429]);
  });

  it('lets failures from other addresses pass up to the global ceiling, then delays the account everywhere', async () => {
    const c = await registerCustomer(svc);
    for (const address of ['10.41.0.1', '10.41.0.2'])
      for (let i = 0; i < 2; i++) expect((await login(c.email, 'wrong-password-y', address)).status).toBe(401);
    expect((await login(c.email, c.password, '10.41.0.3')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await login(c.email, 'wrong-password-y', '10.41.0.4')).status).toBe(401);
    const ceiling = await login(c.email, c.password, '10.41.0.5');
    expect([ceiling.status, ceiling.body.code, ceiling.body.details.scope]).toEqual([429, 'login_delayed', 'account']);
    expect(Number(ceiling.headers['retry-after'])).toBeGreaterThanOrEqual(30);
  });

  it('takes the client address as many proxy hops back as TRUST_PROXY says', async () => {
    expect(settingsFromEnv({ ERASURE_SALT: 'test-salt' }).trustProxy).toBe('loopback');
    expect(settingsFromEnv({ ERASURE_SALT: 'test-salt', TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(settingsFromEnv({ ERASURE_SALT: 'test-salt', TRUST_PROXY: '10.0.0.0/8, loopback' }).trustProxy).toBe('10.0.0.0/8, loopback');
    expect(() => settingsFromEnv({ ERASURE_SALT: 'test-salt', TRUST_PROXY: 'not-an-address' })).toThrow(/TRUST_PROXY/);
    const c = await registerCustomer(svc);
    // This instance trusts two hops (the socket's proxy and the next): the client is the address before them.
    const res = await request(svc.app)
      .post('/auth/login')
      .set(await appHeaders(svc))
      .set('x-forwarded-for', '203.0.113.9, 198.51.100.7')
      .send({ email: c.email, password: c.password });
    expect(res.status).toBe(200);
    expect((await svc.store.sessions.get(res.body.tokens.sessionId))!.address).toBe('203.0.113.9');
  });

  it('limits registrations per address (429 with Retry-After), not for other addresses', async () => {
    const register = async (address: string) =>
      request(svc.app)
        .post('/auth/register')
        .set(await appHeaders(svc))
        .set('x-forwarded-for', address)
        .send({ email: uniqueEmail('reg'), password: 'a-long-password-1', dataRegion: 'eu' });
    for (let i = 0; i < 3; i++) expect((await register('10.42.0.1')).status).toBe(201);
    const over = await register('10.42.0.1');
    expect([over.status, over.body.code]).toEqual([429, 'register_rate_limited']);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await register('10.42.0.2')).status).toBe(201);
  });

  it('changes a password with the current one, closing every other session', async () => {
    const c = await registerCustomer(svc);
    const other = await login(c.email, c.password, '10.43.0.1');
    const change = (currentPassword: string) =>
      request(svc.app)
        .post('/auth/password')
        .set('authorization', `Bearer ${c.accessToken}`)
        .send({ currentPassword, newPassword: 'a-new-password-22' });
    const wrong = await change('not-the-password');
    expect([wrong.status, wrong.body.code]).toEqual([403, 'current_password_wrong']);
    expect(
      await request(svc.app).post('/auth/password').send({ currentPassword: c.password, newPassword: 'x-long-password-3' }),
    ).toMatchObject({ status: 401 });
    const ok = await change(c.password);
    expect([ok.status, ok.body.revokedSessions]).toEqual([200, 1]);
    expect((await refresh(other.body.tokens.refreshToken)).body.code).toBe('session_revoked');
    expect((await request(svc.app).get('/me').set('authorization', `Bearer ${c.accessToken}`)).status).toBe(200);
    expect((await login(c.email, c.password, '10.43.0.2')).status).toBe(401);
    expect((await login(c.email, 'a-new-password-22', '10.43.0.2')).status).toBe(200);
  });

  it('resets a password with a single-use token announced for the channel, answering alike for unknown emails', async () => {
    const c = await registerCustomer(svc, { channel: 'web' });
    const levels = ['debug', 'info', 'warn', 'error'] as const;
    const spies = levels.map((l) => jest.spyOn(svc.ctx.logger, l)); // calls through, remembers the arguments
    const ask = async (email: string) =>
      request(svc.app)
        .post('/auth/password-reset')
        .set(await appHeaders(svc, 'web'))
        .set('x-forwarded-for', '10.44.0.1')
        .send({ email });
    const unknown = await ask(uniqueEmail('nobody'));
    const known = await ask(c.email);
    expect([unknown.status, unknown.body]).toEqual([202, { accepted: true }]);
    expect([known.status, known.body]).toEqual([unknown.status, unknown.body]);
    const [ev] = await waitFor(
      () =>
        decoded<{ customerId: string; email: string; channel: string; token: string }>(
          'identity.password-reset',
          (v) => v.customerId === c.id,
        ),
      'the reset event',
    );
    expect(ev).toMatchObject({ email: c.email, channel: 'web' });
    const stored = await svc.store.passwordResets.use(resetTokenHash('x'.repeat(43)), new Date());
    expect(stored).toBeNull();

    const confirm = (token: string) =>
      request(svc.app).post('/auth/password-reset/confirm').send({ token, newPassword: 'reset-password-99' });
    expect((await confirm(ev.token)).status).toBe(204);
    const again = await confirm(ev.token);
    expect([again.status, again.body.code]).toEqual([400, 'reset_token_invalid']);
    expect((await login(c.email, 'reset-password-99', '10.44.0.2')).status).toBe(200);
    expect((await refresh(c.refreshToken)).body.code).toBe('session_revoked');
    expect(JSON.stringify(spies.map((spy) => spy.mock.calls))).not.toContain(ev.token);
    spies.forEach((s) => s.mockRestore());

    expect((await ask(c.email)).status).toBe(202); // the third request from this address
    const over = await ask(c.email);
    expect([over.status, over.body.code]).toEqual([429, 'reset_rate_limited']);
    expect(over.headers['retry-after']).toBeDefined();
  });

  it('lets admins disable staff and change roles: announced, in the next token, refresh refused once disabled', async () => {
    const email = uniqueEmail('staff');
    const created = await request(svc.app)
      .post('/staff')
      .set('authorization', admin)
      .send({ email, password: 'manager-password-1', roles: ['channel_manager'], channels: ['web'] });
    const id = created.body.id as string;
    const staffLogin = () =>
      request(svc.app).post('/auth/staff/login').set('x-forwarded-for', '10.45.0.1').send({ email, password: 'manager-password-1' });
    const session = (await staffLogin()).body.tokens;
    const patch = (token: string, body: object, target = id) =>
      request(svc.app).patch(`/staff/${target}`).set('authorization', token).send(body);

    const notAdmin = await patch(`Bearer ${session.accessToken}`, { roles: ['admin'] });
    expect([notAdmin.status, notAdmin.body.code]).toEqual([403, 'role_required']);
    const adminId = claims(admin.slice(7)).sub as string;
    const self = await patch(admin, { disabled: true }, adminId);
    expect([self.status, self.body.code]).toEqual([403, 'own_admin_access']);

    const roles = await patch(admin, { roles: ['seller'], channels: [] });
    expect([roles.status, roles.body]).toEqual([200, { id, email, roles: ['seller'], channels: [], disabled: false }]);
    const refreshed = await refresh(session.refreshToken);
    expect(claims(refreshed.body.accessToken)).toMatchObject({ sub: id, roles: ['seller'], channels: [] });

    expect((await patch(admin, { disabled: true })).body.disabled).toBe(true);
    const refused = await refresh(refreshed.body.refreshToken);
    expect(refused.status).toBe(401);
    const me = await request(svc.app).get('/channels/web/data-regions').set('authorization', `Bearer ${refreshed.body.accessToken}`);
    expect(me.status).toBe(401);
    const relogin = await staffLogin();
    expect([relogin.status, relogin.body.code]).toEqual([401, 'account_disabled']);

    const changes = await waitFor(async () => {
      const seen = await decoded<{ staffId: string; change: string; disabled: boolean; roles: string[] }>(
        'identity.staff-changed',
        (v) => v.staffId === id,
      );
      return seen.length >= 2 && seen;
    }, 'both staff changes');
    expect(changes.map((v) => [v.change, v.disabled, v.roles])).toEqual([
      ['roles_changed,channels_changed', false, ['seller']],
      ['disabled', true, ['seller']],
    ]);
  });
});
