/**
 * floor-db-update: what one database round trip costs on this machine, below any code of ours.
 * One client (the driver mongoose ships, without mongoose) updates documents by _id one at a time,
 * the cheapest write the outbox or an effect-once apply can make, and the row reports the CPU time
 * each update took in this process (the driver: `client_cpu_us_per_op`) and in the database server
 * (`ferretdb_cpu_us_per_op`, when it is the local FerretDB started by deploy/local; null for a
 * MONGO_URL of your own).
 *
 * Every kit round trip makes two such writes (the outbox write and the effect-once apply), so each
 * event costs at least `kit_event_db_cpu_ms` = 2 × (client + server) for them (batching could shrink
 * the driver's share, barely the server's), and `kit_events_per_s_db_ceiling` is the rate at which
 * those writes alone fill every core of the machine (`cores`).
 * `js_json_roundtrip_us` (JSON.stringify + parse of a small event, in a loop) makes the machine's
 * speed comparable with another one's.
 */
import { availableParallelism } from 'node:os';
import mongoose from 'mongoose';
import { testConfig, uniqueName } from '../src/testing';
import { cpuMeter, summarise, type BenchRow } from '../../../bench/harness';

export const rows = ['floor-db-update'];
const DOCS = 100;
const WARMUP = 300;
const UPDATES = Number(process.env.FLOOR_UPDATES ?? 3000);
const CORES = availableParallelism();

function jsonRoundTripMicros(): number {
  const event = {
    envelope: { eventId: '6f1c0a52-8e57-4d2b-9a57-2f3c1b9d7e10', type: 'cart.line_updated', occurredAt: 1764100000000 },
    lines: [{ sku: 'SKU-1', quantity: 2 }],
  };
  const n = 200_000;
  let keep = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) keep += (JSON.parse(JSON.stringify(event)) as typeof event).lines.length;
  const us = ((performance.now() - t0) * 1000) / n;
  return keep === n ? us : NaN;
}

export async function run(): Promise<BenchRow[]> {
  const cfg = testConfig('bench-floor', { dbName: uniqueName('bench_floor') });
  const client = new mongoose.mongo.MongoClient(cfg.mongoUrl, { maxPoolSize: 1 });
  await client.connect();
  try {
    const coll = client.db(cfg.dbName).collection<{ _id: string; n: number }>('floor');
    await coll.insertMany(Array.from({ length: DOCS }, (_, i) => ({ _id: `d${i}`, n: 0 })));
    const update = (i: number) => coll.updateOne({ _id: `d${i % DOCS}` }, { $set: { n: i } });
    for (let i = 0; i < WARMUP; i++) await update(i);
    const latencies: number[] = [];
    const meter = cpuMeter(['ferretdb']);
    for (let i = 0; i < UPDATES; i++) {
      const t0 = performance.now();
      await update(i);
      latencies.push(performance.now() - t0);
    }
    const cpu = meter.per(UPDATES);
    const clientUs = cpu.client_cpu_us_per_op!;
    const serverUs = cpu.ferretdb_cpu_us_per_op;
    const perEventMs = serverUs === null ? null : (2 * (clientUs + serverUs)) / 1000;
    const r = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
    return [
      summarise('floor-db-update', latencies, {
        ...cpu,
        kit_event_db_cpu_ms: r(perEventMs),
        kit_events_per_s_db_ceiling: perEventMs === null ? null : Math.round((CORES * 1000) / perEventMs),
        cores: CORES,
        js_json_roundtrip_us: r(jsonRoundTripMicros()),
      }),
    ];
  } finally {
    // The database is left in place: FerretDB's start removes bench_* databases (deploy/local/ferretdb.sh).
    await client.close();
  }
}
