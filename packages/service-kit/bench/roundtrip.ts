/**
 * Event backbone benchmark.
 *  kit-roundtrip@R : outbox write (state + event in one document) → relay → Kafka → kit consumer →
 *                    effect-once apply → sync.applied ack received. Latency = ack seen − write start.
 *  bare-kafkajs@R  : plain kafkajs produce (acks all) → plain consumer receives. Same broker.
 * Each runs open-loop at R events/s for BENCH_SECONDS (default 30), after WARMUP_SECONDS (3) at the
 * same rate whose samples are not counted (for both kinds of row): the JIT of Node and of the freshly
 * started broker, connection pools and collections warm up there. The measured part starts once the
 * warm-up's events are acknowledged (or timed out). Before the first row, BENCH_BROKER_WARMUP_SECONDS
 * (default 20) of unmeasured bare traffic at 500/s warm up a freshly started broker.
 * Each row also reports the CPU one event cost over the measured part, in this process
 * (`client_cpu_us_per_op`: producer, relay, consumer and the ack observer alike) and in the local
 * FerretDB and Kafka (see bench/harness.ts cpuMeter); floor.ts gives the database's share of it.
 */
import { Schema } from 'mongoose';
import { appliedEventsPath, newEvent, outboxPaths, ServiceRuntime } from '../src';
import { testConfig, testKafka, uniqueName } from '../src/testing';
import { benchSeconds, cpuMeter, drive, summarise, type BenchRow } from '../../../bench/harness';

const RATES = (process.env.BENCH_RATES ?? '200,500,1000').split(',').map(Number);
export const rows = [...RATES.map((r) => `kit-roundtrip@${r}`), ...RATES.map((r) => `bare-kafkajs@${r}`)];
const only = (process.env.ONLY ?? '').split(',').filter(Boolean);
const wanted = (n: string) => !only.length || only.some((p) => n.startsWith(p));
const AGGREGATES = 1000;
const WARMUP_SECONDS = 3;
const BROKER_WARMUP_SECONDS = Number(process.env.BENCH_BROKER_WARMUP_SECONDS ?? 20);

async function kitRow(rate: number, seconds: number): Promise<BenchRow> {
  const rt = await ServiceRuntime.start({ config: testConfig('bench-kit', { logLevel: 'error' }), produces: ['platform.probe'] });
  const Aggregate = rt.outbox.track(
    rt.db.model('BenchAggregate', new Schema({ _id: String, n: Number, ...outboxPaths }, { versionKey: false })),
    { exclusive: true },
  );
  const Projection = rt.db.model('BenchProjection', new Schema({ _id: String, n: Number, ...appliedEventsPath }, { versionKey: false }));
  const group = uniqueName('bench.kit');
  const prefix = uniqueName('b');
  await rt.consume({
    group,
    dedupe: 'in-document',
    handlers: {
      'platform.probe': async (v, ctx) => {
        if (!v.envelope.aggregateId.startsWith(prefix)) return ctx.skip();
        await ctx.applyOnce(Projection, { _id: v.envelope.aggregateId }, { $set: { n: v.sequence } }, { upsert: true });
      },
    },
  });
  // Acks observed the way the sync-monitor sees them: a separate consumer of sync.applied.
  const started = new Map<string, { t0: number; measured: boolean }>();
  const latencies: number[] = [];
  const waiters = new Map<string, () => void>();
  const ackConsumer = rt.kafka.consumer({ groupId: uniqueName('bench.acks') });
  await ackConsumer.connect();
  await ackConsumer.subscribe({ topics: ['sync.applied'] });
  const joined = new Promise<void>((r) => ackConsumer.on(ackConsumer.events.GROUP_JOIN, () => r()));
  await ackConsumer.run({
    autoCommit: false, // an observer: nothing to resume
    partitionsConsumedConcurrently: 6,
    eachMessage: async ({ message }) => {
      const id = message.key?.toString() ?? '';
      const s = started.get(id);
      if (s === undefined) return;
      started.delete(id);
      if (s.measured) latencies.push(performance.now() - s.t0);
      waiters.get(id)?.();
    },
  });
  await joined;
  let measured = false;
  const fire = async (i: number): Promise<void> => {
    const id = `${prefix}-${i % AGGREGATES}`;
    const e = newEvent(
      'platform.probe',
      { type: 'bench.tick', producer: 'bench', aggregateId: id, aggregateVersion: i },
      { sequence: i, payload: '' },
    );
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ack within 10 s')), 10000);
      waiters.set(e.value.envelope.eventId, () => {
        clearTimeout(timer);
        waiters.delete(e.value.envelope.eventId);
        resolve();
      });
    });
    done.catch(() => undefined);
    started.set(e.value.envelope.eventId, { t0: performance.now(), measured });
    await rt.outbox.update(Aggregate, id, { $set: { n: i } }, [e], { upsert: true });
    await done;
  };
  await drive(rate, WARMUP_SECONDS, (i) => fire(rate * seconds + i));
  measured = true;
  const meter = cpuMeter();
  const { achieved, errors } = await drive(rate, seconds, fire);
  const cpu = meter.per(rate * seconds);
  await ackConsumer.disconnect();
  await rt.stop();
  return summarise(`kit-roundtrip@${rate}`, latencies, { target_rate: rate, achieved_rate: achieved, errors, ...cpu });
}

async function bareRow(rate: number, seconds: number): Promise<BenchRow> {
  const kafka = testKafka(); // the admin principal on the local secured Kafka
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: uniqueName('bench.bare') });
  await consumer.connect();
  await consumer.subscribe({ topics: ['platform.probe'] });
  const started = new Map<string, { t0: number; measured: boolean }>();
  const latencies: number[] = [];
  const waiters = new Map<string, () => void>();
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachMessage: async ({ message }) => {
      const id = message.headers?.eventId?.toString() ?? '';
      const s = started.get(id);
      if (s === undefined) return;
      started.delete(id);
      if (s.measured) latencies.push(performance.now() - s.t0);
      waiters.get(id)?.();
    },
  });
  await joined;
  const prefix = uniqueName('bare');
  let measured = false;
  const fire = async (i: number): Promise<void> => {
    const id = `${prefix}-${i}`;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not received within 10 s')), 10000);
      waiters.set(id, () => {
        clearTimeout(timer);
        waiters.delete(id);
        resolve();
      });
    });
    done.catch(() => undefined);
    started.set(id, { t0: performance.now(), measured });
    await producer.send({
      topic: 'platform.probe',
      acks: -1,
      messages: [{ key: `${prefix}-${i % AGGREGATES}`, value: Buffer.alloc(64), headers: { eventId: id } }],
    });
    await done;
  };
  await drive(rate, WARMUP_SECONDS, (i) => fire(rate * seconds + i));
  measured = true;
  const meter = cpuMeter(['kafka']);
  const { achieved, errors } = await drive(rate, seconds, fire);
  const cpu = meter.per(rate * seconds);
  await consumer.disconnect();
  await producer.disconnect();
  return summarise(`bare-kafkajs@${rate}`, latencies, { target_rate: rate, achieved_rate: achieved, errors, ...cpu });
}

export async function run(): Promise<BenchRow[]> {
  const seconds = benchSeconds(30);
  const out: BenchRow[] = [];
  // A broker just started by `make bench` spends its first minute compiling its hot paths: in one
  // such run it used 2.5x the CPU per event of a warm one in the first row. Bare traffic first.
  if (BROKER_WARMUP_SECONDS > 0) await bareRow(500, BROKER_WARMUP_SECONDS);
  for (const rate of RATES) if (wanted(`kit-roundtrip@${rate}`)) out.push(await kitRow(rate, seconds));
  for (const rate of RATES) if (wanted(`bare-kafkajs@${rate}`)) out.push(await bareRow(rate, seconds));
  return out;
}
