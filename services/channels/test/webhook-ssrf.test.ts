/**
 * Webhooks cannot be turned against our own network (issue 17, finding 3): targets are resolved and
 * checked at registration and at every delivery, the connection goes to the checked address, no
 * redirect is followed, what a channel reads of a failure is neutral, endpoints per channel are
 * capped, and a deactivated endpoint gets nothing more. Real stack; receivers on 127.0.0.1.
 */
import supertest from 'supertest';
import { testResolver, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { channelBody } from './support/fixtures';
import { adminToken, startTestChannels, type ChannelsService } from './support/harness';
import { Responder } from './support/receiver';

/** Test host names (`*.partner.test`) and the address each resolves to now. */
const { records: dnsRecords, resolve } = testResolver();

/** No allow-list (http accepted, to show the address rule alone), at most 2 endpoints per channel. */
let strict: ChannelsService;
/** The local test mode: 127.0.0.1 allowed, test names resolved by `resolve`. */
let local: ChannelsService;
let admin: string;
const responders: Responder[] = [];

beforeAll(async () => {
  [strict, local] = await Promise.all([
    startTestChannels({}, { ...process.env, WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL: '2' }),
    startTestChannels({ resolve }),
  ]);
  admin = await adminToken();
});
afterAll(async () => {
  await Promise.all([strict?.stop(), local?.stop(), ...responders.map((r) => r.close())]);
});

const respond = async (answer: ConstructorParameters<typeof Responder>[0]) => {
  const r = await new Responder(answer).listen();
  responders.push(r);
  return r;
};

async function channelOn(svc: ChannelsService): Promise<string> {
  const code = uniqueName('hook').replace(/_/g, '-');
  const r = await supertest(svc.app).post('/channels').set('authorization', admin).send(channelBody(code));
  expect(r.status).toBe(201);
  return code;
}

const register = (svc: ChannelsService, channel: string, url: string, events = ['channel.changed']) =>
  supertest(svc.app).post(`/channels/${channel}/webhooks`).set('authorization', admin).send({ url, events });

/** A change of the channel: one channel.changed delivery to each of its endpoints. */
async function touch(svc: ChannelsService, channel: string): Promise<void> {
  const r = await supertest(svc.app)
    .patch(`/channels/${channel}`)
    .set('authorization', admin)
    .send({ name: uniqueName('name') });
  expect(r.status).toBe(200);
}

const deliveriesOf = (svc: ChannelsService, endpointId: string) => svc.models.deliveries.find({ endpointId }).lean();

describe('registration', () => {
  it.each([
    ['loopback', 'http://127.0.0.1:9/hook'],
    ['private (RFC 1918)', 'http://10.1.2.3/hook'],
    ['the metadata service', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv6 loopback', 'http://[::1]/hook'],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/hook'],
    ['carrier-grade NAT', 'http://100.64.1.1/hook'],
    ['a name resolving to loopback', 'http://localhost/hook'],
  ])('refuses %s with a code', async (_what, url) => {
    const channel = await channelOn(strict);
    const r = await register(strict, channel, url);
    expect([r.status, r.body.code]).toEqual([422, 'webhook_target_refused']);
    expect(r.body.hint).toMatch(/public internet/);
    expect(await strict.models.endpoints.countDocuments({ channel })).toBe(0);
  });

  it('refuses a host that does not resolve', async () => {
    const channel = await channelOn(strict);
    const r = await register(strict, channel, 'http://no-such-partner.invalid/hook');
    expect([r.status, r.body.code]).toEqual([422, 'webhook_host_unresolvable']);
  });

  it('caps the active endpoints of a channel, and a deactivated one frees its place', async () => {
    const channel = await channelOn(strict);
    const [a, b] = [await register(strict, channel, 'http://93.184.216.34/a'), await register(strict, channel, 'http://93.184.216.34/b')];
    expect([a.status, b.status]).toEqual([201, 201]);
    const third = await register(strict, channel, 'http://93.184.216.34/c');
    expect([third.status, third.body.code, third.body.details]).toEqual([409, 'webhook_endpoint_limit', { max: 2 }]);
    expect((await supertest(strict.app).delete(`/channels/${channel}/webhooks/${a.body.id}`).set('authorization', admin)).status).toBe(204);
    expect((await register(strict, channel, 'http://93.184.216.34/c')).status).toBe(201);
  });

  it('documents the refusals in the OpenAPI document', async () => {
    const doc = (await supertest(strict.app).get('/openapi.json')).body;
    expect(Object.keys(doc.paths['/channels/{code}/webhooks'].post.responses)).toEqual(expect.arrayContaining(['201', '409', '422']));
  });
});

describe('delivery', () => {
  it('does not follow a redirect: a 302 is a failed attempt with a neutral error', async () => {
    const inside = await respond({ status: 204 });
    const redirecting = await respond({ status: 302, headers: { location: inside.url() } });
    const channel = await channelOn(local);
    const ep = await register(local, channel, redirecting.url());
    expect(ep.status).toBe(201);
    await touch(local, channel);
    const [d] = await waitFor(async () => (await deliveriesOf(local, ep.body.id)).filter((x) => x.attempts >= 2), 'two attempts');
    expect(d).toMatchObject({ status: 'pending', httpStatus: 302, lastError: 'redirect_not_followed' });
    expect(redirecting.hits.length).toBeGreaterThanOrEqual(2);
    expect(inside.hits).toEqual([]);
  });

  it('connects to the address it checked and sends the URL’s host name', async () => {
    const receiver = await respond({ status: 204 });
    const host = `${uniqueName('pin').replace(/_/g, '-')}.partner.test`;
    dnsRecords.set(host, '127.0.0.1');
    const channel = await channelOn(local);
    const ep = await register(local, channel, receiver.url(host));
    expect(ep.status).toBe(201);
    await touch(local, channel);
    await waitFor(async () => (await deliveriesOf(local, ep.body.id)).some((x) => x.status === 'delivered'), 'a delivery');
    // The system resolver knows no *.partner.test: the socket used the checked address, not a second lookup.
    expect(receiver.hits[0]).toEqual({ path: '/hook', host: `${host}:${receiver.port}` });
  });

  it('checks the address again at every attempt: a name that now resolves inside is refused (DNS rebinding)', async () => {
    const host = `${uniqueName('rebind').replace(/_/g, '-')}.partner.test`;
    dnsRecords.set(host, '93.184.216.34');
    const channel = await channelOn(local);
    const ep = await register(local, channel, `http://${host}/hook`);
    expect(ep.status).toBe(201);
    dnsRecords.set(host, '10.0.0.7');
    await touch(local, channel);
    const [d] = await waitFor(async () => (await deliveriesOf(local, ep.body.id)).filter((x) => x.attempts >= 1), 'an attempt');
    expect(d).toMatchObject({ status: 'pending', lastError: 'address_refused', httpStatus: null });
  });

  it('tells the channel only `unreachable`, whether the port is closed or the endpoint never answers', async () => {
    const closed = await respond({ status: 204 });
    await closed.close();
    const hanging = await respond('hang');
    const channel = await channelOn(local);
    const eps = [await register(local, channel, closed.url()), await register(local, channel, hanging.url())];
    await touch(local, channel);
    for (const ep of eps)
      await waitFor(async () => (await deliveriesOf(local, ep.body.id)).some((x) => x.attempts >= 1), `an attempt to ${ep.body.url}`);
    const listed = await supertest(local.app).get(`/channels/${channel}/deliveries`).set('authorization', admin);
    const tried = (listed.body.deliveries as Array<{ attempts: number; lastError: string }>).filter((x) => x.attempts >= 1);
    expect(tried.length).toBeGreaterThanOrEqual(2);
    expect(new Set(tried.map((x) => x.lastError))).toEqual(new Set(['unreachable']));
    expect(JSON.stringify(listed.body)).not.toMatch(/ECONNREFUSED|timed? ?out|abort/i);
  });
});

describe('a deactivated endpoint', () => {
  async function failingEndpoint(): Promise<{ channel: string; id: string; responder: Responder }> {
    const responder = await respond({ status: 503 });
    const channel = await channelOn(local);
    const ep = await register(local, channel, responder.url());
    expect(ep.status).toBe(201);
    await touch(local, channel);
    await waitFor(async () => (await deliveriesOf(local, ep.body.id)).some((x) => x.attempts >= 2), 'retries of the failing delivery');
    return { channel, id: ep.body.id, responder };
  }

  it('has its pending deliveries ended as soon as it is switched off', async () => {
    const { channel, id, responder } = await failingEndpoint();
    expect((await supertest(local.app).delete(`/channels/${channel}/webhooks/${id}`).set('authorization', admin)).status).toBe(204);
    const after = await deliveriesOf(local, id);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((d) => d.status === 'failed' && d.lastError === 'endpoint_deactivated')).toBe(true);
    const hitsAtDeactivation = responder.hits.length;

    // A live endpoint on the same channel as a yardstick: its delivery takes the worker through passes.
    const live = await respond({ status: 204 });
    const other = await register(local, channel, live.url());
    await touch(local, channel);
    await waitFor(async () => (await deliveriesOf(local, other.body.id)).some((x) => x.status === 'delivered'), 'the live delivery');
    expect(responder.hits.length).toBe(hitsAtDeactivation);
    expect(await local.models.deliveries.countDocuments({ endpointId: id })).toBe(after.length); // nothing new queued for it
  });

  it('switched off or removed by another instance gets nothing more either (seen by the next pass)', async () => {
    const off = await failingEndpoint();
    const gone = await failingEndpoint();
    await local.models.endpoints.updateOne({ _id: off.id }, { $set: { active: false } });
    await local.models.endpoints.deleteOne({ _id: gone.id });
    for (const { id } of [off, gone])
      await waitFor(
        async () => (await deliveriesOf(local, id)).every((d) => d.status === 'failed' && d.lastError === 'endpoint_deactivated'),
        'the deliveries ended',
      );
  });
});
