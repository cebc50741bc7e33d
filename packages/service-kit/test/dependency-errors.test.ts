/**
 * Which errors mean "a dependency is unreachable" (503 with its code) and which do not, with the
 * errors the real drivers raise against a closed port; the app's answer, its log and its OpenAPI
 * document; and the rate limit of the outage warnings.
 */
import net from 'node:net';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';
import request from 'supertest';
import { createHttpApp, createLogger, HttpApi, ServiceMetrics, ServiceUnavailableError, ValidationError, z } from '../src';
import { asServiceUnavailable, DependencyAlerts, unavailableDependency, withinDeadline } from '../src/http/dependencies';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/** A logger whose lines are kept. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const logger = createLogger('kit-deps', 'debug');
  for (const level of ['error', 'warn', 'info'] as const)
    (logger as unknown as Record<string, (m: string) => unknown>)[level] = (message: string) => lines.push({ level, message });
  return { logger, lines };
}

describe('the errors that mean a dependency is unreachable', () => {
  it('maps the real drivers’ failures against a closed port to database, broker and schema_registry', async () => {
    const port = await closedPort();
    const mongoErr = await rejectionOf(
      mongoose.createConnection(`mongodb://127.0.0.1:${port}`, { serverSelectionTimeoutMS: 200, bufferCommands: false }).asPromise(),
    );
    const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    const kafkaErr = await rejectionOf(admin.connect());
    const registryErr = await rejectionOf(new SchemaRegistry({ host: `http://127.0.0.1:${port}`, retry: { retries: 0 } }).getSchema(1));
    expect([unavailableDependency(mongoErr), unavailableDependency(kafkaErr), unavailableDependency(registryErr)]).toEqual([
      'database',
      'broker',
      'schema_registry',
    ]);
    expect(unavailableDependency(new KafkaJSNumberOfRetriesExceeded(kafkaErr as Error, { retryCount: 8, retryTime: 100 }))).toBe('broker');
    expect(unavailableDependency(new Error('wrapped', { cause: mongoErr }))).toBe('database');
    expect(unavailableDependency(new mongoose.mongo.MongoNetworkError('socket closed'))).toBe('database');
  });

  it('takes a raw socket error thrown from the MongoDB driver’s frames (it lets EPIPE escape unwrapped) as the database, and no other', () => {
    const epipe = (stack: string) =>
      Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE', stack: `Error: ...\n${stack}` });
    expect(unavailableDependency(epipe('    at Connection.writeCommand (/app/node_modules/mongodb/lib/cmap/connection.js:1:1)'))).toBe(
      'database',
    );
    expect(unavailableDependency(epipe('    at Socket.write (node:net:1:1)\n    at post (/app/src/webhooks.js:1:1)'))).toBeNull();
  });

  it('leaves refusals and bugs alone: a duplicate key, a protocol refusal, a registry 404, a plain error', async () => {
    const duplicate = Object.assign(new mongoose.mongo.MongoServerError({ message: 'E11000 duplicate key' }), { code: 11000 });
    const tooLarge = new KafkaJSProtocolError('The request included a message larger than the max message size the server will accept');
    const notFound = Object.assign(new Error('Confluent_Schema_Registry - Schema not found'), { name: 'ResponseError', status: 404 });
    const registry5xx = Object.assign(new Error('Confluent_Schema_Registry - Error, status 503'), { name: 'ResponseError', status: 503 });
    expect([duplicate, tooLarge, notFound, new Error('bug'), null, 'x'].map(unavailableDependency)).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(unavailableDependency(registry5xx)).toBe('schema_registry');
  });

  it('gives each dependency its code, a hint and a Retry-After', () => {
    const errs = (['database', 'broker', 'schema_registry'] as const).map((d) => new ServiceUnavailableError(d));
    expect(errs.map((e) => [e.status, e.code, e.retryAfterSeconds > 0])).toEqual([
      [503, 'database_unavailable', true],
      [503, 'broker_unavailable', true],
      [503, 'schema_registry_unavailable', true],
    ]);
    expect(errs[0].hint).toMatch(/Retry-After/);
    expect(asServiceUnavailable(new ValidationError('x', 'y', 'z'))).toBeNull();
  });

  it('bounds a wait on a dependency: past the deadline the 503, before it the result', async () => {
    const started = Date.now();
    const late = await rejectionOf(withinDeadline(new Promise(() => undefined), 'broker', 150));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(late).toBeInstanceOf(ServiceUnavailableError);
    expect((late as ServiceUnavailableError).code).toBe('broker_unavailable');
    await expect(withinDeadline(Promise.resolve(7), 'broker', 150)).resolves.toBe(7);
  });
});

describe('outage warnings', () => {
  it('warns once per outage, counts every refusal, and warns again after readiness saw the dependency back', async () => {
    const { logger, lines } = recordingLogger();
    const metrics = new ServiceMetrics('kit-deps');
    let now = 0;
    const alerts = new DependencyAlerts(logger, metrics.registry, () => now);
    for (let i = 0; i < 50; i++) alerts.down('database', new Error('ECONNREFUSED'), '/x');
    now = 1000;
    alerts.up({ database: true, broker: true });
    alerts.down('database', new Error('ECONNREFUSED'), '/x');
    now = 40_000; // quiet for longer than 30 s: a new outage
    alerts.down('database', new Error('ECONNREFUSED'), '/x');
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'warn database unavailable: requests answered 503 until it is back',
      'info database reachable again',
      'warn database unavailable: requests answered 503 until it is back',
      'warn database unavailable: requests answered 503 until it is back',
    ]);
    expect(await metrics.registry.getSingleMetricAsString('omnimall_dependency_unavailable_total')).toContain(
      'omnimall_dependency_unavailable_total{dependency="database",service="kit-deps"} 52',
    );
  });
});

describe('the app’s answer to an unreachable dependency', () => {
  function app() {
    const { logger, lines } = recordingLogger();
    const api = new HttpApi({ title: 'kit deps', version: '1.0.0' })
      .route({
        method: 'post',
        path: '/things',
        summary: 'a write whose database is down',
        body: z.object({ name: z.string() }),
        responses: { 201: { description: 'created' } },
        handler: async () => {
          throw new mongoose.mongo.MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017');
        },
      })
      .route({
        method: 'get',
        path: '/stream',
        summary: 'a route that declares a 503 of its own',
        responses: { 200: { description: 'ok' }, 503: { description: 'stream_capacity_reached' } },
        handler: async () => ({ body: {} }),
      });
    return { app: createHttpApp({ service: 'kit-deps', logger, metrics: new ServiceMetrics('kit-deps'), api }), lines };
  }

  it('answers 503 database_unavailable with Retry-After and a hint, and logs a warning, not an unhandled error', async () => {
    const { app: a, lines } = app();
    const res = await request(a).post('/things').send({ name: 'n' });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body).toMatchObject({ code: 'database_unavailable', details: { dependency: 'database' } });
    expect(res.body.hint).toMatch(/retry after 2 s/);
    expect(lines.map((l) => l.level)).toEqual(['warn']);
  });

  it('declares the 503 with Retry-After on every route of the OpenAPI document, keeping a route’s own description', async () => {
    const doc = (await request(app().app).get('/openapi.json')).body;
    for (const op of [doc.paths['/things'].post, doc.paths['/stream'].get]) {
      expect(op.responses['503'].headers['Retry-After'].schema.type).toBe('integer');
      expect(op.responses['503'].description).toMatch(/database_unavailable/);
    }
    expect(doc.paths['/stream'].get.responses['503'].description).toMatch(/^stream_capacity_reached; or /);
  });
});
