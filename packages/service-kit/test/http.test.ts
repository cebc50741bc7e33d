import request from 'supertest';
import { ConflictError, createHttpApp, createLogger, HttpApi, ServiceMetrics, WriteConflictError, z } from '../src';

function app() {
  const api = new HttpApi({ title: 'kit test', version: '1.0.0' })
    .route({
      method: 'post',
      path: '/things/:id',
      summary: 'Create a thing',
      params: z.object({ id: z.string().regex(/^[a-z]+$/) }),
      body: z.object({ name: z.string().min(1), size: z.number().int().positive() }),
      responses: { 201: { description: 'created', schema: z.object({ id: z.string(), name: z.string() }) } },
      handler: async ({ params, body }) => {
        if (body.name === 'taken') throw new ConflictError('thing_exists', 'that thing exists', 'choose another name');
        return { status: 201, body: { id: params.id, name: body.name } };
      },
    })
    .route({
      method: 'get',
      path: '/hot',
      summary: 'loses every compare-and-set round',
      responses: { 200: { description: 'never' } },
      handler: async () => {
        throw new WriteConflictError('things:hot', 20);
      },
    })
    .route({
      method: 'get',
      path: '/boom',
      summary: 'fails',
      responses: { 200: { description: 'never' } },
      handler: async () => {
        throw new Error('bug');
      },
    });
  return createHttpApp({ service: 'kit-test', logger: createLogger('kit-test', 'error'), metrics: new ServiceMetrics('kit-test'), api });
}

describe('HTTP app factory', () => {
  it('validates params and body and lists every bad field', async () => {
    const res = await request(app()).post('/things/ABC').send({ name: '', size: -1 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['body.name', 'body.size', 'params.id']);
    expect(res.body.hint).toMatch(/correct the fields/);
  });

  it('answers malformed JSON with 400 malformed_json', async () => {
    const res = await request(app()).post('/things/abc').set('content-type', 'application/json').send('{"name":');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('malformed_json');
  });

  it('maps domain errors to their status and code', async () => {
    const res = await request(app()).post('/things/abc').send({ name: 'taken', size: 1 });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'thing_exists', hint: 'choose another name' });
  });

  it('answers a write that lost every compare-and-set round with 503 write_contention and Retry-After, not a 500', async () => {
    const res = await request(app()).get('/hot');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toMatchObject({ code: 'write_contention', hint: expect.stringContaining('same request again') });
  });

  it('answers unknown routes with a code and a hint', async () => {
    const res = await request(app()).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('route_not_found');
  });

  it('hides unexpected errors behind a correlation id', async () => {
    const res = await request(app()).get('/boom').set('x-correlation-id', 'corr-1');
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('internal_error');
    expect(res.body.hint).toContain('corr-1');
  });

  it('serves an OpenAPI document generated from the same schemas', async () => {
    const res = await request(app()).get('/openapi.json');
    expect(res.status).toBe(200);
    const op = res.body.paths['/things/{id}'].post;
    expect(op.requestBody.content['application/json'].schema.required).toEqual(['name', 'size']);
    expect(op.parameters[0]).toMatchObject({ name: 'id', in: 'path' });
  });

  it('serves health and Prometheus metrics', async () => {
    const a = app();
    expect((await request(a).get('/healthz')).body.status).toBe('ok');
    const metrics = await request(a).get('/metrics');
    expect(metrics.text).toContain('omnimall_http_request_seconds');
  });
});

describe('/readyz', () => {
  const appWith = (ready: boolean, degraded?: Record<string, unknown>) =>
    createHttpApp({
      service: 'kit-test',
      logger: createLogger('kit-test', 'error'),
      metrics: new ServiceMetrics('kit-test'),
      api: new HttpApi({ title: 't', version: '1' }),
      readiness: async () => ({ kafka: ready, mongo: true }),
      degraded: () => degraded,
    });

  it('answers ready, or degraded (200, with the details) while the service serves but reports a problem', async () => {
    expect((await request(appWith(true)).get('/readyz')).body).toEqual({ status: 'ready', checks: { kafka: true, mongo: true } });
    const degraded = await request(appWith(true, { tracking: { behindMs: 12_000 } })).get('/readyz');
    expect([degraded.status, degraded.body.status, degraded.body.degraded]).toEqual([200, 'degraded', { tracking: { behindMs: 12_000 } }]);
  });

  it('answers 503 not_ready while a dependency is down, degraded or not', async () => {
    const res = await request(appWith(false, { tracking: { behindMs: 12_000 } })).get('/readyz');
    expect([res.status, res.body.status, res.body.degraded]).toEqual([503, 'not_ready', undefined]);
  });
});
