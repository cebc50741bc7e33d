import { join } from 'node:path';
import { newEvent, ServiceRuntime, WITHOUT_OUTBOX, withOutbox, withoutOutbox, WriteConflictError } from '../src';
import { runChild, testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';
import { probeModel } from './fixtures/probe-model';

describe('withOutbox', () => {
  it('stages each event under its id and counts them, keeping the caller update', () => {
    const e = newEvent('platform.probe', { type: 't', producer: 'p', aggregateId: 'a', aggregateVersion: 2 }, { sequence: 1, payload: '' });
    const u = withOutbox({ $set: { version: 2 }, $inc: { n: 1 } }, [e]) as Record<string, Record<string, unknown>>;
    expect(u.$set.version).toBe(2);
    expect(u.$inc).toEqual({ n: 1, outboxCount: 1 });
    expect(u.$set[`outbox.${e.value.envelope.eventId}`]).toMatchObject({ topic: 'platform.probe', key: 'a' });
  });

  it('never lets a caller overwrite the fields the outbox owns', () => {
    const u = withOutbox({ $set: { version: 2, outbox: {}, outboxCount: 0, writeRev: 7 } }, []) as Record<string, Record<string, unknown>>;
    expect(u.$set).toEqual({ version: 2 });
  });

  it('leaves the fields the outbox owns out of what is shown to clients', () => {
    const doc = { _id: 'a', version: 2, outbox: { e: {} }, outboxCount: 1, writeRev: 7 };
    expect(withoutOutbox(doc)).toEqual({ _id: 'a', version: 2 });
    expect(WITHOUT_OUTBOX).toEqual({ outbox: 0, outboxCount: 0, writeRev: 0 });
  });
});

describe('transactional outbox against the real stack', () => {
  let recorder: TopicRecorder;
  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), ['platform.probe']).start();
  });
  afterAll(() => recorder.stop());

  const eventsOf = (key: string) => recorder.where((r) => r.message.key?.toString() === key);
  /** How many times an event reached Kafka, counted once a marker published after it on the same key has arrived. */
  const copiesOnKafka = async (rt: ServiceRuntime, key: string, eventId: string): Promise<number> => {
    const marker = newEvent(
      'platform.probe',
      { type: 'probe.marker', producer: 'kit', aggregateId: key, aggregateVersion: 2 },
      { sequence: 2, payload: '' },
    );
    await rt.publisher.publish([marker]);
    const idOf = (r: { message: { headers?: Record<string, unknown> } }) => String(r.message.headers?.eventId ?? '');
    await waitFor(() => eventsOf(key).some((r) => idOf(r) === marker.value.envelope.eventId), 'the marker');
    return eventsOf(key).filter((r) => idOf(r) === eventId).length;
  };

  it('publishes right after the write and empties the outbox', async () => {
    const rt = await ServiceRuntime.start({ config: testConfig('kit-outbox'), produces: ['platform.probe'] });
    try {
      const Probe = rt.outbox.track(probeModel(rt.db));
      const id = uniqueName('agg');
      const events = [1, 2, 3].map((n) =>
        newEvent(
          'platform.probe',
          { type: 'probe.changed', producer: 'kit', aggregateId: id, aggregateVersion: n },
          { sequence: n, payload: '' },
        ),
      );
      await rt.outbox.update(Probe, id, { $set: { version: 3 } }, events, { upsert: true, awaitPublish: true });
      const got = await waitFor(() => eventsOf(id).length === 3 && eventsOf(id), 'three events');
      const decoded = await Promise.all(got.map((r) => rt.schemas.decode<{ sequence: number }>(r.message.value!)));
      expect(decoded.map((d) => d.sequence)).toEqual([1, 2, 3]);
      expect(got.map((r) => r.message.headers?.eventId?.toString())).toEqual(events.map((e) => e.value.envelope.eventId));
      await rt.outbox.cleanup(0);
      const after = await Probe.findById(id).lean();
      expect(after).toMatchObject({ version: 3, outboxCount: 0 });
      expect(Object.keys(after!.outbox ?? {})).toHaveLength(0);
    } finally {
      await rt.stop();
    }
  });

  it('removes published entries in batched writes, and retries the documents of a batch another process changed', async () => {
    const dbName = uniqueName('test_kit_cleanup');
    const opts = { pollIntervalMs: 3_600_000, graceMs: 3_600_000, cleanupIntervalMs: 3_600_000, cleanupAfterMs: 3_600_000 };
    const a = await ServiceRuntime.start({ config: testConfig('kit-outbox', { dbName }), produces: ['platform.probe'], outbox: opts });
    const b = await ServiceRuntime.start({ config: testConfig('kit-outbox', { dbName }), produces: ['platform.probe'], outbox: opts });
    try {
      const ProbeA = a.outbox.track(probeModel(a.db), { exclusive: true });
      const ProbeB = b.outbox.track(probeModel(b.db), { exclusive: true });
      const ids = Array.from({ length: 60 }, () => uniqueName('agg'));
      const probe = (id: string, n: number) =>
        newEvent(
          'platform.probe',
          { type: 'probe.changed', producer: 'kit', aggregateId: id, aggregateVersion: n },
          { sequence: n, payload: '' },
        );
      for (const id of ids)
        await a.outbox.update(ProbeA, id, { $set: { version: 1 } }, [probe(id, 1)], { upsert: true, awaitPublish: true });
      // Another instance writes the first document: A's copy of it is stale, so its removal cannot match.
      const other = probe(ids[0], 2);
      await b.outbox.update(ProbeB, ids[0], { $set: { version: 2 } }, [other], { awaitPublish: true });
      const pending = async () =>
        Object.fromEntries((await ProbeA.find({ _id: { $in: ids } }).lean()).map((d) => [d._id, Object.keys(d.outbox ?? {}).length]));

      await a.outbox.cleanup(0);
      const first = await pending();
      expect(ids.slice(1).filter((id) => first[id] !== 0)).toEqual([]); // the statements that matched did apply
      expect(first[ids[0]]).toBe(2); // A's published entry and B's

      await a.outbox.cleanup(0); // reads the documents of the unsettled batch again
      const doc = await ProbeA.findById(ids[0]).lean();
      expect([doc?.version, doc?.outboxCount, Object.keys(doc?.outbox ?? {})]).toEqual([2, 1, [other.value.envelope.eventId]]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('publishes exactly once what a crash left between commit and publish', async () => {
    const dbName = uniqueName('test_kit_crash');
    const id = uniqueName('agg');
    const child = await runChild(join(__dirname, 'fixtures', 'crash-producer.ts'), { TEST_DB: dbName, AGGREGATE_ID: id });
    expect({ signal: child.signal, code: child.code }).toEqual({ signal: 'SIGKILL', code: null });
    const eventId = child.stdout.trim();
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);

    const rt = await ServiceRuntime.start({
      config: testConfig('kit-outbox', { dbName }),
      produces: ['platform.probe'],
      outbox: { graceMs: 0, pollIntervalMs: 50, cleanupAfterMs: 0 },
    });
    try {
      const Probe = rt.outbox.track(probeModel(rt.db));
      expect((await Probe.findById(id).lean())?.outboxCount).toBe(1); // committed, unpublished
      await waitFor(async () => (await Probe.findById(id).lean())?.outboxCount === 0, 'the recovery poll to publish');
      expect(await rt.outbox.recover()).toBe(0);
      expect(await copiesOnKafka(rt, id, eventId)).toBe(1);
    } finally {
      await rt.stop();
    }
  });

  it('does not republish an entry whose removal commits while a recovery pass is reading its document', async () => {
    const rt = await ServiceRuntime.start({
      config: testConfig('kit-outbox'),
      produces: ['platform.probe'],
      // Passes run only when called; the recovery takes entries at once, the cleanup removes every published one.
      outbox: { graceMs: 0, pollIntervalMs: 3_600_000, cleanupIntervalMs: 3_600_000, cleanupAfterMs: 3_600_000 },
    });
    const Probe = rt.outbox.track(probeModel(rt.db));
    const find = Probe.collection.find;
    try {
      const id = uniqueName('raced');
      const e = newEvent(
        'platform.probe',
        { type: 'probe.changed', producer: 'kit', aggregateId: id, aggregateVersion: 1 },
        { sequence: 1, payload: '' },
      );
      await rt.outbox.update(Probe, id, { $set: { version: 1 } }, [e], { dispatch: false, upsert: true }); // as if the process died here
      expect(await rt.outbox.recover()).toBe(1);
      // The next pass reads the document with the entry still in it; before its answer is used, the
      // cleanup removes the entry (committed) and stops listing it as published.
      Probe.collection.find = ((...args: Parameters<typeof find>) => {
        Probe.collection.find = find;
        const cursor = find.apply(Probe.collection, args);
        const toArray = cursor.toArray.bind(cursor);
        cursor.toArray = async () => {
          const docs = await toArray();
          await rt.outbox.cleanup(0);
          return docs;
        };
        return cursor;
      }) as typeof find;
      expect(await rt.outbox.recover()).toBe(0);
      expect((await Probe.findById(id).lean())?.outboxCount).toBe(0);
      expect(await copiesOnKafka(rt, id, e.value.envelope.eventId)).toBe(1);
    } finally {
      Probe.collection.find = find;
      await rt.stop();
    }
  });

  it('retries a failed publish in the same process, without waiting for the recovery poll', async () => {
    const rt = await ServiceRuntime.start({
      config: testConfig('kit-outbox'),
      produces: ['platform.probe'],
      outbox: { pollIntervalMs: 3_600_000, graceMs: 3_600_000 }, // the poll cannot be what publishes it
    });
    const publish = rt.publisher.publish.bind(rt.publisher);
    let refused = 0;
    rt.publisher.publish = async (events) => {
      if (refused++ < 2) throw new Error('broker unavailable'); // the first two sends fail, as in a broker outage
      return publish(events);
    };
    try {
      const Probe = rt.outbox.track(probeModel(rt.db));
      const id = uniqueName('agg');
      const e = newEvent(
        'platform.probe',
        { type: 'probe.changed', producer: 'kit', aggregateId: id, aggregateVersion: 1 },
        { sequence: 1, payload: '' },
      );
      await expect(rt.outbox.update(Probe, id, { $set: { version: 1 } }, [e], { upsert: true, awaitPublish: true })).rejects.toThrow(
        'broker unavailable',
      );
      await waitFor(() => eventsOf(id).length === 1, 'the event published by the retry');
      expect(refused).toBe(3);
      expect(eventsOf(id)[0].message.headers?.eventId?.toString()).toBe(e.value.envelope.eventId);
    } finally {
      rt.publisher.publish = publish;
      await rt.stop();
    }
  });

  it('reaches an unpublished entry even when more documents than one poll batch wait for their cleanup', async () => {
    const rt = await ServiceRuntime.start({
      config: testConfig('kit-outbox'),
      produces: ['platform.probe'],
      // Published entries stay (no cleanup yet); the poll reads 3 documents at a time and runs only when called.
      outbox: { graceMs: 0, batchSize: 3, cleanupAfterMs: 3_600_000, pollIntervalMs: 3_600_000 },
    });
    try {
      const Probe = rt.outbox.track(probeModel(rt.db));
      const prefix = uniqueName('paged');
      const probe = (id: string) =>
        newEvent(
          'platform.probe',
          { type: 'probe.changed', producer: 'kit', aggregateId: id, aggregateVersion: 1 },
          { sequence: 1, payload: '' },
        );
      for (const n of [1, 2, 3, 4, 5])
        await rt.outbox.update(Probe, `${prefix}-a${n}`, { $set: { version: 1 } }, [probe(`${prefix}-a${n}`)], {
          awaitPublish: true,
          upsert: true,
        });
      const lost = `${prefix}-z`;
      await rt.outbox.update(Probe, lost, { $set: { version: 1 } }, [probe(lost)], { dispatch: false, upsert: true }); // as if the process died here
      // Pass 1 reads a1..a3 (already published), pass 2 reads a4, a5 and z, and publishes z.
      expect(await rt.outbox.recover()).toBe(0);
      expect(await rt.outbox.recover()).toBe(1);
      await waitFor(() => eventsOf(lost).length === 1, 'the lost event on Kafka');
    } finally {
      await rt.stop();
    }
  });

  it('decides an exclusive document on what was written, even if the caller changed the document it got back', async () => {
    const rt = await ServiceRuntime.start({ config: testConfig('kit-outbox'), produces: [] });
    try {
      const Probe = rt.outbox.track(probeModel(rt.db), { exclusive: true });
      const id = uniqueName('owned');
      const bump = () => rt.outbox.transact(Probe, id, (cur) => ({ update: { $set: { version: (cur?.version ?? 0) + 1 } }, events: [] }));
      const first = await bump();
      first.doc!.version = 999; // the caller's copy, not the outbox's
      expect((await bump()).doc?.version).toBe(2);
      expect((await Probe.findById(id).lean())?.version).toBe(2);
    } finally {
      await rt.stop();
    }
  });

  it('with assumeNew, creates a new document without reading it, and decides again on one that existed', async () => {
    const rt = await ServiceRuntime.start({ config: testConfig('kit-outbox'), produces: [] });
    try {
      const Probe = probeModel(rt.db);
      const seen: Array<number | null> = [];
      const bump = (cur: { version?: number } | null) => {
        seen.push(cur ? (cur.version ?? 0) : null);
        return { update: { $set: { version: (cur?.version ?? 0) + 1 } }, events: [] };
      };
      const fresh = uniqueName('new');
      const created = await rt.outbox.transact(Probe, fresh, bump, { assumeNew: true });
      expect(created.doc?.version).toBe(1);
      expect(seen).toEqual([null]);
      // Written by someone else: this process has no copy, guesses "absent", loses, reads and decides again.
      const old = uniqueName('old');
      await Probe.collection.insertOne({ _id: old, version: 5, writeRev: 3, outbox: {}, outboxCount: 0 } as never);
      seen.length = 0;
      const updated = await rt.outbox.transact(Probe, old, bump, { assumeNew: true });
      expect(seen).toEqual([null, 5]);
      expect(updated.doc?.version).toBe(6);
      expect((await Probe.findById(old).lean())?.version).toBe(6);
    } finally {
      await rt.stop();
    }
  });

  it('decides again when another writer changed the document between read and write, and gives up after maxAttempts', async () => {
    const rt = await ServiceRuntime.start({ config: testConfig('kit-outbox'), produces: [], outbox: { maxAttempts: 3 } });
    try {
      const Probe = probeModel(rt.db);
      const id = uniqueName('raced');
      await rt.outbox.update(Probe, id, { $set: { version: 1 } }, [], { upsert: true });
      // Another process writes between this writer's read and its write, once: the second round wins.
      let rounds = 0;
      const interfere = async (times: number) => {
        if (rounds++ < times) await Probe.collection.updateOne({ _id: id } as never, { $inc: { writeRev: 1 } });
      };
      const once = await rt.outbox.transact(Probe, id, async (cur) => {
        await interfere(1);
        return { update: { $set: { version: (cur?.version ?? 0) + 1 } }, events: [] };
      });
      expect(rounds).toBe(2);
      expect(once.doc?.version).toBe(2);
      // Every round loses: no write at all, and a typed error after maxAttempts rounds.
      rounds = 0;
      const err = await rt.outbox
        .transact(Probe, id, async (cur) => {
          await interfere(Infinity);
          return { update: { $set: { version: (cur?.version ?? 0) + 1 } }, events: [] };
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WriteConflictError);
      expect(rounds).toBe(3);
      expect((await Probe.findById(id).lean())?.version).toBe(2);
      const metrics = await rt.metrics.registry.getSingleMetricAsString('omnimall_write_conflicts_total');
      expect(metrics).toMatch(new RegExp(`collection="${Probe.collection.collectionName}"[^\\n]* 4`));
    } finally {
      await rt.stop();
    }
  });

  it('on an exclusive collection, decides nothing-to-do or a refusal on the stored document, not on a copy another instance has changed since', async () => {
    const config = testConfig('kit-outbox');
    const [a, b] = await Promise.all([
      ServiceRuntime.start({ config, produces: ['platform.probe'] }),
      ServiceRuntime.start({ config: { ...config, instanceId: `${config.instanceId}-b` }, produces: ['platform.probe'] }),
    ]);
    try {
      const [ProbeA, ProbeB] = [a, b].map((rt) => rt.outbox.track(probeModel(rt.db), { exclusive: true }));
      const id = uniqueName('stale');
      const set = (version: number) => () => ({ update: { $set: { version } }, events: [] });
      await a.outbox.transact(ProbeA, id, set(1)); // A remembers version 1
      await b.outbox.transact(ProbeB, id, set(2)); // B changes it behind A's copy
      const seen: number[] = [];
      // "nothing to do unless the version is 2": decided on A's copy (1) alone, it would skip the write
      const r = await a.outbox.transact(ProbeA, id, (cur) => {
        seen.push(cur?.version ?? 0);
        return cur?.version === 2 ? { update: { $set: { version: 3 } }, events: [] } : null;
      });
      expect(seen).toEqual([1, 2]);
      expect(r.doc?.version).toBe(3);
      // a refusal on a stale copy is decided again too: the stored version is 4 after B's write
      await b.outbox.transact(ProbeB, id, set(4));
      const refusals: number[] = [];
      await a.outbox.transact(ProbeA, id, (cur) => {
        refusals.push(cur?.version ?? 0);
        if (cur?.version !== 4) throw new Error(`refused on version ${cur?.version}`);
        return null;
      });
      expect(refusals).toEqual([3, 4]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it.each([
    ['read before each write', false],
    ['exclusive: deciding on the last written document', true],
  ])('loses no update when two instances write one document concurrently (%s), and cleans up on the next write', async (_, exclusive) => {
    const config = testConfig('kit-outbox');
    const [a, b] = await Promise.all([
      ServiceRuntime.start({ config, produces: ['platform.probe'] }),
      ServiceRuntime.start({ config: { ...config, instanceId: `${config.instanceId}-b` }, produces: ['platform.probe'] }),
    ]);
    try {
      for (const rt of [a, b]) rt.outbox.track(probeModel(rt.db), { exclusive });
      const id = uniqueName('contended');
      const write = (rt: ServiceRuntime, n: number) =>
        rt.outbox.transact(
          probeModel(rt.db),
          id,
          (current) => ({
            update: { $set: { version: (current?.version ?? 0) + 1 } },
            events: [
              newEvent(
                'platform.probe',
                { type: 'probe.changed', producer: 'kit', aggregateId: id, aggregateVersion: n },
                { sequence: n, payload: '' },
              ),
            ],
          }),
          { awaitPublish: true },
        );
      await Promise.all(Array.from({ length: 20 }, (_, n) => write(n % 2 ? a : b, n)));
      const doc = await probeModel(a.db).findById(id).lean();
      expect(doc?.version).toBe(20);
      await waitFor(() => eventsOf(id).length === 20, 'all twenty events');
      // Entries published earlier were dropped by later writes of the same instance; one more write
      // per instance removes the rest, so the outbox ends empty without a background pass.
      await write(a, 20);
      await write(b, 21);
      const after = await probeModel(a.db).findById(id).lean();
      expect(after?.version).toBe(22);
      expect(Object.keys(after?.outbox ?? {}).length).toBe(after?.outboxCount);
      expect(after!.outboxCount).toBeLessThanOrEqual(2);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
