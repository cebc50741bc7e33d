/**
 * Who may change what a channel's data residency is, whose keys still count (issue 17, the
 * channels parts of findings 5 and 12), and staff tokens checked against the trust state (the kit's
 * verifier from build), over HTTP against the real stack.
 */
import supertest from 'supertest';
import { bearer, testAuth, uniqueName, type TestAuth } from '@omnimall/service-kit/testing';
import { channelBody } from './support/fixtures';
import { adminToken, managerToken, retire, startTestChannels, type ChannelsService } from './support/harness';

let svc: ChannelsService;
let http: ReturnType<typeof supertest>;
let admin: string;
let auth: TestAuth;

beforeAll(async () => {
  [svc, auth] = await Promise.all([startTestChannels(), testAuth()]);
  http = supertest(svc.app);
  admin = await adminToken();
});
afterAll(async () => {
  await Promise.all([svc?.stop(), auth?.close()]);
});

const code = (p: string) => uniqueName(p).replace(/_/g, '-');
const complianceOfficer = () => bearer({ sub: 'stf_compliance_1', kind: 'staff', roles: ['compliance_officer'], channels: [] });

async function register(c: string): Promise<void> {
  const r = await http
    .post('/channels')
    .set('authorization', admin)
    .send(channelBody(c, { allowedDataRegions: ['eu'] }));
  expect(r.status).toBe(201);
}

describe('data regions of a channel (finding 5)', () => {
  it('refuses a channel manager widening allowedDataRegions on their own channel, with a code', async () => {
    const c = code('res');
    await register(c);
    const manager = await managerToken([c]);
    const patched = await http
      .patch(`/channels/${c}`)
      .set('authorization', manager)
      .send({ allowedDataRegions: ['eu', 'us', 'cn'] });
    expect([patched.status, patched.body.code]).toEqual([403, 'data_regions_restricted']);
    expect(patched.body.hint).toMatch(/data-regions/);
    const put = await http
      .put(`/channels/${c}/data-regions`)
      .set('authorization', manager)
      .send({ allowedDataRegions: ['eu', 'us'] });
    expect(put.status).toBe(403);
    expect((await svc.models.channels.findById(c).lean())!.allowedDataRegions).toEqual(['eu']);
    // The rest of the channel stays the manager's to change.
    expect((await http.patch(`/channels/${c}`).set('authorization', manager).send({ name: 'Renamed' })).body.name).toBe('Renamed');
  });

  it('lets a compliance officer and an admin set them, and nobody else', async () => {
    const c = code('res');
    await register(c);
    const byOfficer = await http
      .put(`/channels/${c}/data-regions`)
      .set('authorization', await complianceOfficer())
      .send({ allowedDataRegions: ['eu', 'uk'] });
    expect([byOfficer.status, byOfficer.body.allowedDataRegions]).toEqual([200, ['eu', 'uk']]);
    const byAdmin = await http
      .put(`/channels/${c}/data-regions`)
      .set('authorization', admin)
      .send({ allowedDataRegions: ['eu'] });
    expect([byAdmin.status, byAdmin.body.allowedDataRegions]).toEqual([200, ['eu']]);
    expect(
      (
        await http
          .patch(`/channels/${c}`)
          .set('authorization', admin)
          .send({ allowedDataRegions: ['eu', 'ca'] })
      ).status,
    ).toBe(200);

    const seller = await bearer({ sub: 'stf_seller_1', kind: 'staff', roles: ['seller'], channels: [c] });
    expect(
      (
        await http
          .put(`/channels/${c}/data-regions`)
          .set('authorization', seller)
          .send({ allowedDataRegions: ['us'] })
      ).status,
    ).toBe(403);
    expect((await http.put(`/channels/${c}/data-regions`).send({ allowedDataRegions: ['us'] })).status).toBe(401);
    const bad = await http
      .put(`/channels/${c}/data-regions`)
      .set('authorization', admin)
      .send({ allowedDataRegions: ['moon'] });
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
    expect((await svc.models.channels.findById(c).lean())!.allowedDataRegions).toEqual(['eu', 'ca']);
  });

  it('documents the route and its refusals in the OpenAPI document', async () => {
    const doc = (await http.get('/openapi.json')).body;
    expect(Object.keys(doc.paths['/channels/{code}/data-regions'].put.responses)).toEqual(expect.arrayContaining(['200', '403', '404']));
    expect(Object.keys(doc.paths['/channels/{code}'].patch.responses)).toContain('403');
  });
});

describe('API keys of a retired channel (finding 12)', () => {
  it('stop authenticating once the channel is retired', async () => {
    const c = code('ret');
    await register(c);
    const issued = await http.post(`/channels/${c}/credentials`).set('authorization', admin);
    expect(issued.status).toBe(201);
    const { apiKey } = issued.body;
    expect((await http.post('/credentials/verify').send({ channel: c, apiKey })).status).toBe(200);
    expect((await http.get('/channel-app/config').set('x-channel-code', c).set('x-channel-key', apiKey)).status).toBe(200);

    await retire(svc, c);
    const verify = await http.post('/credentials/verify').send({ channel: c, apiKey });
    expect([verify.status, verify.body.code]).toEqual([401, 'channel_retired']);
    const app = await http.get('/channel-app/config').set('x-channel-code', c).set('x-channel-key', apiKey);
    expect([app.status, app.body.code]).toEqual([401, 'channel_retired']);
    const report = await http.post('/channel-app/config-report').set('x-channel-code', c).set('x-channel-key', apiKey).send({ version: 1 });
    expect(report.status).toBe(401);
    // A wrong key learns nothing about the channel's state.
    const wrong = apiKey.slice(0, -1) + (apiKey.endsWith('x') ? 'y' : 'x');
    expect((await http.post('/credentials/verify').send({ channel: c, apiKey: wrong })).body.code).toBe('channel_key_invalid');
  });
});

describe('staff tokens are checked against the trust state (identity.staff-changed, identity.session-revoked)', () => {
  it('refuses a valid token of a disabled staff member, and one of a revoked session', async () => {
    const c = code('trust');
    await register(c);
    const [disabled, loggedOut] = [uniqueName('stf'), uniqueName('stf')];
    const tokenOf = (sub: string) => bearer({ sub, kind: 'staff', roles: ['channel_manager'], channels: [c] });
    const [disabledToken, loggedOutToken] = await Promise.all([tokenOf(disabled), tokenOf(loggedOut)]);
    expect((await http.get(`/channels/${c}`).set('authorization', disabledToken)).status).toBe(200);
    expect((await http.get(`/channels/${c}`).set('authorization', loggedOutToken)).status).toBe(200);

    await auth.setStaff({ staffId: disabled, disabled: true, roles: ['channel_manager'], channels: [c] }, { into: svc });
    await auth.revokeSessions({ subject: loggedOut, kind: 'staff', sessionId: null, reason: 'logout' }, { into: svc });

    const refusedDisabled = await http.get(`/channels/${c}`).set('authorization', disabledToken);
    expect(refusedDisabled.status).toBe(401);
    expect(refusedDisabled.body.code).toMatch(/^token_/);
    const refusedLoggedOut = await http.get(`/channels/${c}`).set('authorization', loggedOutToken);
    expect(refusedLoggedOut.status).toBe(401);
    expect(refusedLoggedOut.body.code).toMatch(/^token_/);
    // others are unaffected
    expect((await http.get(`/channels/${c}`).set('authorization', await tokenOf(uniqueName('stf')))).status).toBe(200);
  });
});
