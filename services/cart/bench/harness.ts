/**
 * What both cart benchmarks share: cart instances in child processes on one bench database, a
 * simulator seeding channels and items through their real events, an open-loop load generator, and
 * percentiles. Loopback only; every loop is bounded in count and time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mongoose from 'mongoose';
import type { GroupSettings } from '@omnimall/service-kit';
import { localKafkaEnv, testGroups, testTokens, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { itemId } from '../src/domain/trading';
import { Simulator } from '../test/support';

export type { BenchRow } from '../../../bench/harness';

export interface CartProcess {
  url: string;
  instanceId: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A cart process on the bench database; every process of one world shares its consumer groups. */
export async function spawnCart(env: { dbName: string; groups: GroupSettings; publicKey: string }): Promise<CartProcess> {
  const instanceId = uniqueName('cart-bench');
  // BENCH_NODE_ARGS: extra node flags for the cart processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(__dirname, 'cart-process.ts')], {
    env: {
      ...process.env,
      // the cart's own Kafka principal on the local SASL broker (as the services run there)
      ...localKafkaEnv('cart', process.env, { fallbackToAdmin: true }),
      MONGO_DB: env.dbName,
      INSTANCE_ID: instanceId,
      AUTH_PUBLIC_KEY: env.publicKey,
      OMNIMALL_GROUP_SUFFIX: env.groups.suffix,
      OMNIMALL_START_AT: env.groups.startAt ?? 'end',
      LOG_SILENT: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`cart process exited with ${code} before serving`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    instanceId,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** A bench world: its database, consumer groups (from the end of each topic), token keys, and a simulator. */
export async function benchWorld() {
  const dbName = uniqueName('bench_cart');
  const groups = testGroups();
  const { publicKey } = await testTokens();
  const sim = await Simulator.start();
  const db = await mongoose.createConnection(process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017', { dbName }).asPromise();
  return {
    dbName,
    groups,
    publicKey,
    sim,
    /** Seeds channels and items and waits until the instances' projections hold them. */
    async seed(channels: string[], skus: string[]): Promise<void> {
      for (const c of channels) await sim.channel(c);
      for (const c of channels) for (const s of skus) await sim.item(c, s);
      const ids = channels.flatMap((c) => skus.map((s) => itemId(c, s)));
      await waitFor(
        async () => (await db.collection('local_items').countDocuments({ _id: { $in: ids } } as never)) === ids.length,
        'the seeded items projected',
        30000,
        100,
      );
      await waitFor(
        async () => (await db.collection('channels').countDocuments({ _id: { $in: channels } } as never)) === channels.length,
        'the seeded channels projected',
        30000,
        100,
      );
    },
    async close(): Promise<void> {
      await db.close();
      await sim.stop();
    },
  };
}

/**
 * Open loop: request i is due at start + i / rate whatever earlier requests are doing, and its
 * latency counts from when it was due (so a stalled server shows up as latency, not as fewer sends).
 * Requests still unanswered `drainMs` after the last send count with their age then (a lower bound)
 * and are reported as `unfinished`.
 */
export async function openLoop(
  rate: number,
  durationMs: number,
  send: (i: number) => Promise<boolean>,
  drainMs = 15000,
): Promise<{ latencies: number[]; errors: number; unfinished: number; elapsedMs: number }> {
  const total = Math.round((rate * durationMs) / 1000);
  const latencies: number[] = [];
  const pending = new Map<number, number>();
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.set(i, due);
    inFlight.push(
      send(i).then(
        (ok) => {
          pending.delete(i);
          if (ok) latencies.push(performance.now() - due);
          else errors++;
        },
        () => {
          pending.delete(i);
          errors++;
        },
      ),
    );
  }
  const elapsedMs = performance.now() - start;
  await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, drainMs))]);
  const now = performance.now();
  const unfinished = pending.size;
  for (const due of pending.values()) latencies.push(now - due);
  return { latencies, errors, unfinished, elapsedMs };
}

export function percentiles(values: number[]): { p50_ms: number; p95_ms: number; p99_ms: number; max_ms: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => (s.length ? Number(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)].toFixed(2)) : NaN);
  return { p50_ms: at(0.5), p95_ms: at(0.95), p99_ms: at(0.99), max_ms: at(1) };
}
