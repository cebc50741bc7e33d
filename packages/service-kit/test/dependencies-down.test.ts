/**
 * A dependency that goes down under a running service, against the real servers: a toy service
 * (defineService) reaches MongoDB and the schema registry through TCP proxies this test closes and
 * reopens (the shared servers keep running for everyone else), and a route that needs the broker
 * synchronously reaches it through a third. Each outage is answered 503 with the dependency's code
 * and Retry-After within a second, never 500 nor an unhandled-error log; /readyz names it; and the
 * next request after the proxy reopens succeeds.
 */
import request from 'supertest';
import { defineService, HttpApi, newEvent, outboxPaths, withinDeadline, z, type OutboxEntry, type RunningService } from '../src';
import { createKafka } from '../src/kafka/client';
import { basicAuthHeader } from '../src/kafka/security';
import { TcpProxy, testConfig, testGroups, uniqueName } from '../src/testing';
import { Schema } from 'mongoose';

interface ThingDoc {
  _id: string;
  name: string;
  outbox?: Record<string, OutboxEntry>;
}

const base = testConfig('kit-deps');
const hostPort = (url: string, fallbackPort: number): [string, number] => {
  const u = new URL(url);
  return [u.hostname, Number(u.port || fallbackPort)];
};
const withPort = (url: string, port: number): string => {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString().replace(/\/$/, '');
};

/** The toy: a write through the outbox, a registry lookup of a schema id, and a broker call a route waits for. */
const toy = defineService<{ kafkaProxy: string }, { pending: Set<Promise<unknown>> }>({
  name: 'kit-deps',
  port: 0,
  events: { produces: ['platform.probe'], consumes: [] },
  async build({ runtime, deps, config }) {
    const Thing = runtime.outbox.track(
      runtime.db.model<ThingDoc>('Thing', new Schema<ThingDoc>({ _id: String, name: String, ...outboxPaths }, { versionKey: false })),
    );
    const probe = (id: string) =>
      newEvent(
        'platform.probe',
        { type: 'probe.changed', producer: 'kit-deps', aggregateId: id, aggregateVersion: 1 },
        { sequence: 1, payload: '' },
      );
    /** Broker calls still under way (one the route stopped waiting for goes on; the test awaits them). */
    const pending = new Set<Promise<unknown>>();
    const viaProxy = createKafka(`${config.instanceId}-proxied`, [deps.kafkaProxy], runtime.logger, config.kafkaSecurity);
    const api = new HttpApi({ title: 'kit deps', version: '1.0.0' })
      .route({
        method: 'post',
        path: '/things',
        summary: 'a write with its event, through the outbox',
        body: z.object({ name: z.string() }),
        responses: { 201: { description: 'created' } },
        handler: async ({ body }) => {
          const id = uniqueName('thing');
          await runtime.outbox.create(Thing, { _id: id, name: body.name }, [probe(id)]);
          return { status: 201, body: { id } };
        },
      })
      .route({
        method: 'get',
        path: '/schemas/:id',
        summary: 'a schema the service has not cached',
        params: z.object({ id: z.coerce.number().int() }),
        responses: { 200: { description: 'the schema' } },
        handler: async ({ params }) => ({ body: { schema: String(await runtime.schemas.client.getSchema(params.id)) } }),
      })
      .route({
        method: 'get',
        path: '/cluster',
        summary: 'a call that needs the broker now',
        responses: { 200: { description: 'the brokers' } },
        handler: async () => {
          const admin = viaProxy.admin({ retry: { retries: 0 } });
          const work = admin
            .connect()
            .then(() => admin.describeCluster())
            .finally(() => admin.disconnect().catch(() => undefined));
          pending.add(work);
          void work.catch(() => undefined).finally(() => pending.delete(work));
          return { body: { brokers: (await withinDeadline(work, 'broker', 800)).brokers.length } };
        },
      });
    return { api, exposes: { pending } };
  },
});

/** A schema id the registry holds that this service did not register (so not in its cache). */
async function foreignSchemaId(): Promise<number> {
  const auth = base.schemaRegistryAuth ? { authorization: basicAuthHeader(base.schemaRegistryAuth) } : undefined;
  const subjects = (await (await fetch(`${base.schemaRegistryUrl}/subjects`, { headers: auth })).json()) as string[];
  const subject = subjects.find((s) => s !== 'platform.probe-value' && s !== 'sync.applied-value');
  if (!subject) throw new Error('the registry holds no other subject');
  const latest = (await (await fetch(`${base.schemaRegistryUrl}/subjects/${subject}/versions/latest`, { headers: auth })).json()) as {
    id: number;
  };
  return latest.id;
}

/** Times a request; `within` is the bound it must answer in. */
async function timed<T>(send: () => Promise<T>): Promise<{ res: T; ms: number }> {
  const started = Date.now();
  const res = await send();
  return { res, ms: Date.now() - started };
}

describe('a dependency down under a running service', () => {
  let mongoProxy: TcpProxy;
  let registryProxy: TcpProxy;
  let kafkaProxy: TcpProxy;
  let svc: RunningService<{ pending: Set<Promise<unknown>> }>;
  let unhandled: jest.SpyInstance;

  beforeAll(async () => {
    mongoProxy = await TcpProxy.start(...hostPort(base.mongoUrl, 27017));
    registryProxy = await TcpProxy.start(...hostPort(base.schemaRegistryUrl, 80));
    kafkaProxy = await TcpProxy.start(...hostPort(`kafka://${base.kafkaBrokers[0]}`, 9092));
    const mongoUrl = `${withPort(base.mongoUrl, mongoProxy.listenPort)}/?directConnection=true`;
    svc = await toy.start({
      config: { ...base, mongoUrl, schemaRegistryUrl: withPort(base.schemaRegistryUrl, registryProxy.listenPort) },
      groups: testGroups(),
      deps: { kafkaProxy: kafkaProxy.address },
    });
    unhandled = jest.spyOn(svc.runtime.logger, 'error');
  });

  afterAll(async () => {
    await Promise.allSettled([...(svc?.pending ?? [])]);
    await svc?.stop();
    await Promise.all([mongoProxy, registryProxy, kafkaProxy].map((p) => p?.close()));
  });

  it('database down: a write answers 503 database_unavailable with Retry-After within 1 s, /readyz says so, and the next write after it is back succeeds', async () => {
    expect((await request(svc.app).post('/things').send({ name: 'before' })).status).toBe(201);
    await mongoProxy.close();
    try {
      const { res, ms } = await timed(() => request(svc.app).post('/things').send({ name: 'during' }));
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'database_unavailable', details: { dependency: 'database' } });
      expect(res.body.hint).toMatch(/Retry-After/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(1000);
      const ready = await timed(() => request(svc.app).get('/readyz'));
      expect(ready.res.status).toBe(503);
      expect(ready.res.body.checks.mongo).toBe(false);
      expect(ready.res.body.unavailable).toEqual(['database_unavailable']);
      expect(ready.ms).toBeLessThan(2000);
    } finally {
      await mongoProxy.open();
    }
    expect((await request(svc.app).post('/things').send({ name: 'after' })).status).toBe(201);
    expect((await request(svc.app).get('/readyz')).body.checks.mongo).toBe(true);
    expect(unhandled).not.toHaveBeenCalledWith('unhandled error', expect.anything());
  });

  it('registry down: a lookup of an uncached schema answers 503 schema_registry_unavailable within 1 s, while writes (their schema ids cached since the start) go on', async () => {
    const id = await foreignSchemaId();
    await registryProxy.close();
    try {
      const { res, ms } = await timed(() => request(svc.app).get(`/schemas/${id}`));
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('schema_registry_unavailable');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(1000);
      expect((await request(svc.app).post('/things').send({ name: 'registry down' })).status).toBe(201);
      const ready = await request(svc.app).get('/readyz');
      expect([ready.status, ready.body.checks.registry, ready.body.unavailable]).toEqual([503, false, ['schema_registry_unavailable']]);
    } finally {
      await registryProxy.open();
    }
    expect((await request(svc.app).get(`/schemas/${id}`)).status).toBe(200);
    expect(unhandled).not.toHaveBeenCalledWith('unhandled error', expect.anything());
  });

  it('broker down: a route that waits for the broker answers 503 broker_unavailable within 1 s, and succeeds once it is back', async () => {
    expect((await request(svc.app).get('/cluster')).status).toBe(200);
    await kafkaProxy.close();
    try {
      const { res, ms } = await timed(() => request(svc.app).get('/cluster'));
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('broker_unavailable');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(1000);
    } finally {
      await kafkaProxy.open();
    }
    expect((await request(svc.app).get('/cluster')).status).toBe(200);
    expect(unhandled).not.toHaveBeenCalledWith('unhandled error', expect.anything());
  });
});
