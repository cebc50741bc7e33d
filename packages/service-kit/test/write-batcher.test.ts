import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { applyOnce, ServiceMetrics, WriteBatcher } from '../src';
import { testConfig } from '../src/testing';

interface Counter {
  _id: string;
  n: number;
  rev?: number;
  appliedEvents?: string[];
}

describe('WriteBatcher against the real database', () => {
  let db: Connection;
  let Counters: Model<Counter>;
  let metrics: ServiceMetrics;
  let writes: WriteBatcher;

  beforeAll(async () => {
    const cfg = testConfig('kit-batcher');
    db = await mongoose.createConnection(cfg.mongoUrl, { dbName: cfg.dbName }).asPromise();
    Counters = db.model<Counter>(
      'Counter',
      new Schema<Counter>({ _id: String, n: Number, rev: Number, appliedEvents: [String] }, { versionKey: false }),
    );
  });
  afterAll(() => db.close());
  beforeEach(() => {
    metrics = new ServiceMetrics('test');
    writes = new WriteBatcher(metrics.writeBatchSize);
  });

  const batches = async () => {
    const [h] = (await metrics.writeBatchSize.get()).values.filter((v) => v.metricName?.endsWith('_count'));
    return h?.value ?? 0;
  };

  it('sends upserts queued together as one bulk write and reports each statement on its own', async () => {
    await Counters.create([
      { _id: 'bw-matching', n: 1, rev: 1 },
      { _id: 'bw-moved-on', n: 1, rev: 5 },
    ]);
    const outcomes = await Promise.all([
      writes.upsertOne(Counters, { _id: 'bw-matching', rev: 1 }, { $set: { n: 2 }, $inc: { rev: 1 } }),
      writes.upsertOne(Counters, { _id: 'bw-moved-on', rev: 1 }, { $set: { n: 2 }, $inc: { rev: 1 } }),
      writes.upsertOne(Counters, { _id: 'bw-new', rev: { $exists: false } }, { $set: { n: 7 }, $inc: { rev: 1 } }),
    ]);
    expect(outcomes).toEqual(['updated', 'duplicate', 'inserted']);
    expect(await batches()).toBe(1);
    const docs = await Counters.find({ _id: { $in: ['bw-matching', 'bw-moved-on', 'bw-new'] } })
      .sort({ _id: 1 })
      .lean();
    expect(docs.map((d) => [d._id, d.n, d.rev])).toEqual([
      ['bw-matching', 2, 2],
      ['bw-moved-on', 1, 5],
      ['bw-new', 7, 1],
    ]);
  });

  it('keeps going after a statement that collides, and rejects only a statement it cannot cast', async () => {
    await Counters.create({ _id: 'bw-taken', n: 1, rev: 9 });
    const results = await Promise.allSettled([
      writes.upsertOne(Counters, { _id: 'bw-taken', rev: 1 }, { $set: { n: 2 } }),
      writes.upsertOne(Counters, { _id: 'bw-cast' }, { $set: { n: 'not a number' as unknown as number } }),
      writes.upsertOne(Counters, { _id: 'bw-after' }, { $set: { n: 3 } }),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name))).toEqual([
      'duplicate',
      'CastError',
      'inserted',
    ]);
    expect(await Counters.findById('bw-cast').lean()).toBeNull();
    expect((await Counters.findById('bw-after').lean())?.n).toBe(3);
  });

  it('applies every statement on one document when many arrive at once, batching them', async () => {
    const n = 60;
    await Promise.all(Array.from({ length: n }, () => writes.upsertOne(Counters, { _id: 'bw-hot' }, { $inc: { n: 1 } })));
    expect((await Counters.findById('bw-hot').lean())?.n).toBe(n);
    expect(await batches()).toBeLessThan(n);
  });

  it('applies an event once however often it is delivered at the same time', async () => {
    const deliveries = await Promise.all(
      Array.from({ length: 5 }, () => applyOnce(Counters, 'event-1', { _id: 'bw-once' }, { $inc: { n: 1 } }, { upsert: true }, { writes })),
    );
    expect(deliveries.filter(Boolean)).toHaveLength(1);
    const doc = await Counters.findById('bw-once').lean();
    expect([doc?.n, doc?.appliedEvents]).toEqual([1, ['event-1']]);
  });

  it('rejects every statement of a write the database refuses as a whole', async () => {
    const cfg = testConfig('kit-batcher-closed');
    const closed = await mongoose.createConnection(cfg.mongoUrl, { dbName: cfg.dbName }).asPromise();
    const Model = closed.model<Counter>('Counter', Counters.schema);
    await closed.close();
    const results = await Promise.allSettled([
      writes.upsertOne(Model, { _id: 'a' }, { $set: { n: 1 } }),
      writes.upsertOne(Model, { _id: 'b' }, { $set: { n: 1 } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
