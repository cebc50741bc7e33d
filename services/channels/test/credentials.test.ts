/**
 * Channel API keys on channels.channel-credentials (real Kafka): issue, revocation and the channel's
 * retirement publish the key's state with the SHA-256 of the key (never the key) in the same write;
 * keys of an installation that never published them are published once at start; channel apps are
 * refused with the codes of the kit's requireChannel.
 */
import supertest from 'supertest';
import type { TopicValues } from '@omnimall/contracts';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { hashApiKey } from '../src/domain/credentials';
import { adminToken, retire, startTestChannels, type ChannelsService } from './support/harness';
import { channelBody } from './support/fixtures';

type CredentialChanged = TopicValues['channels.channel-credentials'];

let svc: ChannelsService;
let recorder: TopicRecorder;
let http: ReturnType<typeof supertest>;
let admin: string;

beforeAll(async () => {
  [svc, recorder] = await Promise.all([startTestChannels(), new TopicRecorder(testKafka(), ['channels.channel-credentials']).start()]);
  http = supertest(svc.app);
  admin = await adminToken();
});
afterAll(async () => {
  await Promise.all([svc?.stop(), recorder?.stop()]);
});

const code = (p: string) => uniqueName(p).replace(/_/g, '-');

async function register(c: string): Promise<void> {
  expect((await http.post('/channels').set('authorization', admin).send(channelBody(c))).status).toBe(201);
}

async function issue(c: string): Promise<{ keyId: string; apiKey: string }> {
  const r = await http.post(`/channels/${c}/credentials`).set('authorization', admin);
  expect(r.status).toBe(201);
  return r.body;
}

/** The key's records on the topic (decoded, deduplicated by eventId), once `statuses` all arrived. */
async function recordsOf(keyId: string, statuses: string[]): Promise<CredentialChanged[]> {
  return waitFor(
    async () => {
      const recs = recorder.where((r) => r.topic === 'channels.channel-credentials' && String(r.message.key) === keyId);
      const decoded = await Promise.all(recs.map((r) => svc.runtime.schemas.decode<CredentialChanged>(r.message.value!)));
      const unique = [...new Map(decoded.map((e) => [e.envelope.eventId, e])).values()];
      return statuses.every((s) => unique.some((e) => e.status === s)) ? unique : null;
    },
    `${statuses.join(', ')} of key ${keyId} on channels.channel-credentials`,
  );
}

it('publishes an issued key as active with the SHA-256 of the key, never the key, keyed by keyId', async () => {
  const c = code('credpub');
  await register(c);
  const { keyId, apiKey } = await issue(c);
  const [rec] = await recordsOf(keyId, ['active']);
  expect(rec).toMatchObject({
    keyId,
    channel: c,
    keyHash: hashApiKey(apiKey),
    status: 'active',
    envelope: { producer: 'channels', aggregateId: keyId, aggregateVersion: 1, sourceChannel: c },
  });
  const raw = recorder.where((r) => String(r.message.key) === keyId).map((r) => r.message.value!.toString('latin1'));
  expect(raw.some((v) => v.includes(apiKey))).toBe(false);
  // the key is marked with the state published, in the same write
  const stored = await svc.models.channels.findById(c).lean();
  expect(stored!.credentials.map((k) => [k.keyId, k.published])).toEqual([[keyId, 'active']]);
});

it('publishes a revocation as revoked, and every key of a retired channel as channel_retired', async () => {
  const c = code('credret');
  await register(c);
  const first = await issue(c);
  const second = await issue(c);
  expect((await http.delete(`/channels/${c}/credentials/${first.keyId}`).set('authorization', admin)).status).toBe(204);
  const revoked = await recordsOf(first.keyId, ['active', 'revoked']);
  expect(revoked.find((e) => e.status === 'revoked')).toMatchObject({ channel: c, keyHash: hashApiKey(first.apiKey) });
  expect(revoked.find((e) => e.status === 'revoked')!.envelope.aggregateVersion).toBe(2);

  await retire(svc, c);
  for (const k of [first, second]) {
    const recs = await recordsOf(k.keyId, ['channel_retired']);
    expect(recs.find((e) => e.status === 'channel_retired')).toMatchObject({
      channel: c,
      keyHash: hashApiKey(k.apiKey),
      envelope: { aggregateVersion: 3 },
    });
  }
  // one record per key and state: the retirement published each key once
  const retired = recorder.where(
    (r) => r.topic === 'channels.channel-credentials' && [first.keyId, second.keyId].includes(String(r.message.key)),
  );
  const decoded = await Promise.all(retired.map((r) => svc.runtime.schemas.decode<CredentialChanged>(r.message.value!)));
  const retiredIds = new Set(decoded.filter((e) => e.status === 'channel_retired').map((e) => e.envelope.eventId));
  expect(retiredIds.size).toBe(2);
});

it('publishes once at start the keys a running installation never published', async () => {
  const c = code('credold');
  await register(c);
  const { keyId, apiKey } = await issue(c);
  await recordsOf(keyId, ['active']);
  // as written before keys were published: no marker
  await svc.models.channels.updateOne({ _id: c }, { $unset: { 'credentials.0.published': 1 } });
  const before = recorder.where((r) => String(r.message.key) === keyId).length;

  // another instance starting on the same database publishes it
  const restarted = await startTestChannels({}, undefined, svc.runtime.config.dbName);
  try {
    await waitFor(() => recorder.where((r) => String(r.message.key) === keyId).length > before || null, 'the key published at start');
    expect((await svc.models.channels.findById(c).lean())!.credentials[0].published).toBe('active');
    const decoded = await Promise.all(
      recorder
        .where((r) => String(r.message.key) === keyId)
        .slice(before)
        .map((r) => svc.runtime.schemas.decode<CredentialChanged>(r.message.value!)),
    );
    expect(decoded.map((e) => [e.status, e.keyHash])).toEqual([['active', hashApiKey(apiKey)]]);
    // marked now: publishing again finds nothing of it to publish
    expect((await restarted.models.channels.find({ _id: c }).lean())[0].credentials[0].published).toBe('active');
    expect(await restarted.credentials.publishCredentials()).toBe(0);
  } finally {
    await restarted.stop();
  }
});

describe('channel apps are refused with the codes of the kit’s requireChannel', () => {
  it('missing headers, a wrong key, a revoked key, another channel’s key', async () => {
    const [c, other] = [code('credapp'), code('credapp')];
    await Promise.all([register(c), register(other)]);
    const { apiKey, keyId } = await issue(c);
    const call = (channel: string | null, key: string | null) => {
      const r = http.get('/channel-app/config');
      if (channel) r.set('x-channel-code', channel);
      if (key) r.set('x-channel-key', key);
      return r;
    };
    const answer = async (channel: string | null, key: string | null) => {
      const r = await call(channel, key);
      return [r.status, r.body.code];
    };
    expect((await call(c, apiKey)).status).toBe(200);
    expect(await answer(c, null)).toEqual([401, 'channel_credentials_missing']);
    expect(await answer(null, apiKey)).toEqual([401, 'channel_credentials_missing']);
    expect(await answer(c, apiKey.slice(0, -1) + (apiKey.endsWith('x') ? 'y' : 'x'))).toEqual([401, 'channel_key_invalid']);
    expect(await answer(other, apiKey)).toEqual([403, 'channel_mismatch']);
    const verify = await http.post('/credentials/verify').send({ channel: other, apiKey });
    expect([verify.status, verify.body.code]).toEqual([403, 'channel_mismatch']);

    expect((await http.delete(`/channels/${c}/credentials/${keyId}`).set('authorization', admin)).status).toBe(204);
    expect(await answer(c, apiKey)).toEqual([401, 'channel_key_revoked']);
  });

  it('documents the headers and the refusals in the OpenAPI document', async () => {
    const doc = (await http.get('/openapi.json')).body;
    for (const [path, method] of [
      ['/channel-app/config', 'get'],
      ['/channel-app/config-report', 'post'],
    ]) {
      const op = doc.paths[path][method];
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403']));
      expect(op.parameters.filter((p: { in: string }) => p.in === 'header').map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['x-channel-code', 'x-channel-key']),
      );
    }
    expect(Object.keys(doc.paths['/credentials/verify'].post.responses)).toEqual(expect.arrayContaining(['401', '403']));
  });
});
