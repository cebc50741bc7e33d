/**
 * Exceptions as evidence (events/exceptions.ts): what the HTTP app records of the errors it answers
 * (kind, code, operation as the route template, subject, channel, actor, versions; references only),
 * and the recorder's bound and durable path through the outbox to the real Kafka.
 */
import type express from 'express';
import request from 'supertest';
import type { ExceptionRecorded } from '@omnimall/contracts';
import {
  ConflictError,
  createHttpApp,
  createLogger,
  ForbiddenError,
  HttpApi,
  PreconditionFailedError,
  ExceptionRecorder,
  ServiceMetrics,
  ServiceRuntime,
  UnauthorizedError,
  z,
  type ExceptionFacts,
  type Principal,
} from '../src';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';

const CUSTOMER: Principal = { sub: 'cust-7', kind: 'customer', roles: [], channels: [], channel: 'web', issuedAt: Date.now() };

/** An app whose answered exceptions land in `seen` (a sink standing for the runtime's recorder). */
function appRecordingInto(seen: ExceptionFacts[], sink?: { record(f: ExceptionFacts): Promise<boolean> }) {
  const asCustomer: express.RequestHandler = (_req, res, next) => {
    res.locals.principal = CUSTOMER;
    next();
  };
  const api = new HttpApi({ title: 'kit test', version: '1.0.0' })
    .route({
      method: 'put',
      path: '/things/:thingId',
      summary: 'A conditional write that collides',
      params: z.object({ thingId: z.string() }),
      responses: { 200: { description: 'never' } },
      before: [asCustomer],
      handler: async ({ params }) => {
        throw new PreconditionFailedError('version_mismatch', `thing ${params.thingId} is at version 4, not 3`, 'read it again', {
          expected: 3,
          current: 4,
        });
      },
    })
    .route({
      method: 'post',
      path: '/people/:email/notes',
      summary: 'A conflict under a path parameter that is not a reference',
      params: z.object({ email: z.string() }),
      responses: { 200: { description: 'never' } },
      before: [asCustomer],
      handler: async () => {
        throw new ConflictError('note_exists', 'that note exists', 'change it instead', { version: 9 });
      },
    })
    .route({
      method: 'post',
      path: '/refused',
      summary: 'A policy refusal whose thrower asks for a record',
      responses: { 200: { description: 'never' } },
      before: [asCustomer],
      handler: async () => {
        throw new ForbiddenError('customer_banned', 'this customer account is banned', 'contact support', { reason: 'fraud' }).recorded({
          kind: 'refusal',
          subjectKind: 'customer',
          subjectId: CUSTOMER.sub,
        });
      },
    })
    .route({
      method: 'post',
      path: '/forbidden',
      summary: 'A 403 nobody asked to record',
      responses: { 200: { description: 'never' } },
      handler: async () => {
        throw new ForbiddenError('role_required', 'this route needs a role', 'ask an admin');
      },
    })
    .route({
      method: 'post',
      path: '/unauthorized',
      summary: 'A 401',
      responses: { 200: { description: 'never' } },
      handler: async () => {
        throw new UnauthorizedError('token_missing', 'no token', 'log in');
      },
    });
  return createHttpApp({
    service: 'kit-test',
    logger: createLogger('kit-test', 'error'),
    metrics: new ServiceMetrics('kit-test'),
    api,
    exceptions: sink ?? { record: async (f) => (seen.push(f), true) },
    extend: (app) => {
      // a plain express route (not an HttpApi one): its template is what is recorded too
      app.delete('/v1/orders/:orderId/lines/:line', (_req, _res, next) =>
        next(
          new ConflictError('order_changed', 'the order changed meanwhile', 'read it again', { subject: { kind: 'order', id: 'ord-1' } }),
        ),
      );
    },
  });
}

describe('what the HTTP app records of the errors it answers', () => {
  it('records a 412 as a collision: the route template (not the URL), the first route parameter as subject, actor, channel, versions', async () => {
    const seen: ExceptionFacts[] = [];
    const res = await request(appRecordingInto(seen)).put('/things/t-42').set('x-correlation-id', 'corr-1');
    expect(res.status).toBe(412);
    expect(res.body.code).toBe('version_mismatch');
    expect(seen).toEqual([
      expect.objectContaining({
        kind: 'collision',
        code: 'version_mismatch',
        status: 412,
        operation: 'PUT /things/:thingId',
        subjectKind: 'thingId',
        subjectId: 't-42',
        channel: 'web',
        actor: 'cust-7',
        actorKind: 'customer',
        detail: 'thing t-42 is at version 4, not 3',
        expectedVersion: '3',
        currentVersion: '4',
        correlationId: 'corr-1',
      }),
    ]);
  });

  it("records a plain express route's template too, and takes details.subject over the route's parameters", async () => {
    const seen: ExceptionFacts[] = [];
    const res = await request(appRecordingInto(seen)).delete('/v1/orders/ord-1/lines/3');
    expect(res.status).toBe(409);
    expect(seen).toEqual([
      expect.objectContaining({
        kind: 'conflict',
        operation: 'DELETE /v1/orders/:orderId/lines/:line',
        subjectKind: 'order',
        subjectId: 'ord-1',
      }),
    ]);
  });

  it('never copies a parameter that is not a reference (an email): the subject falls back to the principal', async () => {
    const seen: ExceptionFacts[] = [];
    const res = await request(appRecordingInto(seen)).post(`/people/${encodeURIComponent('ann@example.com')}/notes`);
    expect(res.status).toBe(409);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      kind: 'conflict',
      operation: 'POST /people/:email/notes',
      subjectKind: 'customer',
      subjectId: 'cust-7',
    });
    expect(seen[0].currentVersion).toBe('9');
    expect(JSON.stringify(seen[0])).not.toContain('example.com');
  });

  it('records a 403 only when its thrower asks, as a refusal of the subject it names', async () => {
    const seen: ExceptionFacts[] = [];
    const app = appRecordingInto(seen);
    expect((await request(app).post('/forbidden')).status).toBe(403);
    expect((await request(app).post('/unauthorized')).status).toBe(401);
    expect(seen).toEqual([]);
    const refused = await request(app).post('/refused');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      code: 'customer_banned',
      message: 'this customer account is banned',
      hint: 'contact support',
      details: { reason: 'fraud' },
    });
    expect(seen).toEqual([
      expect.objectContaining({ kind: 'refusal', code: 'customer_banned', status: 403, subjectKind: 'customer', subjectId: 'cust-7' }),
    ]);
  });

  it('answers as usual when the recorder fails', async () => {
    const failing = { record: () => Promise.reject(new Error('recorder down')) };
    const res = await request(appRecordingInto([], failing)).put('/things/t-1');
    expect(res.status).toBe(412);
    expect(res.body.code).toBe('version_mismatch');
    const throwing = {
      record: () => {
        throw new Error('recorder broken');
      },
    };
    const again = await request(appRecordingInto([], throwing)).put('/things/t-1');
    expect(again.status).toBe(412);
  });
});

describe('the exception recorder (real FerretDB, Kafka and registry)', () => {
  let rt: ServiceRuntime;
  let recorder: TopicRecorder;
  const BOUND = 3;

  beforeAll(async () => {
    [rt, recorder] = await Promise.all([
      ServiceRuntime.start({ config: testConfig('kit-exceptions'), produces: [] }),
      new TopicRecorder(testKafka(), ['platform.exception']).start(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([rt?.stop(), recorder?.stop()]);
  });

  const metric = async (metrics: ServiceMetrics, name: string, labels: Record<string, string>): Promise<number> => {
    const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
    const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
    return Number(v?.value ?? 0);
  };

  it('writes each event through the outbox with the kit envelope, and drops (and counts) what exceeds the bound', async () => {
    const run = uniqueName('exc');
    const facts = (i: number): ExceptionFacts => ({
      kind: 'refusal',
      code: 'customer_banned',
      status: 403,
      operation: 'POST /cart/lines',
      subjectKind: 'customer',
      subjectId: i === 0 ? 'ann@example.com' : `${run}-${i}`,
      channel: 'web',
      actor: `${run}-${i}`,
      actorKind: 'customer',
      detail: 'this customer account is banned',
      correlationId: `${run}-c${i}`,
    });
    // a recorder of its own (the runtime's outbox and database), so its bound and counters are this test's
    const metrics = new ServiceMetrics('kit-exceptions');
    const bounded = new ExceptionRecorder(
      { service: 'kit-exceptions', outbox: rt.outbox, db: rt.db, metrics, logger: rt.logger },
      { bound: { points: BOUND, durationSec: 60 } },
    );
    const outcomes = await Promise.all([0, 1, 2, 3, 4].map((i) => bounded.record(facts(i))));
    expect(outcomes).toEqual([true, true, true, false, false]);
    expect(await metric(metrics, 'omnimall_exceptions_dropped_total', { kind: 'refusal', reason: 'rate_limited' })).toBe(5 - BOUND);
    expect(await metric(metrics, 'omnimall_exceptions_recorded_total', { kind: 'refusal', code: 'customer_banned' })).toBe(BOUND);

    const mine = await waitFor(async () => {
      const decoded = await Promise.all(
        recorder.records.map((r) =>
          rt.schemas.decode<ExceptionRecorded>(r.message.value!).then((v) => ({ v, key: r.message.key?.toString() })),
        ),
      );
      const found = decoded.filter((d) => d.v.envelope.correlationId.startsWith(`${run}-c`));
      return found.length === BOUND ? found : null;
    }, 'the recorded exceptions on platform.exception');
    for (const { v, key } of mine) {
      expect(v.envelope).toMatchObject({
        type: 'exception.refusal',
        producer: 'kit-exceptions',
        sourceChannel: 'web',
        aggregateId: v.subjectId,
        aggregateVersion: 0,
        eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(key).toBe(v.subjectId);
      expect(v).toMatchObject({ kind: 'refusal', code: 'customer_banned', status: 403, subjectKind: 'customer', channel: 'web' });
      expect(v.subjectId).not.toContain('@');
    }
    // the first one named an email as its subject: only a reference may be copied
    expect(mine.find((d) => d.v.envelope.correlationId === `${run}-c0`)?.v.subjectId).toBe('redacted');
  });

  it('prunes exception documents once the outbox has published and cleaned them', async () => {
    expect(
      await rt.exceptions.record({
        kind: 'conflict',
        code: 'x',
        operation: 'op',
        subjectKind: 'thing',
        subjectId: 'prune-me',
        detail: 'd',
      }),
    ).toBe(true);
    const docs = rt.db.collection('platform_exceptions');
    expect(await docs.countDocuments({})).toBeGreaterThan(0);
    await waitFor(async () => {
      await rt.outbox.cleanup(0);
      return (await docs.countDocuments({ outboxCount: { $gt: 0 } })) === 0;
    }, 'every exception published and cleaned');
    expect(await rt.exceptions.prune(0)).toBeGreaterThan(0);
    expect(await docs.countDocuments({})).toBe(0);
  });
});
