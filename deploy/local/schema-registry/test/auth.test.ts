/**
 * Basic auth of the registry's HTTP API. The rules (users file, roles, the constant-time check) are
 * unit-tested; the wiring is tested on a registry process of this test's own (AUTH_FILE of its own,
 * its own `_schemas` topic on the real Kafka, an ephemeral port), since the shared registry on 8081
 * must not be restarted. Clients are the real ones: @kafkajs/confluent-schema-registry and the kit's
 * EventSchemas.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { EventSchemas, ServiceMetrics } from '@omnimall/service-kit';
import { localKafkaEnv, testKafka, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { authenticate, isReadOnly, usersOf, type RegistryUsers } from '../src/auth';

const ROOT = join(__dirname, '..', '..', '..', '..');
const WRITER = { username: 'writer', password: 'writer-password-1' };
const READER = { username: 'looker', password: 'reader-password-1' };

describe('registry users and roles (rules)', () => {
  const users: RegistryUsers = usersOf({
    users: { writer: { password: WRITER.password, role: 'write' }, looker: { password: READER.password, role: 'read' } },
  });

  test('a user is authenticated by their own password only; an unknown user never', () => {
    expect(authenticate(users, 'writer', WRITER.password)).toMatchObject({ role: 'write' });
    expect(authenticate(users, 'looker', READER.password)).toMatchObject({ role: 'read' });
    expect(authenticate(users, 'writer', READER.password)).toBeNull();
    expect(authenticate(users, 'writer', `${WRITER.password}x`)).toBeNull();
    expect(authenticate(users, 'writer', '')).toBeNull();
    expect(authenticate(users, 'nobody', WRITER.password)).toBeNull();
  });

  test('read-only covers lookups and compatibility checks, nothing that changes state', () => {
    expect(isReadOnly('GET', '/subjects/a-value/versions/latest')).toBe(true);
    expect(isReadOnly('POST', '/subjects/a-value')).toBe(true);
    expect(isReadOnly('POST', '/compatibility/subjects/a-value/versions/latest')).toBe(true);
    expect(isReadOnly('POST', '/subjects/a-value/versions')).toBe(false);
    expect(isReadOnly('PUT', '/config/a-value')).toBe(false);
    expect(isReadOnly('PUT', '/config')).toBe(false);
    expect(isReadOnly('DELETE', '/subjects/a-value')).toBe(false);
  });

  test('a malformed users file is refused with every problem named, never a password', () => {
    expect(() => usersOf({})).toThrow(/expected \{ "users"/);
    expect(() => usersOf({ users: {} })).toThrow(/no users/);
    let message = '';
    try {
      usersOf({ users: { a: { password: 'short-pw', role: 'write' }, b: { password: 'long-enough-password', role: 'admin' } } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/user "a": password must be a string of 12\+ characters/);
    expect(message).toMatch(/user "b": role must be one of read, write/);
    expect(message).not.toContain('short-pw');
    expect(message).not.toContain('long-enough-password');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('a registry process with basic auth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-auth-'));
  const topic = uniqueName('_schemas_auth_test');
  let url = '';
  let child: ChildProcess | undefined;
  let output = '';

  const call = (path: string, init: RequestInit & { as?: { username: string; password: string } } = {}) => {
    const headers = new Headers(init.headers);
    if (init.as) headers.set('Authorization', `Basic ${Buffer.from(`${init.as.username}:${init.as.password}`).toString('base64')}`);
    headers.set('Content-Type', 'application/vnd.schemaregistry.v1+json');
    return fetch(`${url}${path}`, { ...init, headers });
  };
  const schema = (name: string) =>
    JSON.stringify({ type: 'record', name, namespace: 'omnimall.test', fields: [{ name: 'id', type: 'string' }] });

  beforeAll(async () => {
    const file = join(dir, 'users.json');
    writeFileSync(
      file,
      JSON.stringify({
        users: {
          [WRITER.username]: { password: WRITER.password, role: 'write' },
          [READER.username]: { password: READER.password, role: 'read' },
        },
      }),
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // The admin principal may create this test's own schemas topic (the registry principal may not).
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'deploy/local/schema-registry/src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...localKafkaEnv('admin'), AUTH_FILE: file, PORT: String(port), HOST: '127.0.0.1', SCHEMAS_TOPIC: topic },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 'the registry process to listen', 45_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    const admin = testKafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  test('says it runs with basic auth; /healthz stays open for probes', async () => {
    expect(output).toMatch(/basic auth, 2 users/);
    expect((await call('/healthz')).status).toBe(200);
  });

  test('no credentials, a wrong password or an unknown user: 401 with a Basic challenge, Confluent-shaped', async () => {
    for (const as of [
      undefined,
      { username: WRITER.username, password: 'wrong-password-1' },
      { username: 'nobody', password: WRITER.password },
    ]) {
      const res = await call('/subjects', { as });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="schema-registry"/);
      expect(await res.json()).toMatchObject({ error_code: 401, message: expect.stringMatching(/basic auth/) });
    }
    const register = await call('/subjects/x-value/versions', { method: 'POST', body: JSON.stringify({ schema: schema('NoAuth') }) });
    expect(register.status).toBe(401);
  });

  test('the client library and the kit register and read with the write user; without it they are refused', async () => {
    const subject = `${uniqueName('auth')}-value`;
    const anonymous = new SchemaRegistry({ host: url, retry: { retries: 0 } });
    await expect(anonymous.register({ type: SchemaType.AVRO, schema: schema('Anon') }, { subject })).rejects.toMatchObject({ status: 401 });

    const writer = new SchemaRegistry({ host: url, auth: WRITER, retry: { retries: 0 } });
    const { id } = await writer.register({ type: SchemaType.AVRO, schema: schema('Written') }, { subject });
    expect(await writer.getLatestSchemaId(subject)).toBe(id);

    // The kit's client (what every service uses at start) sends SCHEMA_REGISTRY_USER/PASSWORD.
    const kit = new EventSchemas(url, new ServiceMetrics(uniqueName('auth-test')), WRITER);
    await expect(kit.client.getSchema(id)).resolves.toMatchObject({ name: 'omnimall.test.Written' });
    await expect(new EventSchemas(url, new ServiceMetrics(uniqueName('auth-test'))).client.getSchema(id)).rejects.toMatchObject({
      status: 401,
    });
  });

  test('the read user reads and looks up, and is refused (403 40301) anything that writes', async () => {
    const subject = `${uniqueName('ro')}-value`;
    const writer = new SchemaRegistry({ host: url, auth: WRITER, retry: { retries: 0 } });
    const { id } = await writer.register({ type: SchemaType.AVRO, schema: schema('ReadOnly') }, { subject });

    expect(await (await call(`/schemas/ids/${id}`, { as: READER })).json()).toMatchObject({ schema: expect.stringContaining('ReadOnly') });
    const lookup = await call(`/subjects/${subject}`, { method: 'POST', as: READER, body: JSON.stringify({ schema: schema('ReadOnly') }) });
    expect(await lookup.json()).toMatchObject({ id, version: 1 });

    for (const [method, path, body] of [
      ['POST', `/subjects/${subject}/versions`, { schema: schema('ReadOnlyTwo') }],
      ['PUT', `/config/${subject}`, { compatibility: 'NONE' }],
      ['DELETE', `/subjects/${subject}`, undefined],
    ] as const) {
      const res = await call(path, { method, as: READER, body: body && JSON.stringify(body) });
      expect({ method, status: res.status, body: await res.json() }).toMatchObject({ method, status: 403, body: { error_code: 40301 } });
    }
    expect(await (await call(`/subjects/${subject}/versions`, { as: WRITER })).json()).toEqual([1]);
  });
});
