/**
 * Jobs' one progress shape (jobs.ts): progressOf's rate, ETA and stall rules (pure), the event's round
 * trip, and the reporter's path to the real Kafka: throttled while a job runs, the final event through
 * the outbox.
 */
import type { JobProgress as JobProgressEvent } from '@omnimall/contracts';
import {
  JOB_ERRORS_SHOWN,
  jobProgressEvent,
  jobProgressOfEvent,
  progressAt,
  progressOf,
  ServiceRuntime,
  STALLED_AFTER_MS,
  type JobFacts,
} from '../src';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';

const T0 = Date.parse('2026-01-01T10:00:00.000Z');

const facts = (more: Partial<JobFacts> = {}): JobFacts => ({
  id: 'job-1',
  kind: 'stock-import',
  service: 'inventory',
  state: 'running',
  done: 0,
  total: 100,
  errors: 0,
  startedAt: T0,
  updatedAt: T0,
  location: '/imports/job-1',
  ...more,
});

describe('progressOf (rate over the run so far, ETA at that rate)', () => {
  it('zero done: rate 0 and the ETA unknown, while queued and while running', () => {
    const queued = progressOf(facts({ state: 'queued', startedAt: null }), T0 + 5000);
    expect(queued).toMatchObject({ state: 'queued', done: 0, total: 100, rate: 0, etaSeconds: null, startedAt: null, stalled: false });
    const running = progressOf(facts(), T0 + 5000);
    expect(running).toMatchObject({ state: 'running', rate: 0, etaSeconds: null, startedAt: '2026-01-01T10:00:00.000Z' });
  });

  it('running: units per second since the start, and what is left at that rate (rounded up)', () => {
    const v = progressOf(facts({ done: 30, updatedAt: T0 + 9000 }), T0 + 10_000);
    expect(v.rate).toBe(3);
    expect(v.etaSeconds).toBe(Math.ceil(70 / 3));
    expect(v.stalled).toBe(false);
    expect(v.finishedAt).toBeNull();
  });

  it('finished: the rate over start to finish (not to now), ETA 0 when done, unknown when failed', () => {
    const done = progressOf(facts({ state: 'done', done: 100, updatedAt: T0 + 20_000, finishedAt: T0 + 20_000 }), T0 + 3_600_000);
    expect(done).toMatchObject({ state: 'done', done: 100, total: 100, rate: 5, etaSeconds: 0, stalled: false });
    expect(done.finishedAt).toBe(new Date(T0 + 20_000).toISOString());
    const failed = progressOf(facts({ state: 'failed', done: 40, updatedAt: T0 + 8000, finishedAt: T0 + 8000 }), T0 + 60_000);
    expect(failed).toMatchObject({ state: 'failed', rate: 5, etaSeconds: null });
  });

  it('stalled: running without progress for STALLED_AFTER_MS, the ETA unknown and the rate falling as time passes', () => {
    const last = T0 + 10_000;
    const fresh = progressOf(facts({ done: 50, updatedAt: last }), last + 1000);
    expect(fresh).toMatchObject({ stalled: false, etaSeconds: expect.any(Number) });
    const stalled = progressOf(facts({ done: 50, updatedAt: last }), last + STALLED_AFTER_MS);
    expect(stalled).toMatchObject({ stalled: true, etaSeconds: null });
    expect(stalled.rate).toBeLessThan(fresh.rate);
    // a received view moves on with time the same way
    expect(progressAt(fresh, last + STALLED_AFTER_MS)).toEqual(stalled);
  });

  it('clamps counts (done never above total, no negatives) and bounds the errors it lists', () => {
    const errors = Array.from({ length: 25 }, (_, i) => ({ unit: `line ${i}`, code: 'invalid_quantity', message: 'x'.repeat(1000) }));
    const v = progressOf(facts({ done: 120, total: 100, errors: -3, firstErrors: errors }), T0 + 1000);
    expect(v).toMatchObject({ done: 100, total: 100, errors: 0, etaSeconds: 0 });
    expect(v.firstErrors).toHaveLength(JOB_ERRORS_SHOWN);
    expect(v.firstErrors[0].message.length).toBeLessThanOrEqual(300);
  });

  it('an empty job finished at once: rate 0, ETA 0', () => {
    expect(progressOf(facts({ state: 'done', total: 0, updatedAt: T0, finishedAt: T0 }), T0)).toMatchObject({ rate: 0, etaSeconds: 0 });
  });

  it('the event carries the view whole (times as timestamps) and gives it back', () => {
    const v = progressOf(facts({ done: 10, errors: 1, firstErrors: [{ unit: 'line 3', code: 'c', message: 'm' }] }), T0 + 2000);
    const e = jobProgressEvent(v);
    expect(e.topic).toBe('platform.job-progress');
    expect(e.key).toBe('job-1');
    expect(e.value).toMatchObject({ id: 'job-1', startedAt: T0, updatedAt: T0, finishedAt: null, done: 10, errors: 1 });
    expect(e.value.envelope).toMatchObject({ type: 'job.running', producer: 'inventory', aggregateId: 'job-1' });
    expect(jobProgressOfEvent(e.value)).toEqual(v);
    expect(jobProgressOfEvent({ ...e.value, kind: 'mystery' } as JobProgressEvent)).toBeNull();
  });
});

describe('the job progress reporter (real FerretDB, Kafka and registry)', () => {
  let rt: ServiceRuntime;
  let recorder: TopicRecorder;

  beforeAll(async () => {
    [rt, recorder] = await Promise.all([
      ServiceRuntime.start({ config: testConfig('kit-jobs'), produces: [], jobs: { everyMs: 60_000 } }),
      new TopicRecorder(testKafka(), ['platform.job-progress']).start(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([rt?.stop(), recorder?.stop()]);
  });

  it('publishes a running job at most once per interval, and its end always, through the outbox', async () => {
    const id = uniqueName('job');
    const at = Date.now();
    const view = (state: JobFacts['state'], done: number) =>
      progressOf(
        facts({ id, state, done, updatedAt: at, finishedAt: state === 'done' ? at : null, location: `/imports/${id}` }),
        at + 1000,
      );
    expect(await rt.jobs.report(view('running', 10))).toBe(true);
    expect(await rt.jobs.report(view('running', 20))).toBe(false); // within the interval: skipped
    expect(await rt.jobs.report(view('done', 100))).toBe(true); // the end is never skipped
    expect(await rt.db.collection('platform_job_progress').countDocuments({})).toBeGreaterThan(0);
    const mine = await waitFor(async () => {
      const decoded = await Promise.all(recorder.records.map((r) => rt.schemas.decode<JobProgressEvent>(r.message.value!)));
      const found = decoded.filter((d) => d.id === id);
      return found.length >= 2 ? found : null;
    }, 'the job progress events on platform.job-progress');
    expect(mine.map((e) => [e.state, e.done])).toEqual([
      ['running', 10],
      ['done', 100],
    ]);
    expect(mine[1].envelope).toMatchObject({ producer: 'inventory', aggregateId: id, type: 'job.done' });
  });
});
