import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { JobProgress as JobProgressEvent } from '@omnimall/contracts';
import { bearer, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { BULK_MAX_PAIRS, newBulkJob } from '../src/application/bulk-jobs';
import type { BulkJob, StoredProduct } from '../src/domain/records';
import { adminToken, managerToken, sellerToken, startHarness, type Harness } from './helpers';

/**
 * Issue 17, finding 10 (catalog part): bulk sync runs as a job with progress, resumable after a
 * restart, capped in size, and only for sellers (their own jobs) and admins. Real FerretDB, Kafka
 * and schema registry; slices of 10 channel × product pairs so a job takes several.
 */
let h: Harness;
const uid = uniqueName('j').slice(2).replace(/_/g, '');
const US = `us-${uid}`;
const JP = `jp-${uid}`;
const sellerId = `seller-${uid}`;
let seller: string;
let other: string;
let admin: string;
let progressEvents: TopicRecorder;
const http = () => request(h.svc.app);

beforeAll(async () => {
  [h, progressEvents] = await Promise.all([
    startHarness({ bulkSlicePairs: 10 }),
    new TopicRecorder(testKafka(), ['platform.job-progress']).start(),
  ]);
  await h.announce({ code: US, region: 'NA', country: 'US', currencies: ['USD'], languages: ['en-US'] });
  await h.announce({ code: JP, region: 'APAC', country: 'JP', currencies: ['JPY'], languages: ['ja'] });
  seller = await sellerToken(sellerId);
  other = await sellerToken(`other-${uid}`);
  admin = await adminToken();
  for (const [quote, rate] of [
    ['USD', '1.10'],
    ['JPY', '150'],
  ])
    await http()
      .post('/rates')
      .set('authorization', admin)
      .send({ base: 'EUR', quote, rate, source: 'test', effectiveFrom: Date.now() - 60_000 });
});

afterAll(async () => {
  await Promise.allSettled([h?.stop(), progressEvents?.stop()]);
});

async function seed(prefix: string, n: number): Promise<string[]> {
  const now = new Date();
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${uid}-${i}`);
  const products: StoredProduct[] = ids.map((id) => ({
    _id: id,
    sellerId,
    version: 1,
    defaultLocale: 'en',
    title: { en: id },
    description: {},
    category: 'bulk',
    attributes: {},
    variants: [{ sku: `${id}-1`, attributes: {}, price: { amountMinor: 1000, currency: 'EUR' } }],
    restrictions: [],
    createdAt: now,
    updatedAt: now,
  }));
  await h.svc.catalog.products.createMany(products);
  return ids;
}

const listed = async (channel: string, ids: string[]): Promise<boolean[]> =>
  Promise.all(ids.map(async (id) => (await h.svc.catalog.items.shown(`${channel}:${id}-1`))?.status === 'listed'));

describe('bulk sync as a job', () => {
  it('answers 202 with the job and its Location, reports progress, and completes in the background', async () => {
    const ids = await seed('job', 12);
    const res = await http()
      .post('/bulk-sync')
      .set('authorization', seller)
      .send({ channels: [US, JP], productIds: ids });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/bulk-sync/jobs/${res.body.id}`);
    expect(res.body).toMatchObject({ total: 12, channels: [US, JP], state: expect.stringMatching(/^(queued|running|succeeded)$/) });
    const seen = new Set<number>();
    const job = await waitFor(async () => {
      const r = await http().get(res.headers.location).set('authorization', seller);
      expect(r.status).toBe(200);
      seen.add(r.body.done);
      return r.body.state === 'succeeded' && r.body;
    }, 'the job to succeed');
    expect(job).toMatchObject({ total: 12, done: 12, progress: 1, listed: 24, failedCount: 0, refusedCount: 0, error: null });
    expect(job.finishedAt).toBeTruthy();
    expect(job).not.toHaveProperty('productIds');
    expect([...seen].every((d) => [0, 5, 10, 12].includes(d))).toBe(true); // progress moves a slice at a time (10 pairs: 5 products)
    expect(await listed(US, ids)).toEqual(ids.map(() => true));
    expect(await listed(JP, ids)).toEqual(ids.map(() => true));
  });

  it('resumes a job whose runner stopped (its lease expired) at the first product not done', async () => {
    const ids = await seed('resume', 10);
    const now = new Date();
    // what a runner that crashed after four products leaves behind
    const job: BulkJob = {
      ...newBulkJob({ sub: sellerId, roles: ['seller'] }, { channels: [US], productIds: ids }, now),
      state: 'running',
      done: 4,
      listed: 4,
      attempts: 1,
      lease: { owner: 'an-instance-that-crashed', until: new Date(now.getTime() - 1000) },
    };
    await h.svc.catalog.jobs.create(job);
    h.svc.jobs.kick();
    const done = await waitFor(async () => {
      const j = await h.svc.catalog.jobs.byId(job._id);
      return j?.state === 'succeeded' && j;
    }, 'the resumed job to succeed');
    expect(done).toMatchObject({ done: 10, listed: 10, lease: null, attempts: 2 });
    // the crashed runner's products are not done again; the rest are
    expect(await listed(US, ids)).toEqual([false, false, false, false, true, true, true, true, true, true]);
  });

  it('caps a request at the channel × product pair limit with 413 and a hint, before queuing anything', async () => {
    const channels = Array.from({ length: 50 }, (_, i) => `c${i}-${uid}`);
    const productIds = Array.from({ length: Math.floor(BULK_MAX_PAIRS / 50) + 1 }, (_, i) => `p${i}`);
    const res = await http().post('/bulk-sync').set('authorization', seller).send({ channels, productIds });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'bulk_too_large', details: { max: BULK_MAX_PAIRS } });
    expect(res.body.hint).toContain(String(BULK_MAX_PAIRS));
    const unknown = await http()
      .post('/bulk-sync')
      .set('authorization', seller)
      .send({ channels: [`nope-${uid}`], productIds: ['x'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('channel_not_found');
  });

  it('lets only sellers (their own products and jobs) and admins submit and read jobs', async () => {
    const ids = await seed('who', 2);
    const body = { channels: [US], productIds: ids };
    expect((await http().post('/bulk-sync').send(body)).status).toBe(401);
    const refusedTokens = [
      await managerToken(`m-${uid}`, [US]),
      await bearer({ sub: `co-${uid}`, kind: 'staff', roles: ['compliance_officer'] }),
      await bearer({ sub: `cust-${uid}`, kind: 'customer', roles: [] }),
    ];
    for (const t of refusedTokens) expect((await http().post('/bulk-sync').set('authorization', t).send(body)).status).toBe(403);
    const foreign = await http().post('/bulk-sync').set('authorization', other).send(body);
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('not_product_owner');

    const res = await http().post('/bulk-sync').set('authorization', seller).send(body);
    expect(res.status).toBe(202);
    const path = res.headers.location;
    expect((await http().get(path)).status).toBe(401);
    for (const t of refusedTokens) expect((await http().get(path).set('authorization', t)).status).toBe(403);
    const otherSeller = await http().get(path).set('authorization', other);
    expect(otherSeller.status).toBe(403);
    expect(otherSeller.body.code).toBe('not_job_owner');
    expect((await http().get(path).set('authorization', admin)).status).toBe(200);
    expect((await http().get(path).set('authorization', seller)).status).toBe(200);
    expect((await http().get(`/bulk-sync/jobs/${randomUUID()}`).set('authorization', seller)).status).toBe(404);
    // an admin may bulk-sync any seller's products
    expect((await http().post('/bulk-sync').set('authorization', admin).send(body)).status).toBe(202);
  });

  it('GET /jobs/:id answers the platform job progress view until done == total, and publishes the end on platform.job-progress', async () => {
    const ids = await seed('progress', 12);
    const res = await http()
      .post('/bulk-sync')
      .set('authorization', seller)
      .send({ channels: [US, JP], productIds: ids });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    const view = await waitFor(async () => {
      const r = await http().get(`/jobs/${id}`).set('authorization', seller);
      expect(r.status).toBe(200);
      expect(r.body.done).toBeLessThanOrEqual(r.body.total);
      return r.body.state === 'done' && r.body;
    }, 'the job progress view to reach done');
    expect(view).toMatchObject({
      id,
      kind: 'bulk-sync',
      service: 'catalog-sync',
      done: 12,
      total: 12,
      errors: 0,
      firstErrors: [],
      etaSeconds: 0,
      stalled: false,
      location: `/bulk-sync/jobs/${id}`,
    });
    expect(view.rate).toBeGreaterThan(0);
    expect(Date.parse(view.finishedAt)).toBeGreaterThanOrEqual(Date.parse(view.startedAt));
    // the job's own resource agrees
    expect((await http().get(view.location).set('authorization', seller)).body).toMatchObject({ state: 'succeeded', done: 12 });
    const end = await waitFor(async () => {
      for (const r of progressEvents.records) {
        const e = await h.svc.runtime.schemas.decode<JobProgressEvent>(r.message.value!);
        if (e.id === id && e.state === 'done') return e;
      }
      return null;
    }, 'the final progress event of the job');
    expect(end).toMatchObject({ kind: 'bulk-sync', service: 'catalog-sync', done: 12, total: 12, location: `/bulk-sync/jobs/${id}` });
    expect(end.envelope).toMatchObject({ producer: 'catalog-sync', aggregateId: id });
  });

  it('GET /jobs/:id: only the submitter and admins read a job; an unknown id is 404 job_not_found with a hint', async () => {
    const ids = await seed('progress-who', 1);
    const res = await http()
      .post('/bulk-sync')
      .set('authorization', seller)
      .send({ channels: [US], productIds: ids });
    const path = `/jobs/${res.body.id}`;
    expect((await http().get(path)).status).toBe(401);
    const otherSeller = await http().get(path).set('authorization', other);
    expect(otherSeller.status).toBe(403);
    expect(otherSeller.body.code).toBe('not_job_owner');
    for (const t of [await managerToken(`m2-${uid}`, [US]), await bearer({ sub: `cu-${uid}`, kind: 'customer', roles: [] })])
      expect((await http().get(path).set('authorization', t)).status).toBe(403);
    expect((await http().get(path).set('authorization', admin)).status).toBe(200);
    for (const unknown of [randomUUID(), 'imp-not-a-bulk-job']) {
      const missing = await http().get(`/jobs/${unknown}`).set('authorization', seller);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 'job_not_found', hint: expect.any(String) });
    }
  });

  it('documents the job routes, their statuses and the job body in OpenAPI', async () => {
    const doc = (await http().get('/openapi.json')).body;
    expect(Object.keys(doc.paths['/bulk-sync'].post.responses)).toEqual(expect.arrayContaining(['202', '401', '403', '404', '413']));
    expect(Object.keys(doc.paths['/bulk-sync/jobs/{id}'].get.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']));
    expect(doc.components.schemas.BulkJob.properties).toHaveProperty('done');
    expect(Object.keys(doc.paths['/jobs/{id}'].get.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']));
    expect(doc.components.schemas.JobProgress.properties).toHaveProperty('etaSeconds');
  });
});
