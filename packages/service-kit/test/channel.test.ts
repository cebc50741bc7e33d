/**
 * requireChannel: each of the contract's five rules, the mismatches and the missing case, bad
 * credentials refused even on an optional route, and the headers and statuses in the OpenAPI document.
 * The trust state is fed directly (testAuth's documented fallback): the reader has its own tests.
 */
import request from 'supertest';
import {
  channelHeaders,
  channelOf,
  channelResponses,
  createHttpApp,
  createLogger,
  HttpApi,
  requireChannel,
  ServiceMetrics,
  TrustState,
} from '../src';
import { testAuth, testTokens } from '../src/testing';

async function setup() {
  const trust = new TrustState();
  trust.markReady();
  const verifier = (await testTokens()).verifier.boundTo(trust);
  const auth = { verifier, trust };
  const api = new HttpApi({ title: 'channel test', version: '1.0.0' });
  for (const [path, optional] of [
    ['/required', false],
    ['/optional', true],
  ] as const)
    api.route({
      method: 'get',
      path,
      summary: 'Which channel',
      headers: channelHeaders,
      responses: { 200: { description: 'the channel' }, ...channelResponses },
      before: [requireChannel(auth, { optional })],
      handler: async ({ res }) => ({ body: { channel: channelOf(res) ?? null, via: res.locals.channel?.via ?? null } }),
    });
  const app = createHttpApp({
    service: 'kit-test',
    logger: createLogger('kit-test', 'error'),
    metrics: new ServiceMetrics('kit-test'),
    api,
  });
  const tools = await testAuth({ direct: true });
  return { app, trust, tools, api };
}

describe('requireChannel', () => {
  it('1: a customer token gives its channel claim; another x-channel-code is 403 channel_mismatch', async () => {
    const { app, tools } = await setup();
    const token = await tools.bearer({ sub: 'c-1', channel: 'web' });
    const ok = await request(app).get('/required').set('authorization', token);
    expect(ok.body).toEqual({ channel: 'web', via: 'customer_token' });
    expect((await request(app).get('/required').set('authorization', token).set('x-channel-code', 'web')).status).toBe(200);
    const other = await request(app).get('/required').set('authorization', token).set('x-channel-code', 'app');
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('channel_mismatch');
  });

  it('2: a staff token takes x-channel-code, and without it proves no channel', async () => {
    const { app, tools } = await setup();
    const token = await tools.bearer({ sub: 'st-1', kind: 'staff', roles: ['admin'] });
    expect((await request(app).get('/required').set('authorization', token).set('x-channel-code', 'app')).body).toEqual({
      channel: 'app',
      via: 'staff_token',
    });
    const none = await request(app).get('/required').set('authorization', token);
    expect([none.status, none.body.code]).toEqual([401, 'channel_credentials_missing']);
  });

  it('3: a device token gives its channel; another x-channel-code is 403; a bad one is 401 device_token_invalid', async () => {
    const { app, tools } = await setup();
    const device = await tools.deviceToken({ deviceId: 'd-1', channel: 'kiosk' });
    expect((await request(app).get('/required').set('x-device-token', device)).body).toEqual({ channel: 'kiosk', via: 'device_token' });
    const other = await request(app).get('/required').set('x-device-token', device).set('x-channel-code', 'web');
    expect([other.status, other.body.code]).toEqual([403, 'channel_mismatch']);
    const access = await tools.token({ sub: 'c-1', channel: 'kiosk' });
    const wrongKind = await request(app).get('/optional').set('x-device-token', access);
    expect([wrongKind.status, wrongKind.body.code]).toEqual([401, 'device_token_invalid']);
    const asBearer = await request(app).get('/required').set('authorization', `Bearer ${device}`);
    expect([asBearer.status, asBearer.body.code]).toEqual([401, 'token_invalid']);
  });

  it('4: x-channel-key + x-channel-code are checked against the published credentials', async () => {
    const { app, trust, tools } = await setup();
    const web = await tools.issueChannelKey('web', { into: trust });
    const ok = await request(app).get('/required').set('x-channel-code', 'web').set('x-channel-key', web.apiKey);
    expect(ok.body).toEqual({ channel: 'web', via: 'channel_key' });
    const mismatch = await request(app).get('/required').set('x-channel-code', 'app').set('x-channel-key', web.apiKey);
    expect([mismatch.status, mismatch.body.code]).toEqual([403, 'channel_mismatch']);
    const wrong = await request(app).get('/optional').set('x-channel-code', 'web').set('x-channel-key', 'guess');
    expect([wrong.status, wrong.body.code]).toEqual([401, 'channel_key_invalid']);
    const keyOnly = await request(app).get('/required').set('x-channel-key', web.apiKey);
    expect([keyOnly.status, keyOnly.body.code]).toEqual([401, 'channel_credentials_missing']);
    await tools.changeChannelKey({ ...web, channel: 'web' }, 'revoked', { into: trust });
    const revoked = await request(app).get('/required').set('x-channel-code', 'web').set('x-channel-key', web.apiKey);
    expect([revoked.status, revoked.body.code]).toEqual([401, 'channel_key_revoked']);
    await tools.changeChannelKey({ ...web, channel: 'web' }, 'channel_retired', { into: trust });
    const retired = await request(app).get('/required').set('x-channel-code', 'web').set('x-channel-key', web.apiKey);
    expect([retired.status, retired.body.code]).toEqual([401, 'channel_retired']);
  });

  it('5: nothing is 401 channel_credentials_missing with a hint, unless optional; a header alone proves nothing', async () => {
    const { app } = await setup();
    const res = await request(app).get('/required').set('x-channel-code', 'web');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('channel_credentials_missing');
    expect(res.body.hint).toMatch(/x-channel-code \+ x-channel-key/);
    expect((await request(app).get('/optional').set('x-channel-code', 'web')).body).toEqual({ channel: null, via: null });
  });

  it('refuses a revoked customer token with 401 token_revoked, and a malformed x-channel-code with 400', async () => {
    const { app, trust, tools } = await setup();
    const token = await tools.bearer({ sub: 'c-9', channel: 'web', sid: 's-9' });
    expect((await request(app).get('/required').set('authorization', token)).status).toBe(200);
    await tools.revokeSessions({ subject: 'c-9', sessionId: 's-9' }, { into: trust });
    const res = await request(app).get('/optional').set('authorization', token);
    expect([res.status, res.body.code]).toEqual([401, 'token_revoked']);
    const bad = await request(app).get('/optional').set('x-channel-code', 'no spaces please');
    expect([bad.status, bad.body.code]).toEqual([400, 'channel_code_invalid']);
  });

  it('documents the three headers and the 401/403 in OpenAPI', async () => {
    const { api } = await setup();
    const op = (api.document() as { paths: Record<string, { get: { parameters: { name: string; in: string }[]; responses: object } }> })
      .paths['/required'].get;
    expect(op.parameters.filter((p) => p.in === 'header').map((p) => p.name)).toEqual([
      'x-channel-code',
      'x-channel-key',
      'x-device-token',
      'x-correlation-id', // every route documents it (api.ts)
    ]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403']));
  });
});
