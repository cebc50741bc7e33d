/**
 * Talks to the running local registry (bash deploy/local/schema-registry.sh start) with the real
 * client, @kafkajs/confluent-schema-registry, plus raw HTTP where the wire format itself matters.
 * Subjects get a per-run random suffix, so runs never see each other's schemas. Calls carry the
 * local client user's credentials (SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD, set by
 * jest.setup.js from the generated users); auth itself is tested in auth.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';

const URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const RUN = randomBytes(4).toString('hex');
const subjectFor = (name: string): string => `test-${RUN}-${name}`;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

const { SCHEMA_REGISTRY_USER: username, SCHEMA_REGISTRY_PASSWORD: password } = process.env;
const auth = username && password ? { username, password } : undefined;
const client = (opts: { retry?: { retries: number } } = {}): SchemaRegistry =>
  new SchemaRegistry({ host: URL, ...opts, ...(auth ? { auth } : {}) });
const registry = client({ retry: { retries: 0 } });

const userV1 = {
  type: 'record' as const,
  name: 'User',
  namespace: 'omnimall.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'email', type: 'string' },
  ],
};
/** BACKWARD-compatible with v1: the added field has a default. */
const userV2 = {
  ...userV1,
  fields: [...userV1.fields, { name: 'channel', type: 'string', default: 'web' }],
};
/** Not BACKWARD-compatible with v1: the added field has no default. */
const userNoDefault = {
  ...userV1,
  fields: [...userV1.fields, { name: 'age', type: 'int' }],
};

const avro = (schema: object) => ({ type: SchemaType.AVRO as const, schema: JSON.stringify(schema) });

async function call(method: string, path: string, body?: unknown, rawBody?: string) {
  const res = await fetch(`${URL}${path}`, {
    method,
    headers: {
      'Content-Type': CONTENT_TYPE,
      ...(auth ? { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {}),
    },
    body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- Confluent bodies vary by route
}

beforeAll(async () => {
  const health = await fetch(`${URL}/healthz`).catch((err: Error) => {
    throw new Error(`no schema registry at ${URL} (${err.message}): run 'bash deploy/local/schema-registry.sh start'`);
  });
  expect(health.status).toBe(200);
});

describe('local schema registry with @kafkajs/confluent-schema-registry', () => {
  test('register, encode and decode round-trip', async () => {
    const { id } = await registry.register(avro(userV1), { subject: subjectFor('roundtrip') });
    expect(id).toBeGreaterThan(0);

    const user = { id: 'u-1', email: 'ada@example.com' };
    const encoded = await registry.encode(id, user);
    expect(encoded[0]).toBe(0); // Confluent wire format: magic byte, then the id
    expect(encoded.readInt32BE(1)).toBe(id);

    // A fresh client has nothing cached: it must fetch the schema by id from the registry.
    const fresh = client();
    expect(await fresh.decode(encoded)).toEqual(user);
  });

  test('the same schema twice gets the same id, under the same or another subject', async () => {
    const subject = subjectFor('idempotent');
    const first = await registry.register(avro(userV1), { subject });
    const again = await registry.register(avro(userV1), { subject });
    const elsewhere = await registry.register(avro(userV1), { subject: subjectFor('idempotent-other') });
    expect(again.id).toBe(first.id);
    expect(elsewhere.id).toBe(first.id);
    expect((await call('GET', `/subjects/${subject}/versions`)).json).toEqual([1]);
    expect(await registry.getRegistryIdBySchema(subject, avro(userV1))).toBe(first.id);
  });

  test('concurrent registrations get distinct ids for distinct schemas, one id for one schema', async () => {
    const distinct = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call('POST', `/subjects/${subjectFor(`concurrent-${i}`)}/versions`, {
          schema: JSON.stringify({ ...userV1, name: `Concurrent${RUN}x${i}` }),
        }),
      ),
    );
    const ids = distinct.map((r) => r.json.id as number);
    expect(distinct.every((r) => r.status === 200)).toBe(true);
    expect(new Set(ids).size).toBe(10);

    const shared = { ...userV1, name: `Shared${RUN}` };
    const same = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        call('POST', `/subjects/${subjectFor(`shared-${i}`)}/versions`, { schema: JSON.stringify(shared) }),
      ),
    );
    expect(new Set(same.map((r) => r.json.id)).size).toBe(1);
    expect(ids).not.toContain(same[0].json.id);
  });

  test('getLatestSchemaId follows new versions', async () => {
    const subject = subjectFor('latest');
    const v1 = await registry.register(avro(userV1), { subject });
    expect(await registry.getLatestSchemaId(subject)).toBe(v1.id);
    const v2 = await registry.register(avro(userV2), { subject });
    expect(await client().getLatestSchemaId(subject)).toBe(v2.id);
  });

  test('a BACKWARD-compatible evolution is accepted as a new version and reads old data', async () => {
    const subject = subjectFor('evolve');
    const v1 = await registry.register(avro(userV1), { subject });
    const v2 = await registry.register(avro(userV2), { subject });
    expect(v2.id).not.toBe(v1.id);

    const latest = await call('GET', `/subjects/${subject}/versions/latest`);
    expect(latest.status).toBe(200);
    expect(latest.contentType).toContain(CONTENT_TYPE);
    expect(latest.json).toMatchObject({ subject, id: v2.id, version: 2 });
    expect(JSON.parse(latest.json.schema)).toEqual(userV2);
    expect((await call('GET', `/subjects/${subject}/versions`)).json).toEqual([1, 2]);

    const old = await registry.encode(v1.id, { id: 'u-2', email: 'bob@example.com' });
    const read = await registry.decode(old, { [SchemaType.AVRO]: { readerSchema: userV2 } });
    expect(read).toEqual({ id: 'u-2', email: 'bob@example.com', channel: 'web' });
  });

  test('an incompatible change is refused with the registry message and a 409', async () => {
    const subject = subjectFor('incompatible');
    await registry.register(avro(userV1), { subject });

    const refusal = registry.register(avro(userNoDefault), { subject });
    await expect(refusal).rejects.toMatchObject({ status: 409 });
    await expect(refusal).rejects.toThrow(/incompatible with an earlier schema.*default-less omnimall\.test\.User\.age/);

    const changedType = { ...userV1, fields: [{ name: 'id', type: 'long' }, userV1.fields[1]] };
    const raw = await call('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(changedType) });
    expect(raw.status).toBe(409);
    expect(raw.json.error_code).toBe(409);
    expect(raw.json.message).toMatch(/cannot read "string" as "long"/);

    const check = await call('POST', `/compatibility/subjects/${subject}/versions/latest`, {
      schema: JSON.stringify(userNoDefault),
    });
    expect(check).toMatchObject({ status: 200, json: { is_compatible: false } });
    const ok = await call('POST', `/compatibility/subjects/${subject}/versions/1`, { schema: JSON.stringify(userV2) });
    expect(ok).toMatchObject({ status: 200, json: { is_compatible: true } });
    expect((await call('GET', `/subjects/${subject}/versions`)).json).toEqual([1]);
  });

  test('unknown ids, subjects and versions answer 404 with Confluent error codes', async () => {
    expect(await call('GET', '/schemas/ids/2147483647')).toMatchObject({ status: 404, json: { error_code: 40403 } });
    await expect(client().getSchema(2147483647)).rejects.toMatchObject({ status: 404 });
    expect(await call('GET', `/subjects/${subjectFor('missing')}/versions/latest`)).toMatchObject({
      status: 404,
      json: { error_code: 40401 },
    });
    const subject = subjectFor('versions');
    await registry.register(avro(userV1), { subject });
    expect(await call('GET', `/subjects/${subject}/versions/9`)).toMatchObject({
      status: 404,
      json: { error_code: 40402 },
    });
    expect(await call('GET', '/no/such/route')).toMatchObject({ status: 404, json: { error_code: 404 } });
  });

  test('bad input is a 4xx with an error_code, never a 500', async () => {
    const subject = subjectFor('bad-input');
    const malformed = await call('POST', `/subjects/${subject}/versions`, undefined, '{"schema": ');
    expect(malformed.status).toBeGreaterThanOrEqual(400);
    expect(malformed.status).toBeLessThan(500);
    expect(typeof malformed.json.error_code).toBe('number');

    const notAvro = await call('POST', `/subjects/${subject}/versions`, { schema: '{"type":"record","name":"X"}' });
    expect(notAvro).toMatchObject({ status: 422, json: { error_code: 42201 } });
    const otherType = await call('POST', `/subjects/${subject}/versions`, { schema: '{}', schemaType: 'PROTOBUF' });
    expect(otherType).toMatchObject({ status: 422, json: { error_code: 42201 } });
    expect(otherType.json.message).toMatch(/AVRO only/);
  });

  test('compatibility config per subject', async () => {
    const subject = subjectFor('config');
    expect(await call('GET', `/config/${subject}`)).toMatchObject({ status: 404 });
    expect(await call('PUT', `/config/${subject}`, { compatibility: 'FULL' })).toMatchObject({
      status: 200,
      json: { compatibility: 'FULL' },
    });
    expect(await call('GET', `/config/${subject}`)).toMatchObject({
      status: 200,
      json: { compatibilityLevel: 'FULL' },
    });
    expect(await call('PUT', `/config/${subject}`, { compatibility: 'SOMETIMES' })).toMatchObject({
      status: 422,
      json: { error_code: 42203 },
    });
    expect((await call('GET', '/config')).json.compatibilityLevel).toEqual(expect.any(String));

    // The client registers with BACKWARD by default and refuses a subject configured otherwise.
    await expect(registry.register(avro(userV1), { subject })).rejects.toThrow(/BACKWARD != FULL/);
    await registry.register(avro(userV1), { subject, compatibility: COMPATIBILITY.FULL });
    // FULL also needs the old schema to read new data: dropping a field without default fails that.
    const dropped = { ...userV1, fields: [userV1.fields[0]] };
    const refused = await call('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(dropped) });
    expect(refused).toMatchObject({ status: 409, json: { error_code: 409 } });
  });

  test('level NONE accepts an incompatible change', async () => {
    const subject = subjectFor('none');
    const v1 = await registry.register(avro(userV1), { subject, compatibility: COMPATIBILITY.NONE });
    expect(await call('GET', `/config/${subject}`)).toMatchObject({ json: { compatibilityLevel: 'NONE' } });
    const v2 = await registry.register(avro(userNoDefault), { subject, compatibility: COMPATIBILITY.NONE });
    expect(v2.id).not.toBe(v1.id);
    expect((await call('GET', `/subjects/${subject}/versions`)).json).toEqual([1, 2]);
  });
});
