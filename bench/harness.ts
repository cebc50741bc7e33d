/** Shared pieces of the benchmark rows: the row format, percentiles, an open-loop rate driver and a CPU meter. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
export interface BenchRow {
  name: string;
  target_rate?: number;
  achieved_rate?: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  samples: number;
  [extra: string]: unknown;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarise(name: string, latencies: number[], extra: Partial<BenchRow> = {}): BenchRow {
  const s = [...latencies].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { name, p50_ms: r(percentile(s, 50)), p95_ms: r(percentile(s, 95)), p99_ms: r(percentile(s, 99)), samples: s.length, ...extra };
}

/**
 * Open-loop load: calls `fire(i)` `rate` times a second for `seconds`, without waiting for earlier
 * calls (so a slow system shows up as latency, not as a politely lower rate). Returns the achieved
 * rate of completed calls.
 */
export async function drive(
  rate: number,
  seconds: number,
  fire: (i: number) => Promise<void>,
): Promise<{ achieved: number; errors: number }> {
  const started = Date.now();
  const total = rate * seconds;
  const inflight: Promise<void>[] = [];
  let errors = 0;
  let completed = 0;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      fire(i).then(
        () => void completed++,
        () => void errors++,
      ),
    );
  }
  await Promise.all(inflight);
  const elapsed = (Date.now() - started) / 1000;
  return { achieved: Math.round((completed / elapsed) * 10) / 10, errors };
}

export const benchSeconds = (fallback: number): number => Number(process.env.BENCH_SECONDS ?? fallback);

/** For a bench file's `require.main === module` block: runs its rows alone and prints them as `make bench` does. */
export function runStandalone(run: () => Promise<BenchRow[]>): void {
  run().then(
    (rows) => {
      console.table(rows);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** The local servers deploy/local starts, whose CPU a row can report. */
export type LocalServer = 'ferretdb' | 'kafka';

/**
 * CPU seconds a local server has used so far, read from /proc through its pidfile; null when it is
 * not ours (MONGO_URL or KAFKA_BROKERS point elsewhere) or cannot be read.
 */
export function serverCpuSeconds(server: LocalServer): number | null {
  if (server === 'ferretdb' && process.env.MONGO_URL) return null;
  if (server === 'kafka' && process.env.KAFKA_BROKERS) return null;
  try {
    const data = process.env.OMNIMALL_DATA ?? join(__dirname, '..', '.local-data');
    return processCpuSeconds(Number(readFileSync(join(data, 'run', `${server}.pid`), 'utf8').trim()));
  } catch {
    return null;
  }
}

/** CPU seconds a process of this machine has used so far (from /proc); null when it cannot be read. */
export function processCpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in ticks of 10 ms
  } catch {
    return null;
  }
}

/**
 * Measures the CPU a stretch of work cost, per operation: in this process (`client`), in each local
 * server, and in each named process the row started (a service, say: `{ cart: child.pid }` reports
 * `cart_cpu_us_per_op`). `per(n)` returns microseconds per operation, rounded; what it cannot read is null.
 */
export function cpuMeter(
  servers: readonly LocalServer[] = ['ferretdb', 'kafka'],
  processes: Record<string, number | undefined> = {},
): {
  per(n: number): Record<string, number | null>;
} {
  const client0 = process.cpuUsage();
  const sources: Array<[string, () => number | null]> = [
    ...servers.map((s): [string, () => number | null] => [s, () => serverCpuSeconds(s)]),
    ...Object.entries(processes).map(([name, pid]): [string, () => number | null] => [name, () => processCpuSeconds(pid)]),
  ];
  const before = sources.map(([, read]) => read());
  return {
    per(n) {
      const c = process.cpuUsage(client0);
      const out: Record<string, number | null> = { client_cpu_us_per_op: Math.round((c.user + c.system) / n) };
      sources.forEach(([name, read], i) => {
        const now = read();
        const was = before[i];
        out[`${name}_cpu_us_per_op`] = now === null || was === null ? null : Math.round(((now - was) * 1e6) / n);
      });
      return out;
    },
  };
}
