import request from 'supertest';
import { ServiceRuntime, newEvent } from '@omnimall/service-kit';
import { bearer, testConfig, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import { manifest } from '../src/events';
import type { RunningIdentity } from '../src/main';
import {
  adminToken,
  appHeaders,
  linkAs,
  customerLogin,
  customerRefresh,
  newDevice,
  registerCustomer,
  startTestIdentity,
} from './support/harness';

const TOPICS = [...manifest.produces];

describe('customers: links, merges, standing, consent, residency, export, erasure', () => {
  let svc: RunningIdentity;
  let recorder: TopicRecorder;
  let admin: string;
  let channels: ServiceRuntime;
  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), TOPICS).start();
    svc = await startTestIdentity();
    channels = await ServiceRuntime.start({ config: testConfig('channels-sim'), produces: ['channels.channel-changed'] });
    admin = await adminToken(svc);
  });
  afterAll(async () => {
    await svc?.stop();
    await channels?.stop();
    await recorder?.stop();
  });

  /**
   * Decoded events of one topic whose Kafka key is `key`, once each: the outbox publishes at least
   * once, so a record may arrive twice with the same eventId, which consumers drop (as here).
   */
  const events = async <T>(topic: string, key: string): Promise<T[]> => {
    const seen = new Set<string>();
    const records = recorder.where((r) => r.topic === topic && r.message.key?.toString() === key);
    const decoded = await Promise.all(
      records.map((r) => svc.runtime.schemas.decode<T & { envelope: { eventId: string } }>(r.message.value!)),
    );
    return decoded.filter((v) => !seen.has(v.envelope.eventId) && !!seen.add(v.envelope.eventId));
  };
  const eventually = <T>(topic: string, key: string, pred: (v: T) => boolean, what: string) =>
    waitFor(async () => (await events<T>(topic, key)).filter(pred), what);
  const login = (body: object, address: string, channel?: string) => customerLogin(svc, body, address, channel);
  const refresh = (refreshToken: string, channel?: string) => customerRefresh(svc, refreshToken, channel);
  const link = (customerId: string, who: string | Record<string, string>, body: object) => linkAs(svc, customerId, who, body);

  it('links a device with its token, idempotently, announced once; a conflict names the holder to staff only', async () => {
    const a = await registerCustomer(svc, { channel: 'app' });
    const b = await registerCustomer(svc, { channel: 'app' });
    const dev = await newDevice(svc, 'app');
    const body = { type: 'device', externalId: dev.deviceId, deviceToken: dev.deviceToken };
    const first = await link(a.id, `Bearer ${a.accessToken}`, body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ type: 'device', externalId: dev.deviceId, customerId: a.id, channel: 'app' });
    expect((await link(a.id, `Bearer ${a.accessToken}`, body)).status).toBe(200);
    // b holds the same device and its token (a shared tablet): taken, by whom is not said.
    const clash = await link(b.id, `Bearer ${b.accessToken}`, body);
    expect([clash.status, clash.body.code]).toEqual([409, 'identity_already_linked']);
    expect(clash.body.hint).toBeTruthy();
    expect(JSON.stringify(clash.body)).not.toContain(a.id);
    // Staff see both profiles, to merge them if they are one person.
    const asStaff = await link(b.id, admin, { type: 'device', externalId: dev.deviceId, channel: 'app' });
    expect([asStaff.status, asStaff.body.details]).toEqual([
      409,
      expect.objectContaining({ existingCustomerId: a.id, requestedCustomerId: b.id }),
    ]);
    const foreign = await link(a.id, `Bearer ${b.accessToken}`, body);
    expect([foreign.status, foreign.body.code]).toEqual([403, 'not_allowed_for_customer']);
    const [ev] = await eventually<{ identityType: string; externalId: string; channel: string }>(
      'identity.identity-linked',
      a.id,
      (v) => v.externalId === dev.deviceId,
      'IdentityLinked',
    );
    expect(ev).toMatchObject({ identityType: 'device', channel: 'app', customerId: a.id });
    expect(await events('identity.identity-linked', a.id)).toHaveLength(1); // the idempotent repeat emitted nothing
  });

  it('links a device at login, with its token, so its anonymous cart can follow the customer', async () => {
    const c = await registerCustomer(svc);
    const dev = await newDevice(svc, 'app');
    const res = await login({ email: c.email, password: c.password, deviceToken: dev.deviceToken }, '10.5.0.1', 'app');
    expect(res.body.deviceLink).toEqual({ status: 'linked' });
    const resolved = await request(svc.app).get(`/identities/device/${dev.deviceId}`).set('authorization', admin);
    expect(resolved.body.resolvedCustomerId).toBe(c.id);
  });

  it('merges one profile into another: identities re-pointed, evidence kept, CustomerMerged emitted, logins follow', async () => {
    const source = await registerCustomer(svc);
    const target = await registerCustomer(svc);
    const partnerId = `aff-${source.id}`;
    expect((await link(source.id, await appHeaders(svc, 'web'), { type: 'partner_account', externalId: partnerId })).status).toBe(201);
    const merged = await request(svc.app)
      .post('/admin/merges')
      .set('authorization', admin)
      .send({
        sourceCustomerId: source.id,
        targetCustomerId: target.id,
        reason: 'same person, two signups',
        evidence: { ticket: 'SUP-1', matched: ['phone', 'address'] },
      });
    expect(merged.status).toBe(201);
    expect(merged.body).toMatchObject({
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
      movedIdentities: [`partner_account:${partnerId}`],
      evidence: { ticket: 'SUP-1' },
    });
    const record = await request(svc.app).get(`/admin/merges/${merged.body.id}`).set('authorization', admin);
    expect(record.body.sourceSnapshot).toMatchObject({ id: source.id, email: source.email });
    expect(record.body.evidence).toEqual({ ticket: 'SUP-1', matched: ['phone', 'address'] });
    const [ev] = await eventually<{ sourceCustomerId: string; mergedBy: string }>(
      'identity.customer-merged',
      target.id,
      () => true,
      'CustomerMerged',
    );
    expect(ev.sourceCustomerId).toBe(source.id);
    expect((await request(svc.app).get(`/identities/partner_account/${partnerId}`).set('authorization', admin)).body.customerId).toBe(
      target.id,
    );
    const again = await request(svc.app)
      .post('/admin/merges')
      .set('authorization', admin)
      .send({ sourceCustomerId: source.id, targetCustomerId: target.id, reason: 'twice' });
    expect([again.status, again.body.code]).toEqual([409, 'already_merged']);
    const relogin = await login({ email: source.email, password: source.password }, '10.5.0.2');
    expect(relogin.body.customer.id).toBe(target.id);
    expect((await refresh(source.refreshToken)).body.code).toBe('session_revoked');
    const third = await registerCustomer(svc);
    const odd = await request(svc.app)
      .post('/admin/merges')
      .set('authorization', admin)
      .send({ sourceCustomerId: third.id, targetCustomerId: target.id, reason: 'odd evidence keys', evidence: { 'a.b': 1, $where: 'x' } });
    expect(odd.status).toBe(201);
    expect(odd.body.evidence).toEqual({ 'a.b': 1, $where: 'x' });
    const self = await request(svc.app)
      .post('/admin/merges')
      .set('authorization', `Bearer ${target.accessToken}`)
      .send({ sourceCustomerId: source.id, targetCustomerId: target.id, reason: 'nope' });
    expect(self.status).toBe(403);
  });

  it('bans, suspends, reinstates, changes tier and badge, each as full standing on identity.customer-status', async () => {
    const c = await registerCustomer(svc);
    const post = (path: string, body: object) =>
      request(svc.app).post(`/admin/customers/${c.id}/${path}`).set('authorization', admin).send(body);
    expect((await post('tier', { loyaltyTier: 'gold' })).body).toMatchObject({ loyaltyTier: 'gold', status: 'active' });
    expect((await post('verified', { verified: true })).body.verified).toBe(true);
    const until = Date.now() + 3_600_000;
    expect((await post('suspend', { reason: 'chargebacks', until: new Date(until).toISOString() })).body).toMatchObject({
      status: 'suspended',
      until,
    });
    const suspended = await login({ email: c.email, password: c.password }, '10.5.0.3');
    expect([suspended.status, suspended.body.code, suspended.body.details.until]).toEqual([403, 'customer_suspended', until]);
    expect((await post('ban', { reason: 'fraud ring' })).body).toMatchObject({ status: 'banned', reason: 'fraud ring', until: null });
    expect((await refresh(c.refreshToken)).body.code).toBe('session_revoked');
    expect((await post('reinstate', { reason: 'appeal upheld' })).body.status).toBe('active');
    const past = await post('suspend', { reason: 'oops', until: Date.now() - 1000 });
    expect([past.status, past.body.code]).toEqual([422, 'suspension_in_past']);
    const missing = await request(svc.app).post('/admin/customers/nobody/ban').set('authorization', admin).send({ reason: 'x y z' });
    expect([missing.status, missing.body.code]).toEqual([404, 'customer_not_found']);
    const notAdmin = await request(svc.app)
      .post(`/admin/customers/${c.id}/ban`)
      .set('authorization', await bearer({ sub: 's', kind: 'staff', roles: ['seller'] }))
      .send({ reason: 'x y z' });
    expect(notAdmin.status).toBe(403);

    const changes = await eventually<{ change: string; envelope: { aggregateVersion: number } }>(
      'identity.customer-status',
      c.id,
      () => true,
      'status events',
    );
    await waitFor(async () => (await events('identity.customer-status', c.id)).length === 6, 'six status events');
    const all = await events<{
      change: string;
      status: string;
      loyaltyTier: string;
      verified: boolean;
      envelope: { aggregateVersion: number };
    }>('identity.customer-status', c.id);
    expect(all.map((e) => e.change)).toEqual(['registered', 'tier_changed', 'badge_changed', 'suspended', 'banned', 'reinstated']);
    expect(all.map((e) => e.envelope.aggregateVersion)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all[4]).toMatchObject({ status: 'banned', loyaltyTier: 'gold', verified: true });
    expect(changes.length).toBeGreaterThan(0);
  });

  it('keeps per-channel consents with timestamp and source, and announces them', async () => {
    const c = await registerCustomer(svc);
    const put = await request(svc.app)
      .put(`/customers/${c.id}/consents/web`)
      .set('authorization', `Bearer ${c.accessToken}`)
      .send({ marketing: true, analytics: false, source: 'signup_form' });
    expect(put.status).toBe(200);
    expect(put.body.marketing).toMatchObject({ granted: true, source: 'signup_form' });
    await request(svc.app)
      .put(`/customers/${c.id}/consents/app`)
      .set('authorization', `Bearer ${c.accessToken}`)
      .send({ personalisation: true, source: 'settings_page' });
    await request(svc.app)
      .put(`/customers/${c.id}/consents/web`)
      .set('authorization', `Bearer ${c.accessToken}`)
      .send({ marketing: false, source: 'unsubscribe_link' });
    const got = await request(svc.app).get(`/customers/${c.id}/consents`).set('authorization', `Bearer ${c.accessToken}`);
    expect(got.body.web.marketing).toMatchObject({ granted: false, source: 'unsubscribe_link' });
    expect(got.body.web.analytics).toMatchObject({ granted: false, source: 'signup_form' });
    expect(got.body.app.personalisation.granted).toBe(true);
    expect(Date.parse(got.body.web.marketing.at)).toBeGreaterThanOrEqual(Date.parse(got.body.web.analytics.at));
    const empty = await request(svc.app)
      .put(`/customers/${c.id}/consents/web`)
      .set('authorization', `Bearer ${c.accessToken}`)
      .send({ source: 'x-form' });
    expect([empty.status, empty.body.code]).toEqual([400, 'validation_failed']);
    const evs = await waitFor(async () => {
      const e = await events<{ channel: string; marketing: boolean; source: string }>('identity.consent-changed', c.id);
      return e.length === 3 && e;
    }, 'three consent events');
    expect(evs[2]).toMatchObject({ channel: 'web', marketing: false, source: 'unsubscribe_link' });
  });

  it('refuses personal data to a channel not allowed to receive the region: 403, rule, remediation, compliance event', async () => {
    const c = await registerCustomer(svc, { channel: 'web', dataRegion: 'eu' });
    const ok = await request(svc.app)
      .get(`/customers/${c.id}/profile`)
      .set('authorization', `Bearer ${c.accessToken}`)
      .set('x-channel-code', 'web');
    expect(ok.body.email).toBe(c.email);
    // Staff name the channel they read through (a customer's is its token's: see auth.test.ts).
    const officer = await bearer({ sub: 'officer-r', kind: 'staff', roles: ['compliance_officer'] });
    const res = await request(svc.app).get(`/customers/${c.id}/profile`).set('authorization', officer).set('x-channel-code', 'us-kiosk');
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      code: 'data_residency_forbidden',
      rule: 'data_residency',
      details: { channel: 'us-kiosk', dataRegion: 'eu', allowedRegions: ['us'], ruleSource: 'configuration' },
    });
    expect(res.body.remediation).toMatch(/allowedDataRegions/);
    expect(res.body.hint).toBe(res.body.remediation);
    expect(JSON.stringify(res.body)).not.toContain(c.email);
    const violations = await waitFor(
      () =>
        recorder.where((r) => r.topic === 'identity.compliance-violation' && r.message.key?.toString() === res.body.details.violationId),
      'a compliance event',
    );
    const v = await svc.runtime.schemas.decode<{ rule: string; customerId: string; channel: string; action: string; actor: string }>(
      violations[0].message.value!,
    );
    expect(v).toMatchObject({
      rule: 'data_residency',
      customerId: c.id,
      channel: 'us-kiosk',
      action: 'GET /customers/:id/profile',
      actor: 'officer-r',
    });

    // A channel app whose channel nobody announced: its customers' data goes nowhere.
    const ghost = await login({ email: c.email, password: c.password }, '10.5.0.4', 'ghost');
    expect([ghost.status, ghost.body.code, ghost.body.details.ruleSource]).toEqual([403, 'data_residency_forbidden', 'unknown_channel']);
    // its rule is asked for as in every service: 404 channel_not_found; a configured channel's rule answers
    const ghostRule = await request(svc.app).get('/channels/ghost/data-regions').set('authorization', officer);
    expect([ghostRule.status, ghostRule.body.code, ghostRule.body.details]).toEqual([404, 'channel_not_found', { channel: 'ghost' }]);
    expect(ghostRule.body.hint).toEqual(expect.any(String));
    const kioskRule = await request(svc.app).get('/channels/us-kiosk/data-regions').set('authorization', officer);
    expect([kioskRule.status, kioskRule.body]).toEqual([200, { channel: 'us-kiosk', allowedDataRegions: ['us'], source: 'configuration' }]);
    const reg = await request(svc.app)
      .post('/auth/register')
      .set(await appHeaders(svc, 'us-kiosk'))
      .send({ email: `k-${c.email}`, password: 'a-long-password-1', dataRegion: 'eu' });
    expect(reg.status).toBe(403);
    expect(await svc.store.customers.idByEmail(`k-${c.email}`)).toBeNull();
  });

  it("learns channels' allowed regions from channels.channel-changed, newest version winning", async () => {
    const c = await registerCustomer(svc, { channel: 'app', dataRegion: 'uk' });
    const code = `mini-${Date.now().toString(36)}`;
    const announce = (version: number, regions: string[]) =>
      channels.publisher.publish([
        newEvent(
          'channels.channel-changed',
          { type: 'channel.updated', producer: 'channels', aggregateId: code, aggregateVersion: version },
          {
            code,
            name: 'Mini app',
            kind: 'mini_app',
            state: 'active',
            previousState: null,
            expectedBackAt: null,
            blockReasons: [],
            country: 'GB',
            region: 'uk',
            languages: ['en'],
            currencies: ['GBP'],
            masterChannel: null,
            allowedDataRegions: regions,
            change: 'updated',
          },
        ),
      ]);
    const profile = () => request(svc.app).get(`/customers/${c.id}/profile`).set('authorization', admin).set('x-channel-code', code);
    expect((await profile()).status).toBe(403);
    await announce(2, ['uk']);
    await waitFor(async () => (await profile()).status === 200, 'the channel rule to allow uk');
    await announce(1, []); // older: ignored
    await announce(3, ['eu']);
    const refused = await waitFor(async () => {
      const r = await profile();
      return r.status === 403 && r;
    }, 'the newer rule to refuse uk');
    expect(refused.body.details).toMatchObject({ ruleSource: 'channels', allowedRegions: ['eu'] });
    expect((await svc.store.channelRules.get(code))!.version).toBe(3);
  });

  it('scopes channel managers to their channels when reading profiles', async () => {
    const c = await registerCustomer(svc, { dataRegion: 'eu', channel: 'web' });
    const mgr = await bearer({ sub: 'mgr-1', kind: 'staff', roles: ['channel_manager'], channels: ['app'] });
    const read = (channel: string) =>
      request(svc.app).get(`/customers/${c.id}/profile`).set('authorization', mgr).set('x-channel-code', channel);
    const out = await read('web');
    expect([out.status, out.body.code]).toEqual([403, 'channel_out_of_scope']);
    // Its own channel in the header is not enough: the customer was never active on app.
    const never = await read('app');
    expect([never.status, never.body.code]).toEqual([403, 'customer_not_on_channel']);
    expect(never.body.hint).toBeTruthy();
    // Once the customer logs in on app, its manager may read the profile.
    const onApp = await login({ email: c.email, password: c.password }, '10.6.0.1', 'app');
    expect(onApp.status).toBe(200);
    expect((await svc.store.customers.get(c.id))!.channels).toEqual(['web', 'app']);
    const now = await read('app');
    expect([now.status, now.body.id]).toEqual([200, c.id]);
  });

  it('shows standing (with a ban reason) only to the customer themself and staff', async () => {
    const c = await registerCustomer(svc);
    const other = await registerCustomer(svc);
    const status = (token: string) => request(svc.app).get(`/customers/${c.id}/status`).set('authorization', token);
    await request(svc.app)
      .post(`/admin/customers/${c.id}/suspend`)
      .set('authorization', admin)
      .send({ reason: 'chargeback fraud', until: '2099-01-01T00:00:00Z' });
    const foreign = await status(`Bearer ${other.accessToken}`);
    expect([foreign.status, foreign.body.code]).toEqual([403, 'not_allowed_for_customer']);
    expect(JSON.stringify(foreign.body)).not.toContain('chargeback');
    expect((await request(svc.app).get(`/customers/${c.id}/status`)).status).toBe(401);
    const seller = await bearer({ sub: 'seller-1', kind: 'staff', roles: ['seller'], channels: [] });
    for (const token of [admin, seller]) {
      const r = await status(token);
      expect([r.status, r.body.customerId, r.body.reason]).toEqual([200, c.id, 'chargeback fraud']);
    }
    const self = await request(svc.app).get(`/customers/${other.id}/status`).set('authorization', `Bearer ${other.accessToken}`);
    expect([self.status, self.body.status]).toEqual([200, 'active']);
  });

  it('exports everything held about a customer as JSON, and records the export', async () => {
    const c = await registerCustomer(svc);
    const installation = `inst-${c.id}`;
    expect((await link(c.id, await appHeaders(svc, 'app'), { type: 'app_installation', externalId: installation })).status).toBe(201);
    await request(svc.app)
      .put(`/customers/${c.id}/consents/web`)
      .set('authorization', `Bearer ${c.accessToken}`)
      .send({ analytics: true, source: 'banner' });
    const res = await request(svc.app).get(`/customers/${c.id}/export`).set('authorization', `Bearer ${c.accessToken}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toContain(`customer-${c.id}.json`);
    expect(res.body.customer).toMatchObject({
      id: c.id,
      email: c.email,
      consents: { web: { analytics: { granted: true, source: 'banner' } } },
    });
    expect(res.body.linkedIdentities).toEqual([
      expect.objectContaining({ type: 'app_installation', externalId: installation, channel: 'app' }),
    ]);
    expect(res.body.sessions.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(res.body)).not.toMatch(/scrypt|currentHash|usedHashes|outbox/);
    const [ev] = await eventually<{ kind: string; requestedBy: string }>(
      'identity.data-request',
      c.id,
      (v) => v.kind === 'export',
      'export event',
    );
    expect(ev.requestedBy).toBe(c.id);
  });

  it('erases a customer: personal fields pseudonymised, evidence kept, status erased emitted', async () => {
    const c = await registerCustomer(svc);
    const dev = await newDevice(svc, 'web');
    const linked = await link(c.id, `Bearer ${c.accessToken}`, { type: 'device', externalId: dev.deviceId, deviceToken: dev.deviceToken });
    expect(linked.status).toBe(201);
    const officer = await bearer({ sub: 'officer-1', kind: 'staff', roles: ['compliance_officer'] });
    const res = await request(svc.app).post(`/customers/${c.id}/erasure`).set('authorization', officer);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('erased');
    const stored = (await svc.store.customers.get(c.id))!;
    expect(stored).toMatchObject({
      email: `erased+${c.id}@erased.invalid`,
      passwordHash: null,
      displayName: null,
      status: 'erased',
      channels: [],
    });
    expect(stored.erasedEmailDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(c.email);
    expect(await svc.store.links.ofCustomer(c.id)).toEqual([]);
    expect(await svc.store.dataRequests.ofCustomer(c.id)).toContainEqual(
      expect.objectContaining({ customerId: c.id, kind: 'erasure', requestedBy: 'officer-1' }),
    );
    const [status] = await eventually<{ status: string; change: string }>(
      'identity.customer-status',
      c.id,
      (v) => v.change === 'erased',
      'erased status',
    );
    expect(status.status).toBe('erased');
    await eventually<{ kind: string }>('identity.data-request', c.id, (v) => v.kind === 'erasure', 'erasure request event');
    expect((await login({ email: c.email, password: c.password }, '10.5.0.9')).status).toBe(401);
    const twice = await request(svc.app).post(`/customers/${c.id}/erasure`).set('authorization', officer);
    expect([twice.status, twice.body.code]).toEqual([422, 'customer_erased']);
    // The email is free again: a new account takes it, and a login with it reaches the new account.
    expect(await svc.store.emails.holderOf(c.email)).toBeNull();
    const again = await registerCustomer(svc, { email: c.email, password: 'another-long-password-2' });
    expect(again.id).not.toBe(c.id);
    const relogin = await login({ email: c.email, password: 'another-long-password-2' }, '10.5.0.10');
    expect([relogin.status, relogin.body.customer.id]).toEqual([200, again.id]);
  });

  it('finds customers by email through their email document, backfilled for accounts that predate it', async () => {
    const c = await registerCustomer(svc);
    expect(await svc.store.emails.holderOf(c.email)).toBe(c.id);
    // As if registered before email documents existed: the start-up backfill restores it.
    await svc.store.emails.release(c.email, c.id);
    expect((await login({ email: c.email, password: c.password }, '10.5.0.11')).status).toBe(401);
    // The start-up pass ran once for this database (marked in migrations): running it again does nothing.
    expect(await svc.store.emails.backfillOnce()).toBe(false);
    expect(await svc.store.emails.holderOf(c.email)).toBeNull();
    expect(await svc.store.emails.backfill()).toBeGreaterThanOrEqual(1);
    const back = await login({ email: c.email, password: c.password }, '10.5.0.11');
    expect([back.status, back.body.customer.id]).toEqual([200, c.id]);
    // A document naming someone who does not have the email: the unique index still refuses a second
    // account, and the document is pointed back at the account that has it.
    expect(await svc.store.emails.reassign(c.email, c.id, 'nobody')).toBe(true);
    const taken = await request(svc.app)
      .post('/auth/register')
      .set(await appHeaders(svc))
      .send({ email: c.email, password: 'a-long-password-3', dataRegion: 'eu' });
    expect([taken.status, taken.body.code]).toEqual([409, 'email_taken']);
    expect(await svc.store.emails.holderOf(c.email)).toBe(c.id);
  });
});
