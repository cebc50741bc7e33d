/**
 * The platform's jobs on the monitor: the job board's rules (pure: the latest view wins, an ended job is
 * not reopened, the last hour only, running first), and a job's progress published by a service runtime
 * on the real platform.job-progress showing in `GET /jobs` (admins only) until it is done.
 */
import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { progressOf, type JobFacts, type JobProgress } from '@omnimall/service-kit';
import { bearer, waitFor } from '@omnimall/service-kit/testing';
import { JobBoard, KEEP_MS } from '../src/application/jobs';
import { adminToken, startHarness, type Harness } from './support/harness';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

const view = (more: Partial<JobFacts>, now: number): JobProgress =>
  progressOf(
    {
      id: 'job-a',
      kind: 'bulk-sync',
      service: 'catalog-sync',
      state: 'running',
      done: 10,
      total: 100,
      errors: 0,
      startedAt: T0,
      updatedAt: now,
      location: '/bulk-sync/jobs/job-a',
      ...more,
    },
    now,
  );

describe('the job board (in memory)', () => {
  it('keeps the latest view of a job: an older or replayed running view neither moves it back nor reopens an ended job', () => {
    let now = T0 + 10_000;
    const board = new JobBoard(() => now);
    expect(board.apply(view({ done: 50 }, T0 + 5000))).toBe(true);
    expect(board.apply(view({ done: 20 }, T0 + 2000))).toBe(false);
    expect(board.list()).toMatchObject([{ id: 'job-a', done: 50 }]);
    expect(board.apply(view({ state: 'done', done: 100, finishedAt: T0 + 9000 }, T0 + 9000))).toBe(true);
    expect(board.apply(view({ done: 90 }, T0 + 9500))).toBe(false); // a late running view: the job stays done
    now = T0 + 20_000;
    expect(board.list()).toMatchObject([{ id: 'job-a', state: 'done', done: 100, total: 100, etaSeconds: 0 }]);
  });

  it('lists running jobs first and forgets what it has not seen for an hour (and takes nothing that old)', () => {
    let now = T0 + 60_000;
    const board = new JobBoard(() => now);
    board.apply(view({ id: 'ended', state: 'done', done: 100, finishedAt: now }, now));
    board.apply(view({ id: 'queued', state: 'queued', done: 0, startedAt: null }, now));
    board.apply(view({ id: 'running', done: 30 }, now));
    board.apply(view({ id: 'other-service', service: 'inventory', kind: 'stock-import', done: 1 }, now - 1000));
    expect(board.list().map((j) => `${j.state} ${j.id}`)).toEqual([
      'running running',
      'running other-service',
      'queued queued',
      'done ended',
    ]);
    expect(board.apply(view({ id: 'ancient' }, now - KEEP_MS - 1))).toBe(false);
    now += KEEP_MS + 1;
    expect(board.list()).toEqual([]);
    expect(board.size).toBe(0);
  });
});

describe('GET /jobs (real Kafka: a service runtime publishes, the monitor shows)', () => {
  let h: Harness;
  let http: ReturnType<typeof supertest>;
  let admin: string;

  beforeAll(async () => {
    h = await startHarness();
    http = supertest(h.monitor.app);
    admin = await adminToken();
  });

  afterAll(async () => {
    await h?.stop();
  });

  const listed = async (id: string): Promise<JobProgress | undefined> => {
    const res = await http.get('/jobs').set('authorization', admin);
    expect(res.status).toBe(200);
    return (res.body.jobs as JobProgress[]).find((j) => j.id === id);
  };

  it('shows a running job reported on platform.job-progress, then its end (done == total), running jobs first', async () => {
    const id = randomUUID();
    const started = Date.now();
    const facts = (state: JobFacts['state'], done: number): JobFacts => ({
      id,
      kind: 'stock-import',
      service: 'sim-producer',
      state,
      done,
      total: 40,
      errors: 1,
      firstErrors: [{ unit: 'line 7', code: 'invalid_quantity', message: 'quantity must be a whole number' }],
      startedAt: started,
      updatedAt: Date.now(),
      finishedAt: state === 'done' ? Date.now() : null,
      location: `/imports/${id}`,
    });
    // the monitor's group reads from the end: report until it is seen (the reporter sends at most one a second)
    const running = await waitFor(async () => {
      await h.producer.jobs.report(progressOf(facts('running', 12)));
      return (await listed(id)) ?? null;
    }, 'the running job in GET /jobs');
    expect(running).toMatchObject({ state: 'running', done: 12, total: 40, errors: 1, location: `/imports/${id}` });
    expect(running.firstErrors).toEqual([{ unit: 'line 7', code: 'invalid_quantity', message: 'quantity must be a whole number' }]);
    expect((await http.get('/jobs').set('authorization', admin)).body.jobs[0].state).toBe('running');
    const summary = await http.get('/dashboard/summary').set('authorization', admin);
    expect((summary.body.jobs as JobProgress[]).some((j) => j.id === id)).toBe(true);

    expect(await h.producer.jobs.report(progressOf(facts('done', 40)))).toBe(true);
    const done = await waitFor(async () => {
      const j = await listed(id);
      return j?.state === 'done' ? j : null;
    }, 'the job done in GET /jobs');
    expect(done).toMatchObject({ done: 40, total: 40, etaSeconds: 0 });
    expect(done.finishedAt).not.toBeNull();
  });

  it('is for admins only', async () => {
    expect((await http.get('/jobs')).status).toBe(401);
    for (const t of [
      await bearer({ sub: 'stf_s', kind: 'staff', roles: ['seller'] }),
      await bearer({ sub: 'stf_m', kind: 'staff', roles: ['channel_manager'], channels: ['web'] }),
      await bearer({ sub: 'cus_1', kind: 'customer' }),
    ])
      expect((await http.get('/jobs').set('authorization', t)).status).toBe(403);
    const doc = await http.get('/openapi.json');
    expect(Object.keys(doc.body.paths['/jobs'].get.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
  });
});
