/**
 * Findings 8 and 10 of issue 17: a logout, logout everywhere, a password change or reset and a staff
 * account disabled revoke access tokens everywhere at once (identity.session-revoked, read by every
 * service's trust state), not only on identity's own routes. "Another service" is the trust probe: a
 * kit service with no token keys of its own.
 */
import request from 'supertest';
import { testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import type { RunningIdentity } from '../src/main';
import { channelApp, loginThrough, registerThrough, type ChannelApp } from './support/channel-app';
import { adminToken, startTestIdentity, uniqueEmail } from './support/harness';
import { probeCall, startTrustProbe, type TrustProbe } from './support/trust-probe';

interface RevokedRecord {
  subject: string;
  kind: string;
  sessionId: string | null;
  reason: string;
  revokedAt: number;
  notAfter: number;
}

describe('revocations reach every service (identity.session-revoked)', () => {
  let identity: RunningIdentity;
  let probe: TrustProbe;
  let app: ChannelApp;
  let recorder: TopicRecorder;
  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), ['identity.session-revoked', 'identity.password-reset']).start();
    identity = await startTestIdentity();
    probe = await startTrustProbe();
    app = await channelApp(identity);
  });
  afterAll(async () => {
    await Promise.all([probe?.stop(), identity?.stop(), recorder?.stop(), app?.auth.close()]);
  });

  const revocationsOf = async (subject: string): Promise<RevokedRecord[]> =>
    Promise.all(
      recorder
        .where((r) => r.topic === 'identity.session-revoked' && r.message.key?.toString() === subject)
        .map((r) => identity.runtime.schemas.decode<RevokedRecord>(r.message.value!)),
    );
  /** Waits until the probe answers `status` to the token (the revocation record has to arrive first). */
  const probeSays = (token: string, status: number, what: string) =>
    waitFor(async () => (await probeCall(probe, token)).status === status, what, 10_000);

  it('after a logout the other service refuses that session’s access token before it expires; the other session still works', async () => {
    const first = await registerThrough(identity, app);
    const second = await loginThrough(identity, app, first);
    expect((await probeCall(probe, first.accessToken)).status).toBe(200);
    expect((await probeCall(probe, second.accessToken)).sub).toBe(first.id);

    expect((await request(identity.app).post('/auth/logout').send({ refreshToken: first.refreshToken })).status).toBe(204);
    await probeSays(first.accessToken, 401, 'the probe refusing the logged-out token');
    expect(await probeCall(probe, first.accessToken)).toMatchObject({ status: 401, code: 'token_revoked' });
    expect(await probeCall(probe, second.accessToken)).toMatchObject({ status: 200, sub: first.id });
    expect((await request(identity.app).get('/me').set('authorization', `Bearer ${first.accessToken}`)).status).toBe(401);

    const [record] = await waitFor(() => revocationsOf(first.id), 'the logout record');
    const ttlMs = identity.ctx.settings.accessTokenTtlSeconds * 1000;
    expect(record).toMatchObject({ kind: 'customer', sessionId: first.sessionId, reason: 'logout' });
    expect(record.notAfter - record.revokedAt).toBe(ttlMs);
  });

  it('logout everywhere refuses every earlier token of the customer; a login afterwards is accepted', async () => {
    const first = await registerThrough(identity, app);
    const second = await loginThrough(identity, app, first);
    const all = await request(identity.app).post('/auth/logout-all').set('authorization', `Bearer ${second.accessToken}`);
    expect(all.status).toBe(200);
    await probeSays(first.accessToken, 401, 'the first session refused');
    await probeSays(second.accessToken, 401, 'the second session refused');
    const later = await loginThrough(identity, app, first);
    expect(await probeCall(probe, later.accessToken)).toMatchObject({ status: 200, sub: first.id });
    expect(await revocationsOf(first.id)).toEqual([expect.objectContaining({ sessionId: null, reason: 'logout_all' })]);
  });

  it('a password change revokes each other session by id and keeps the caller’s own', async () => {
    const first = await registerThrough(identity, app);
    const other = await loginThrough(identity, app, first);
    const changed = await request(identity.app)
      .post('/auth/password')
      .set('authorization', `Bearer ${first.accessToken}`)
      .set('x-forwarded-for', '10.252.0.1')
      .send({ currentPassword: first.password, newPassword: 'another-long-password-2' });
    expect(changed.status).toBeLessThan(300);
    await probeSays(other.accessToken, 401, 'the other session refused');
    expect(await probeCall(probe, first.accessToken)).toMatchObject({ status: 200, sub: first.id });
    expect(await revocationsOf(first.id)).toEqual([expect.objectContaining({ sessionId: other.sessionId, reason: 'password_changed' })]);
  });

  it('a password reset refuses every earlier token of the customer', async () => {
    const customer = await registerThrough(identity, app);
    const asked = await request(identity.app)
      .post('/auth/password-reset')
      .set(app.headers)
      .set('x-forwarded-for', '10.252.0.3')
      .send({ email: customer.email });
    expect(asked.status).toBe(202);
    const [reset] = await waitFor(
      () =>
        Promise.all(
          recorder
            .where((r) => r.topic === 'identity.password-reset' && r.message.key?.toString() === customer.id)
            .map((r) => identity.runtime.schemas.decode<{ token: string }>(r.message.value!)),
        ),
      'the reset token',
    );
    const confirmed = await request(identity.app)
      .post('/auth/password-reset/confirm')
      .send({ token: reset.token, newPassword: 'a-brand-new-password-3' });
    expect(confirmed.status).toBeLessThan(300);
    await probeSays(customer.accessToken, 401, 'the token from before the reset refused');
    expect(await revocationsOf(customer.id)).toEqual([expect.objectContaining({ sessionId: null, reason: 'password_reset' })]);
  });

  it('a staff account disabled: its session revocation is committed with the staff change, and its tokens are refused', async () => {
    const admin = await adminToken(identity);
    const email = uniqueEmail('staff');
    const created = await request(identity.app)
      .post('/staff')
      .set('authorization', admin)
      .send({ email, password: 'staff-password-123', roles: ['seller'], channels: [] });
    expect(created.status).toBe(201);
    const login = await request(identity.app)
      .post('/auth/staff/login')
      .set('x-forwarded-for', '10.252.0.2')
      .send({ email, password: 'staff-password-123' });
    const token = login.body.tokens.accessToken as string;
    expect((await probeCall(probe, token)).status).toBe(200);
    expect(
      (await request(identity.app).patch(`/staff/${created.body.id}`).set('authorization', admin).send({ disabled: true })).status,
    ).toBe(200);
    await probeSays(token, 401, 'the disabled member refused');
    const [record] = await waitFor(() => revocationsOf(created.body.id), 'the staff revocation');
    expect(record).toMatchObject({ kind: 'staff', sessionId: null, reason: 'staff_disabled' });
  });
});
