/**
 * floor-db-update: what one database round trip costs on this machine, below any code of ours.
 * One client (the driver mongoose ships, without mongoose) updates documents by _id one at a time,
 * the cheapest write the outbox or an effect-once apply can make, and the row reports the CPU time
 * each update took in this process (the driver) and in the database server (when it is the local
 * FerretDB started by deploy/local, read from its /proc entry; null for a MONGO_URL of your own).
 *
 * Every kit round trip makes two such writes (the outbox write and the effect-once apply), so
 * `kit_event_db_cpu_ms` = 2 × (client + server) is CPU no batching of ours can avoid on the server
 * side, and `kit_events_per_s_db_ceiling` is the rate at which those writes alone fill both cores.
 * `js_json_roundtrip_us` (JSON.stringify + parse of a small event, in a loop) makes the machine's
 * speed comparable with another one's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { testConfig, uniqueName } from '../src/testing';
import { summarise, type BenchRow } from '../../../bench/harness';

export const rows = ['floor-db-update'];
const DOCS = 100;
const WARMUP = 300;
const UPDATES = Number(process.env.FLOOR_UPDATES ?? 3000);
const CORES = 2;

/** CPU seconds the local FerretDB has used so far, or null when it is not ours (MONGO_URL) or not found. */
function ferretCpuSeconds(): number | null {
  if (process.env.MONGO_URL) return null;
  try {
    const data = process.env.OMNIMALL_DATA ?? join(__dirname, '..', '..', '..', '.local-data');
    const pid = readFileSync(join(data, 'run', 'ferretdb.pid'), 'utf8').trim();
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return null;
  }
}

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
    const server0 = ferretCpuSeconds();
    const client0 = process.cpuUsage();
    for (let i = 0; i < UPDATES; i++) {
      const t0 = performance.now();
      await update(i);
      latencies.push(performance.now() - t0);
    }
    const clientCpu = process.cpuUsage(client0);
    const server1 = ferretCpuSeconds();
    const clientUs = (clientCpu.user + clientCpu.system) / UPDATES;
    const serverUs = server0 === null || server1 === null ? null : ((server1 - server0) * 1e6) / UPDATES;
    const perEventMs = serverUs === null ? null : (2 * (clientUs + serverUs)) / 1000;
    const r = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
    return [
      summarise('floor-db-update', latencies, {
        client_cpu_us_per_update: Math.round(clientUs),
        server_cpu_us_per_update: serverUs === null ? null : Math.round(serverUs),
        kit_event_db_cpu_ms: r(perEventMs),
        kit_events_per_s_db_ceiling: perEventMs === null ? null : Math.round((CORES * 1000) / perEventMs),
        js_json_roundtrip_us: r(jsonRoundTripMicros()),
      }),
    ];
  } finally {
    await client
      .db(cfg.dbName)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  }
}
