import request from 'supertest';
import { ConflictError, createHttpApp, createLogger, HttpApi, newEvent, ServiceMetrics, ServiceRuntime, z, type Outbox } from '../src';
import { currentRequest, EVENT_IDS_HEADER, MAX_EVENT_IDS_IN_HEADER, noteCommittedEvents } from '../src/http/request-context';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';
import { probeModel } from './fixtures/probe-model';

type Doc = Record<string, { get?: unknown; post?: unknown; delete?: unknown }>;
type Operation = { parameters?: { name: string; in: string; required?: boolean }[]; responses: Record<string, { headers?: object }> };

/** An app whose routes note events the way the outbox does, after hops through timers and promises. */
function notingApp() {
  const later = () => new Promise<void>((r) => setTimeout(r, 1));
  const note = (ids: string[]) => noteCommittedEvents(currentRequest(), ids);
  const api = new HttpApi({ title: 'event ids', version: '1.0.0' }, { rateLimit: false })
    .route({
      method: 'post',
      path: '/writes/:n',
      summary: 'commits n events',
      params: z.object({ n: z.coerce.number().int().min(0) }),
      responses: { 201: { description: 'written' } },
      handler: async ({ params }) => {
        await later();
        note(Array.from({ length: params.n }, (_, i) => `e-${i}`));
        await Promise.resolve();
        return { status: 201, body: { ok: true } };
      },
    })
    .route({
      method: 'delete',
      path: '/writes',
      summary: 'commits one event, then is refused',
      responses: { 204: { description: 'never' } },
      handler: async () => {
        await later();
        note(['e-before-refusal']);
        throw new ConflictError('refused_after_write', 'refused after a write', 'nothing to do');
      },
    })
    .route({
      method: 'get',
      path: '/reads',
      summary: 'a read (documents no event ids)',
      responses: { 200: { description: 'read' } },
      handler: async () => ({ body: { context: currentRequest()?.correlationId ?? null } }),
    });
  return createHttpApp({ service: 'event-ids', logger: createLogger('event-ids', 'error'), metrics: new ServiceMetrics('event-ids'), api });
}

describe('a write names the events it committed (x-event-ids) and the correlation id is the caller’s', () => {
  const app = notingApp();

  it('lists the ids the request committed, comma-separated, with their count', async () => {
    const res = await request(app).post('/writes/3').set('x-correlation-id', 'app-7:cart:1');
    expect(res.status).toBe(201);
    expect(res.headers[EVENT_IDS_HEADER]).toBe('e-0,e-1,e-2');
    expect(res.headers['x-event-count']).toBe('3');
    expect(res.headers['x-correlation-id']).toBe('app-7:cart:1');
  });

  it('sends no x-event-ids when the write committed nothing', async () => {
    const res = await request(app).post('/writes/0');
    expect(res.status).toBe(201);
    expect(res.headers[EVENT_IDS_HEADER]).toBeUndefined();
    expect(res.headers['x-event-count']).toBeUndefined();
  });

  it('keeps requests apart: concurrent writes each name only their own events', async () => {
    const [a, b] = await Promise.all([request(app).post('/writes/1'), request(app).post('/writes/2')]);
    expect([a.headers['x-event-count'], b.headers['x-event-count']]).toEqual(['1', '2']);
  });

  it(`lists at most ${MAX_EVENT_IDS_IN_HEADER} ids, the count says how many there were`, async () => {
    const res = await request(app).post('/writes/70');
    expect(res.headers[EVENT_IDS_HEADER].split(',')).toHaveLength(MAX_EVENT_IDS_IN_HEADER);
    expect(res.headers['x-event-count']).toBe('70');
  });

  it('names events committed before a refusal on the refusal too (they will be published)', async () => {
    const res = await request(app).delete('/writes');
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('refused_after_write');
    expect(res.headers[EVENT_IDS_HEADER]).toBe('e-before-refusal');
  });

  it('replaces an unsafe correlation id with a fresh one, and the request context carries the one used', async () => {
    const res = await request(app).get('/reads').set('x-correlation-id', 'bad id with spaces');
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.context).toBe(res.headers['x-correlation-id']);
    expect(res.headers[EVENT_IDS_HEADER]).toBeUndefined();
  });

  it('documents x-correlation-id on every route (request and responses) and x-event-ids on every write’s responses', async () => {
    const paths = (await request(app).get('/openapi.json')).body.paths as Doc;
    const ops: [string, Operation][] = [
      ['post', paths['/writes/{n}'].post as Operation],
      ['delete', paths['/writes'].delete as Operation],
      ['get', paths['/reads'].get as Operation],
    ];
    for (const [method, op] of ops) {
      expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'x-correlation-id', in: 'header' })]));
      expect(op.parameters!.find((p) => p.name === 'x-correlation-id')!.required).not.toBe(true);
      for (const [status, r] of Object.entries(op.responses)) {
        expect([status, Object.keys(r.headers ?? {})]).toEqual([status, expect.arrayContaining(['x-correlation-id'])]);
        const named = Object.keys(r.headers ?? {}).includes(EVENT_IDS_HEADER);
        expect([method, status, named]).toEqual([method, status, method !== 'get']);
      }
    }
  });
});

describe('x-event-ids against the real stack: the outbox notes what it committed', () => {
  let recorder: TopicRecorder;
  let rt: ServiceRuntime;
  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), ['platform.probe']).start();
    rt = await ServiceRuntime.start({ config: testConfig('kit-event-ids'), produces: ['platform.probe'] });
  });
  afterAll(async () => {
    await rt?.stop();
    await recorder?.stop();
  });

  function outboxApp(outbox: Outbox) {
    const Probe = outbox.track(probeModel(rt.db));
    const probe = (id: string, n: number) =>
      newEvent(
        'platform.probe',
        { type: 'probe.changed', producer: 'kit', aggregateId: id, aggregateVersion: n },
        { sequence: n, payload: '' },
      );
    const api = new HttpApi({ title: 'probes', version: '1.0.0' }, { rateLimit: false })
      .route({
        method: 'put',
        path: '/probes/:id',
        summary: 'two writes, three events; a third write that decides nothing',
        params: z.object({ id: z.string() }),
        responses: { 200: { description: 'written' } },
        handler: async ({ params }) => {
          await outbox.update(Probe, params.id, { $set: { version: 2 } }, [probe(params.id, 1), probe(params.id, 2)], { upsert: true });
          await outbox.transact(Probe, params.id, () => null);
          await outbox.create(Probe, { _id: `${params.id}-twin`, version: 1 }, [probe(`${params.id}-twin`, 1)]);
          return { body: { ok: true } };
        },
      })
      .route({
        method: 'post',
        path: '/probes/:id/refused',
        summary: 'a write whose decision refuses',
        params: z.object({ id: z.string() }),
        responses: { 200: { description: 'never' } },
        handler: async ({ params }) => {
          await outbox.transact(Probe, params.id, () => {
            throw new ConflictError('probe_refused', 'refused', 'nothing was written');
          });
          return { body: { ok: true } };
        },
      });
    return createHttpApp({ service: 'probes', logger: createLogger('probes', 'error'), metrics: new ServiceMetrics('probes'), api });
  }

  it('answers with the ids of exactly the events the writes committed, as they reach Kafka', async () => {
    const app = outboxApp(rt.outbox);
    const id = uniqueName('probe');
    const res = await request(app).put(`/probes/${id}`);
    expect(res.status).toBe(200);
    const ids = res.headers[EVENT_IDS_HEADER].split(',');
    expect(ids).toHaveLength(3);
    const published = await waitFor(() => {
      const got = recorder.where((r) => ids.includes(String(r.message.headers?.eventId ?? '')));
      return got.length === 3 && got;
    }, 'the three events on Kafka');
    const decoded = await Promise.all(published.map((r) => rt.schemas.decode<{ envelope: { eventId: string } }>(r.message.value!)));
    expect(decoded.map((d) => d.envelope.eventId).sort()).toEqual([...ids].sort());

    const refused = await request(app).post(`/probes/${id}/refused`);
    expect(refused.status).toBe(409);
    expect(refused.headers[EVENT_IDS_HEADER]).toBeUndefined();
  });
});
