import supertest from 'supertest';
import type { TopicValues } from '@omnimall/contracts';
import { bearer, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { activate, adminToken, managerToken, startTestChannels, type ChannelsService } from './support/harness';
import { channelBody } from './support/fixtures';

type ChannelChanged = TopicValues['channels.channel-changed'];

let svc: ChannelsService;
let recorder: TopicRecorder;
let http: ReturnType<typeof supertest>;
let admin: string;

beforeAll(async () => {
  [svc, recorder] = await Promise.all([
    startTestChannels(),
    new TopicRecorder(testKafka(), ['channels.channel-changed', 'channels.notification']).start(),
  ]);
  http = supertest(svc.app);
  admin = await adminToken();
});
afterAll(async () => {
  await Promise.all([svc?.stop(), recorder?.stop()]);
});

const code = (p: string) => uniqueName(p).replace(/_/g, '-');

/** The channel's events as consumers see them: at-least-once delivery, deduplicated by eventId. */
async function eventsOf(channel: string): Promise<ChannelChanged[]> {
  const recs = recorder.where((r) => r.topic === 'channels.channel-changed' && r.message.key?.toString() === channel);
  const decoded = await Promise.all(recs.map((r) => svc.runtime.schemas.decode<ChannelChanged>(r.message.value!)));
  return [...new Map(decoded.map((e) => [e.envelope.eventId, e])).values()];
}

async function register(c: string, patch: Record<string, unknown> = {}) {
  const r = await http.post('/channels').set('authorization', admin).send(channelBody(c, patch));
  expect(r.status).toBe(201);
  return r.body;
}

describe('registry', () => {
  it('registers a channel in draft and emits its full state', async () => {
    const c = code('web');
    const body = await register(c);
    expect(body).toMatchObject({
      code: c,
      state: 'draft',
      languages: ['de-DE', 'en'],
      currencies: ['EUR'],
      manager: { accountId: 'stf_manager_1' },
      version: 1,
      commerceAllowed: false,
    });
    const [ev] = await waitFor(() => eventsOf(c), 'the registered event');
    expect(ev).toMatchObject({
      code: c,
      state: 'draft',
      previousState: null,
      change: 'registered',
      blockReasons: [],
      allowedDataRegions: ['eu'],
      envelope: { aggregateVersion: 1, producer: 'channels' },
    });
  });

  it('refuses bad input field by field, a taken code, an unknown master', async () => {
    const bad = await http
      .post('/channels')
      .set('authorization', admin)
      .send(channelBody(code('x'), { country: 'XX', currencies: ['ABC'], branding: { logoUrl: 'nope' } }));
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'body.branding.colors',
      'body.branding.fonts',
      'body.branding.logoUrl',
      'body.country',
      'body.currencies.0',
    ]);

    const c = code('dup');
    await register(c);
    const dup = await http.post('/channels').set('authorization', admin).send(channelBody(c));
    expect([dup.status, dup.body.code]).toEqual([409, 'channel_code_taken']);

    const orphan = await http
      .post('/channels')
      .set('authorization', admin)
      .send(channelBody(code('aff'), { kind: 'affiliate', masterChannel: 'no-such-master' }));
    expect([orphan.status, orphan.body.code]).toEqual([422, 'master_channel_not_found']);
    const child = await http
      .post('/channels')
      .set('authorization', admin)
      .send(channelBody(code('aff'), { kind: 'affiliate', masterChannel: c }));
    expect([child.status, child.body.masterChannel]).toEqual([201, c]);

    const malformed = await http.post('/channels').set('authorization', admin).set('content-type', 'application/json').send('{"code":');
    expect([malformed.status, malformed.body.code]).toEqual([400, 'malformed_json']);
  });

  it('lets only admins register and managers see only their own channels', async () => {
    const c = code('own');
    await register(c);
    expect((await http.post('/channels').send(channelBody(code('n')))).status).toBe(401);
    const asManager = await http
      .post('/channels')
      .set('authorization', await managerToken([c]))
      .send(channelBody(code('m')));
    expect([asManager.status, asManager.body.code]).toEqual([403, 'role_required']);
    expect((await http.get(`/channels/${c}`).set('authorization', await managerToken([c]))).status).toBe(200);
    const other = await http.get(`/channels/${c}`).set('authorization', await managerToken(['someone-else']));
    expect([other.status, other.body.code]).toEqual([403, 'channel_out_of_scope']);
    const customer = await http.get(`/channels/${c}`).set('authorization', await bearer({ sub: 'cus_1', kind: 'customer' }));
    expect(customer.status).toBe(403);
    const list = await http.get('/channels').set('authorization', await managerToken([c]));
    expect(list.body.channels.map((x: { code: string }) => x.code)).toEqual([c]);
  });

  it('keeps the code immutable and emits updates', async () => {
    const c = code('upd');
    await register(c);
    const manager = await managerToken([c]);
    const immut = await http.patch(`/channels/${c}`).set('authorization', manager).send({ code: 'renamed' });
    expect(immut.status).toBe(400);
    expect(immut.body.details.fields).toEqual([expect.objectContaining({ field: 'body.code', problem: 'the channel code is immutable' })]);
    const ok = await http
      .patch(`/channels/${c}`)
      .set('authorization', manager)
      .send({ name: 'Renamed', currencies: ['EUR', 'CHF'] });
    expect(ok.body).toMatchObject({ name: 'Renamed', currencies: ['EUR', 'CHF'], version: 2 });
    const reassign = { manager: { accountId: 'stf_manager_2', roles: ['channel_manager'] } };
    expect((await http.patch(`/channels/${c}`).set('authorization', manager).send(reassign)).body.code).toBe('admin_required');
    expect((await http.patch(`/channels/${c}`).set('authorization', admin).send(reassign)).body.manager).toEqual({
      accountId: 'stf_manager_2',
    });
    await waitFor(async () => (await eventsOf(c)).some((e) => e.change === 'updated' && e.name === 'Renamed'), 'the updated event');
    expect((await http.get('/channels/no-such').set('authorization', admin)).status).toBe(404);
  });
});

describe('lifecycle over HTTP', () => {
  it('walks draft → active → maintenance → active → sunset → offboarding → retired with the right roles', async () => {
    const c = code('life');
    await register(c);
    const manager = await managerToken([c]);
    const move = (token: string, action: string, extra: Record<string, unknown> = {}) =>
      http
        .post(`/channels/${c}/transitions`)
        .set('authorization', token)
        .send({ action, ...extra });

    const illegal = await move(manager, 'activate');
    expect(illegal.status).toBe(409);
    expect(illegal.body).toMatchObject({
      code: 'illegal_transition',
      details: { state: 'draft', allowed: [{ action: 'submit', to: 'pending_approval' }] },
    });
    expect((await move(manager, 'submit')).body.state).toBe('pending_approval');
    expect((await move(manager, 'approve')).body.code).toBe('admin_required');
    const tooSoon = await http.put(`/channels/${c}/checklists/onboarding/approval`).set('authorization', admin).send({});
    expect([tooSoon.status, tooSoon.body.code, tooSoon.body.hint]).toEqual([
      409,
      'checklist_closed',
      expect.stringMatching(/action approve.*ticks approval/),
    ]);
    const approved = await move(admin, 'approve');
    expect(approved.body.state).toBe('approved');
    const adminSub = approved.body.checklists.onboarding.approval.by;
    expect(approved.body.checklists.onboarding.approval).toMatchObject({ done: true, note: 'ticked by approve' });
    expect(adminSub).toMatch(/^stf_/);
    expect((await move(manager, 'start_onboarding')).body.state).toBe('onboarding');
    const early = await move(admin, 'activate');
    expect([early.status, early.body.code, early.body.details.missing]).toEqual([
      409,
      'checklist_incomplete',
      ['handoff', 'operational_readiness'],
    ]);
    expect(early.body.hint).toContain('handoff (PUT /channels/{code}/checklists/onboarding/handoff)');
    // approval is an admin's item: a manager may not tick it, an admin may tick it again (with a note)
    expect((await http.put(`/channels/${c}/checklists/onboarding/approval`).set('authorization', manager).send({})).status).toBe(403);
    expect(
      (await http.put(`/channels/${c}/checklists/onboarding/approval`).set('authorization', admin).send({ note: 'signed' })).status,
    ).toBe(200);
    expect((await http.put(`/channels/${c}/checklists/onboarding/handoff`).set('authorization', manager).send({})).status).toBe(200);
    expect(
      (await http.put(`/channels/${c}/checklists/onboarding/operational_readiness`).set('authorization', manager).send({})).status,
    ).toBe(200);
    expect((await http.put(`/channels/${c}/checklists/offboarding/data_migration`).set('authorization', admin).send({})).body.code).toBe(
      'checklist_closed',
    );
    const activated = await move(admin, 'activate');
    expect(activated.body).toMatchObject({ state: 'active', commerceAllowed: true });
    expect(activated.body.notice).toBeUndefined();

    const noDate = await move(manager, 'enter_maintenance');
    expect([noDate.status, noDate.body.details.fields[0].field]).toEqual([400, 'body.expectedBackAt']);
    expect((await move(manager, 'enter_maintenance', { expectedBackAt: 'tomorrow-ish' })).status).toBe(400);
    const back = new Date(Date.now() + 3600_000).toISOString();
    expect((await move(manager, 'enter_maintenance', { expectedBackAt: back })).body).toMatchObject({
      state: 'maintenance',
      expectedBackAt: back,
    });
    expect((await move(manager, 'end_maintenance')).body).toMatchObject({ state: 'active', expectedBackAt: null });
    expect((await move(manager, 'sunset')).status).toBe(403);
    expect((await move(admin, 'sunset')).body.state).toBe('sunset');
    expect((await move(manager, 'start_offboarding')).body.state).toBe('offboarding');
    expect((await move(admin, 'retire')).body.details.missing).toEqual(['stock_liquidation', 'data_migration', 'legal_compliance']);
    for (const item of ['stock_liquidation', 'data_migration', 'legal_compliance']) {
      expect((await http.put(`/channels/${c}/checklists/offboarding/${item}`).set('authorization', admin).send({})).status).toBe(200);
    }
    expect((await move(admin, 'retire')).body.state).toBe('retired');
    const final = await move(admin, 'submit');
    expect([final.status, final.body.details.allowed]).toEqual([409, []]);

    const history = await http.get(`/channels/${c}/transitions`).set('authorization', manager);
    expect(history.body.transitions.map((t: { to: string }) => t.to)).toEqual([
      'pending_approval',
      'approved',
      'onboarding',
      'active',
      'maintenance',
      'active',
      'sunset',
      'offboarding',
      'retired',
    ]);
    const events = await waitFor(async () => {
      const evs = (await eventsOf(c)).filter((e) => e.change === 'transitioned');
      return evs.length === 9 && evs;
    }, 'nine transition events');
    expect(events.map((e) => `${e.previousState}→${e.state}`)).toContain('active→maintenance');
    const versions = (await eventsOf(c)).map((e) => e.envelope.aggregateVersion);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });

  it('answers the activation of a blocked channel 200 with commerceAllowed false and a notice naming each reason and its remedy', async () => {
    const c = code('blk');
    await register(c, { languages: ['ja'], country: 'JP', currencies: ['JPY'], region: 'jp', allowedDataRegions: ['jp'] });
    const body = await activate(svc, c);
    expect(body).toMatchObject({
      state: 'active',
      commerceAllowed: false,
      blockReasons: ['missing_compliance_text:compliance.termsOfSale:ja'],
      notice: { code: 'commerce_not_allowed', blockReasons: ['missing_compliance_text:compliance.termsOfSale:ja'] },
    });
    expect((body.notice as { hint: string }).hint).toContain('PUT /channels/{code}/config-overrides/compliance.termsOfSale');
    const doc = (await http.get('/openapi.json')).body.paths['/channels/{code}/transitions'].post;
    expect(doc.responses['200'].description).toMatch(/commerceAllowed is false and `notice`/);
  });

  it('names the events a transition caused in x-event-ids, and carries the correlation id the caller set into them', async () => {
    const c = code('evid');
    await register(c);
    const manager = await managerToken([c]);
    const res = await http
      .post(`/channels/${c}/transitions`)
      .set('authorization', manager)
      .set('x-correlation-id', `shop-app:${c}`)
      .send({ action: 'submit' });
    expect([res.status, res.headers['x-correlation-id'], res.headers['x-event-count']]).toEqual([200, `shop-app:${c}`, '1']);
    const ev = await waitFor(
      async () => (await eventsOf(c)).find((e) => e.envelope.eventId === res.headers['x-event-ids']),
      'the event named by x-event-ids',
    );
    expect(ev).toMatchObject({ state: 'pending_approval', change: 'transitioned', envelope: { correlationId: `shop-app:${c}` } });
    const read = await http.get(`/channels/${c}`).set('authorization', manager);
    expect(read.headers['x-event-ids']).toBeUndefined();
  });
});

describe('credentials', () => {
  it('shows an API key once, stores only its hash, verifies it, and honours revocation', async () => {
    const c = code('cred');
    await register(c);
    const manager = await managerToken([c]);
    const issued = await http.post(`/channels/${c}/credentials`).set('authorization', manager);
    expect(issued.status).toBe(201);
    const { apiKey, keyId } = issued.body;
    const stored = await svc.models.channels.findById(c).lean();
    expect(JSON.stringify(stored)).not.toContain(apiKey);
    expect(stored!.credentials[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify((await http.get(`/channels/${c}`).set('authorization', manager)).body)).not.toContain(apiKey);

    expect((await http.post('/credentials/verify').send({ channel: c, apiKey })).body).toMatchObject({
      valid: true,
      channel: c,
      state: 'draft',
      commerceAllowed: false,
    });
    const tampered = apiKey.slice(0, -1) + (apiKey.endsWith('x') ? 'y' : 'x'); // one character off, never the key itself
    expect((await http.post('/credentials/verify').send({ channel: c, apiKey: tampered })).status).toBe(401);
    const cfg = await http.get('/channel-app/config').set('x-channel-code', c).set('x-channel-key', apiKey);
    expect(cfg.body).toMatchObject({ channel: c, version: 1, values: { 'rules.maxCartLines': 100 } });
    expect((await http.get('/channel-app/config').set('x-channel-code', c)).body.code).toBe('channel_credentials_missing');

    expect((await http.delete(`/channels/${c}/credentials/${keyId}`).set('authorization', manager)).status).toBe(204);
    expect((await http.post('/credentials/verify').send({ channel: c, apiKey })).status).toBe(401);
  });
});

describe('central configuration', () => {
  it('records overrides of overridable keys only, and reports the effective config', async () => {
    const c = code('ovr');
    await register(c);
    const manager = await managerToken([c]);
    const locked = await http.put(`/channels/${c}/config-overrides/rules.maxCartLines`).set('authorization', manager).send({ value: 5 });
    expect([locked.status, locked.body.code]).toEqual([409, 'not_overridable']);
    expect(locked.body.details.overridable).toContain('branding.primaryColor');
    const set = await http
      .put(`/channels/${c}/config-overrides/branding.primaryColor`)
      .set('authorization', manager)
      .send({ value: '#FF0000', reason: 'campaign' });
    expect(set.body.overrides).toEqual({ 'branding.primaryColor': '#FF0000' });
    expect(
      (await http.delete(`/channels/${c}/config-overrides/branding.primaryColor`).set('authorization', manager)).body.overrides,
    ).toEqual({});
    const log = await http.get(`/channels/${c}/config-overrides/log`).set('authorization', manager);
    expect(log.body.overrides.map((o: { action: string; value: unknown; by: string }) => [o.action, o.value, o.by])).toEqual([
      ['set', '#FF0000', 'stf_manager_1'],
      ['removed', null, 'stf_manager_1'],
    ]);
  });

  it('blocks commerce on a channel missing a mandatory text in its language until an override supplies it', async () => {
    const c = code('ja');
    const created = await register(c, { languages: ['ja'], country: 'JP', currencies: ['JPY'], region: 'jp', allowedDataRegions: ['jp'] });
    expect(created.blockReasons).toEqual(['missing_compliance_text:compliance.termsOfSale:ja']);
    const manager = await managerToken([c]);
    const current = (await http.get('/config').set('authorization', manager)).body;
    const terms = { ...current.entries['compliance.termsOfSale'].value, ja: 'すべての販売は当社の販売条件に従います。' };
    const fixed = await http
      .put(`/channels/${c}/config-overrides/compliance.termsOfSale`)
      .set('authorization', manager)
      .send({ value: terms });
    expect(fixed.body.blockReasons).toEqual([]);
    await waitFor(
      async () => (await eventsOf(c)).some((e) => e.change === 'unblocked' && e.blockReasons.length === 0),
      'the unblocked event',
    );
  });

  it('blocks an active channel applying a version below the minimum, alerts admins, and lifts it when the current one is applied', async () => {
    const c = code('cfg');
    await register(c);
    await activate(svc, c);
    const { apiKey } = (await http.post(`/channels/${c}/credentials`).set('authorization', admin)).body;
    const report = (version: number) =>
      http.post('/channel-app/config-report').set('x-channel-code', c).set('x-channel-key', apiKey).send({ version });

    const start = (await http.get('/config').set('authorization', admin)).body.version;
    expect((await report(start)).body).toEqual({ appliedConfigVersion: start, blockReasons: [], commerceAllowed: true });
    expect((await report(start + 5)).status).toBe(422);
    expect(
      (
        await http
          .post('/config/versions')
          .set('authorization', await managerToken([c]))
          .send({})
      ).status,
    ).toBe(403);
    const bad = await http
      .post('/config/versions')
      .set('authorization', admin)
      .send({ entries: { 'compliance.cookies': { category: 'compliance', value: 'just a string', mandatory: true } } });
    expect([bad.status, bad.body.details.fields[0].field]).toEqual([400, 'body.entries.compliance.cookies.value']);

    const published = await http
      .post('/config/versions')
      .set('authorization', admin)
      .send({
        entries: { 'branding.fontFamily': { category: 'branding', value: 'Inter Display', overridable: true } },
        minimumVersion: start + 1,
      });
    expect(published.status).toBe(201);
    expect(published.body).toMatchObject({ version: start + 1, minimumVersion: start + 1 });
    expect(published.body.channelsReevaluated).toBeGreaterThanOrEqual(1);

    const blocked = (await http.get(`/channels/${c}`).set('authorization', admin)).body;
    expect(blocked).toMatchObject({ state: 'active', blockReasons: ['outdated_config_version'], commerceAllowed: false });
    const ev = await waitFor(async () => (await eventsOf(c)).find((e) => e.change === 'blocked'), 'the blocked event');
    expect(ev).toMatchObject({ state: 'active', blockReasons: ['outdated_config_version'] });
    const alert = await waitFor(
      async () => (await svc.models.notifications.find({ channel: c, kind: 'commerce_blocked' }).lean())[0],
      'the admin alert',
    );
    expect(alert).toMatchObject({
      audience: 'admin',
      language: 'en',
      message: `Commerce on channel ${c} is blocked: outdated_config_version.`,
    });
    await waitFor(
      () => recorder.where((r) => r.topic === 'channels.notification' && r.message.key?.toString() === alert._id).length,
      'the alert event',
    );

    expect((await report(start + 1)).body).toEqual({ appliedConfigVersion: start + 1, blockReasons: [], commerceAllowed: true });
    await waitFor(async () => (await eventsOf(c)).some((e) => e.change === 'unblocked'), 'the unblocked event');
  });
});

describe('HTTP surface', () => {
  it('serves an OpenAPI document generated from the route schemas', async () => {
    const doc = (await http.get('/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/channels',
        '/channels/{code}/transitions',
        '/channels/{code}/webhooks',
        '/config/versions',
        '/credentials/verify',
      ]),
    );
    expect(doc.paths['/channels'].post.requestBody).toBeDefined();
  });
});
