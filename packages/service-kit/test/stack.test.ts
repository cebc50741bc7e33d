/**
 * Proof that the local stack is real: Avro through the registry and Kafka, documents through
 * mongoose on FerretDB, unique indexes enforced, incompatible schemas refused.
 */
import mongoose, { Schema } from 'mongoose';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import request from 'supertest';
import { createHttpApp, createLogger, duplicateKeyConflict, HttpApi, isDuplicateKeyError, ServiceMetrics, z } from '../src';
import { securityFromEnv } from '../src/kafka/security';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';

const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';

describe('the local stack', () => {
  const auth = securityFromEnv().registry; // the local registry's client user (jest.setup.js)
  const registry = new SchemaRegistry(auth ? { host: registryUrl, auth: { ...auth } } : { host: registryUrl });

  it('carries an Avro record registered in the registry through Kafka and decodes it back', async () => {
    const schema = {
      type: 'record',
      name: 'StackProof',
      namespace: 'omnimall.test',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'n', type: 'long' },
      ],
    };
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject: `${uniqueName('stack-proof')}-value` },
    );
    const kafka = testKafka();
    const recorder = await new TopicRecorder(kafka, ['platform.probe']).start();
    const producer = kafka.producer();
    await producer.connect();
    const key = uniqueName('k');
    await producer.send({ topic: 'platform.probe', messages: [{ key, value: await registry.encode(id, { id: key, n: 42 }) }] });
    const [got] = await waitFor(() => recorder.where((r) => r.message.key?.toString() === key), 'the record to come back');
    expect(got.message.value!.readUInt8(0)).toBe(0);
    expect(got.message.value!.readInt32BE(1)).toBe(id);
    expect(await registry.decode(got.message.value!)).toEqual({ id: key, n: 42 });
    await producer.disconnect();
    await recorder.stop();
  });

  it('refuses an incompatible schema with Confluent error code 409', async () => {
    const subject = `${uniqueName('stack-compat')}-value`;
    const v1 = { type: 'record', name: 'Compat', fields: [{ name: 'a', type: 'string' }] };
    const v2 = { type: 'record', name: 'Compat', fields: [{ name: 'a', type: 'int' }] };
    await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    const res = await fetch(`${registryUrl}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/vnd.schemaregistry.v1+json',
        ...(auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {}),
      },
      body: JSON.stringify({ schema: JSON.stringify(v2) }),
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error_code: number }).error_code).toBe(409);
  });

  describe('mongoose on the MongoDB-protocol server', () => {
    let db: mongoose.Connection;
    beforeAll(async () => {
      db = await mongoose.createConnection(mongoUrl, { dbName: uniqueName('test_stack') }).asPromise();
    });
    // Test databases are left in place (each run uses fresh names): dropping a database while
    // FerretDB's SQLite pool still maps its file is our suspect for two SIGBUS crashes we saw.
    afterAll(() => db.close());

    const Account = () =>
      db.models.Account ?? db.model('Account', new Schema({ email: { type: String, required: true, unique: true }, name: String }));

    it('writes a document and reads it back', async () => {
      const created = await Account().create({ email: 'ada@example.com', name: 'Ada' });
      const found = await Account().findById(created._id).lean();
      expect(found).toMatchObject({ email: 'ada@example.com', name: 'Ada' });
    });

    it('turns a unique-index violation into a typed, clear 409', async () => {
      await Account().init();
      await Account().create({ email: 'grace@example.com' });
      const err = await Account()
        .create({ email: 'grace@example.com' })
        .catch((e: unknown) => e);
      expect(isDuplicateKeyError(err)).toBe(true);
      const conflict = duplicateKeyConflict(err, 'account');
      expect(conflict.toBody()).toMatchObject({ code: 'duplicate', message: 'account already exists' });

      const api = new HttpApi({ title: 'proof', version: '1' }).route({
        method: 'post',
        path: '/accounts',
        summary: 'create',
        body: z.object({ email: z.string().email() }),
        responses: { 201: { description: 'created' } },
        handler: async ({ body }) => ({ status: 201, body: await Account().create(body) }),
      });
      const app = createHttpApp({ service: 'proof', logger: createLogger('proof', 'error'), metrics: new ServiceMetrics('proof'), api });
      const res = await request(app).post('/accounts').send({ email: 'grace@example.com' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('duplicate');
      expect(res.body.hint).toEqual(expect.any(String));
    });

    // The outbox and effect-once rest on this (MongoDB's single-document atomicity); stock FerretDB
    // 1.24 lost about four in five of these, the locally built one is patched (deploy/local/ferretdb/patches:
    // 0002, and 0003 for the compare-and-set's filter of _id plus another key).
    it('applies concurrent updates of one document atomically: no $inc lost, a compare-and-set wins once', async () => {
      const Counter = db.models.Counter ?? db.model('Counter', new Schema({ _id: String, n: Number, rev: Number }, { versionKey: false }));
      const id = uniqueName('counter');
      await Counter.create({ _id: id, n: 0, rev: 0 });
      await Promise.all(Array.from({ length: 50 }, () => Counter.updateOne({ _id: id }, { $inc: { n: 1 } })));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => Counter.updateOne({ _id: id, rev: 0 }, { $set: { rev: i + 1 } })),
      );
      const after = (await Counter.findById(id).lean()) as { n?: number } | null;
      expect(after?.n).toBe(50);
      expect(results.filter((r) => r.modifiedCount === 1)).toHaveLength(1);
    });

    // Patch 0002 serialises findAndModify too, and a write whose filter names no single _id takes the
    // collection's lock: no increment is lost, each findAndModify sees the value the previous one left.
    it('applies concurrent findAndModify and updates by another key atomically', async () => {
      const counters = db.collection<{ _id: string; n: number; tag: string }>('counters');
      const id = uniqueName('counter');
      await counters.insertOne({ _id: id, n: 0, tag: id });
      const before = await Promise.all(
        Array.from({ length: 30 }, () => counters.findOneAndUpdate({ _id: id }, { $inc: { n: 1 } }, { returnDocument: 'before' })),
      );
      expect(new Set(before.map((d) => d?.n)).size).toBe(30);
      await Promise.all(Array.from({ length: 30 }, () => counters.updateOne({ tag: id }, { $inc: { n: 1 } })));
      expect((await counters.findOne({ _id: id }))?.n).toBe(60);
    });

    // Patch 0001: the backend filters by _id through the expression the _id index is built on, so a
    // lookup is an index search, not a scan. Only FerretDB's SQLite backend answers with a `Plan`.
    it('looks a document up by _id through the _id index', async () => {
      const items = db.collection<{ _id: string }>('plans');
      const id = uniqueName('plan');
      await items.insertOne({ _id: id });
      const explained = await db.db!.command({ explain: { find: 'plans', filter: { _id: id } } });
      const plan = (explained.queryPlanner as { Plan?: string[] }).Plan;
      if (plan) expect(plan.join('\n')).toMatch(/USING INDEX/);
    });

    // Patches 0007 and 0008: writers of one database queue on a mutex (inserts and updates encode
    // their documents before taking it) and every 1,000th write checkpoints the write-ahead log.
    // Over a thousand concurrent writes to this database must all land, across batches and checkpoints.
    it('lands every one of over a thousand concurrent writes to one database', async () => {
      const p = uniqueName('w');
      const tallies = db.collection<{ _id: string; n: number }>('tallies');
      const rows = db.collection<{ _id: string; i: number }>('rows');
      await tallies.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: `${p}-${i}`, n: 0 })));
      await Promise.all([
        ...Array.from({ length: 1100 }, (_, i) => tallies.updateOne({ _id: `${p}-${i % 10}` }, { $inc: { n: 1 } })),
        ...Array.from({ length: 3 }, (_, b) => rows.insertMany(Array.from({ length: 150 }, (_, i) => ({ _id: `${p}-${b}-${i}`, i })))),
      ]);
      const n = await tallies.find({ _id: { $in: Array.from({ length: 10 }, (_, i) => `${p}-${i}`) } }).toArray();
      expect(n.map((d) => d.n)).toEqual(Array(10).fill(110));
      expect(await rows.countDocuments({ _id: { $regex: `^${p}-` } })).toBe(450);
    });

    // Patch 0006 switches off the tracking of iterators and cursors (a leak detector): a cursor read
    // in several batches (getMore) and one closed early (killCursors) still behave.
    it('reads a cursor batch by batch and closes one early', async () => {
      const pages = db.collection<{ _id: string; i: number }>('pages');
      const p = uniqueName('page');
      await pages.insertMany(Array.from({ length: 7 }, (_, i) => ({ _id: `${p}-${i}`, i })));
      const all = await pages.find({ _id: { $regex: `^${p}-` } }, { batchSize: 2, sort: { i: 1 } }).toArray();
      expect(all.map((d) => d.i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      const early = pages.find({ _id: { $regex: `^${p}-` } }, { batchSize: 2, sort: { i: 1 } });
      expect((await early.next())?.i).toBe(0);
      await early.close();
      expect(await pages.countDocuments({ _id: { $regex: `^${p}-` } })).toBe(7);
    });

    // Consumers group-commit their effect-once upserts into one such write (deploy/local/ferretdb/patches/0010).
    it('answers a multi-statement update statement by statement, as MongoDB does', async () => {
      const Slot = db.models.Slot ?? db.model('Slot', new Schema({ _id: String, rev: Number }, { versionKey: false }));
      const p = uniqueName('slot');
      const upsert = (id: string, rev?: number) => ({
        updateOne: { filter: { _id: `${p}-${id}`, rev: rev ?? { $exists: false } }, update: { $inc: { rev: 1 } }, upsert: true },
      });
      interface BulkFailure {
        writeErrors: Array<{ index: number; code: number }>;
        result: { upsertedIds: Record<number, unknown>; matchedCount: number };
      }
      // a matches, b is new, a again collides (rev moved on), c is new
      const failure = async (ordered: boolean) => {
        await Slot.collection.deleteMany({ _id: { $in: ['a', 'b', 'c'].map((x) => `${p}-${x}`) } } as never);
        await Slot.collection.insertOne({ _id: `${p}-a`, rev: 1 } as never);
        const err = await Slot.collection.bulkWrite([upsert('a', 1), upsert('b'), upsert('a', 1), upsert('c')] as never, { ordered }).then(
          () => null,
          (e: unknown) => e as BulkFailure,
        );
        return { err, c: await Slot.exists({ _id: `${p}-c` }) };
      };
      const unordered = await failure(false);
      expect(unordered.err?.writeErrors.map((w) => [w.index, w.code])).toEqual([[2, 11000]]);
      expect(unordered.err?.result.upsertedIds).toEqual({ 1: `${p}-b`, 3: `${p}-c` });
      expect(unordered.err?.result.matchedCount).toBe(1);
      const ordered = await failure(true);
      expect(ordered.err?.writeErrors.map((w) => w.index)).toEqual([2]);
      expect(ordered.c).toBeNull(); // nothing after the failed statement ran
    });

    // The build narrows these by _id (deploy/local/ferretdb/patches 0003, 0004 and 0005); the answers
    // must be exactly MongoDB's.
    it('deletes by _id and reads by _id $in exactly as MongoDB does', async () => {
      const Item = db.models.Item ?? db.model('Item', new Schema({ _id: String, n: Number }, { versionKey: false }));
      const p = uniqueName('item');
      await Item.insertMany([1, 2, 3, 4].map((n) => ({ _id: `${p}-${n}`, n })));
      const inList = await Item.find({ _id: { $in: [`${p}-1`, `${p}-3`, `${p}-9`] } }).lean();
      expect(inList.map((d) => d.n).sort()).toEqual([1, 3]);
      const narrowed = await Item.find({ _id: { $in: [`${p}-1`, `${p}-2`] }, n: { $gt: 1 } }).lean();
      expect(narrowed.map((d) => d.n)).toEqual([2]);
      const mixed = await Item.collection.find({ _id: { $in: [`${p}-4`, 7] } } as never).toArray();
      expect(mixed.map((d) => d.n)).toEqual([4]);
      expect((await Item.collection.deleteOne({ _id: `${p}-2` } as never)).deletedCount).toBe(1);
      expect((await Item.collection.deleteOne({ _id: `${p}-2` } as never)).deletedCount).toBe(0);
      expect((await Item.deleteOne({ _id: `${p}-3`, n: 99 })).deletedCount).toBe(0); // another key still filters
      expect(await Item.find({ _id: `${p}-3`, n: 3 }).lean()).toHaveLength(1);
      expect(await Item.find({ _id: `${p}-3`, n: { $ne: 3 } }).lean()).toHaveLength(0);
      const oid = new mongoose.Types.ObjectId();
      await Item.collection.insertOne({ _id: oid, n: 5 } as never);
      expect((await Item.collection.deleteOne({ _id: oid } as never)).deletedCount).toBe(1);
      expect(await Item.collection.countDocuments({ _id: oid } as never)).toBe(0);
      const left = await Item.find({ _id: { $in: [1, 2, 3, 4].map((n) => `${p}-${n}`) } }).lean();
      expect(left.map((d) => d.n).sort()).toEqual([1, 3, 4]);
    });
  });
});

describe('a service runtime', () => {
  it('reports Kafka, MongoDB and the registry reachable on /readyz', async () => {
    const { ServiceRuntime } = await import('../src');
    const { testConfig } = await import('../src/testing');
    const rt = await ServiceRuntime.start({ config: testConfig('kit-ready'), produces: [] });
    try {
      const app = createHttpApp({
        service: 'kit-ready',
        logger: rt.logger,
        metrics: rt.metrics,
        api: new HttpApi({ title: 't', version: '1' }),
        readiness: () => rt.readiness(),
      });
      const res = await request(app).get('/readyz');
      expect(res.status).toBe(200);
      expect(res.body.checks).toEqual({ kafka: true, mongo: true, registry: true });
    } finally {
      await rt.stop();
    }
  });

  it('fails readiness when the registry cannot be reached', async () => {
    const { ServiceRuntime } = await import('../src');
    const { testConfig } = await import('../src/testing');
    const rt = await ServiceRuntime.start({ config: testConfig('kit-ready'), produces: [] });
    try {
      (rt.config as { schemaRegistryUrl: string }).schemaRegistryUrl = 'http://127.0.0.1:9';
      expect(await rt.readiness()).toEqual({ kafka: true, mongo: true, registry: false });
    } finally {
      await rt.stop();
    }
  });
});
