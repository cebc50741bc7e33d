/**
 * A service instance in a child process of its own, for the benchmarks: the load generator and the
 * timing consumers stay off the server's event loop, and the instance's CPU can be read on its own.
 * `script` is a bench file that runs the service with `runService` and prints `{"url": ...}` once it
 * serves (see services/promotions/bench/promotions-process.ts). On the local secured Kafka the child
 * logs in as the service's principal (the admin's where the local credentials have none yet).
 * BENCH_NODE_ARGS: extra node flags (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`). Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import type { GroupSettings } from '@omnimall/service-kit';
import { localKafkaEnv, uniqueName } from '@omnimall/service-kit/testing';

const START_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ServiceProcessOptions {
  /** The service's name: its Kafka principal and the instance id's prefix. */
  service: string;
  script: string;
  dbName: string;
  groups: GroupSettings;
  publicKey: string;
  env?: Record<string, string>;
}

export async function spawnService(o: ServiceProcessOptions): Promise<ServiceProcess> {
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', o.script], {
    env: {
      ...process.env,
      ...localKafkaEnv(o.service, process.env, { fallbackToAdmin: true }),
      MONGO_DB: o.dbName,
      INSTANCE_ID: uniqueName(`${o.service}-bench`),
      AUTH_PUBLIC_KEY: o.publicKey,
      OMNIMALL_GROUP_SUFFIX: o.groups.suffix,
      OMNIMALL_START_AT: o.groups.startAt ?? 'end',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`${o.service} process exited with ${String(code)} before serving`)));
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${o.service} process not serving after ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
  });
  // The log shares stdout: the URL is the first line carrying one (the rest is still read, so the child never blocks).
  const serving = new Promise<string>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const url = (JSON.parse(line) as { url?: unknown }).url;
        if (typeof url === 'string') resolve(url);
      } catch {
        // a log line that is not JSON
      }
    });
  });
  const url = await Promise.race([serving, failed]).finally(() => clearTimeout(timer));
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(kill);
    },
  };
}

export interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a reply body read as the API documents it
  body: any;
}

/** HTTP calls on one keep-alive agent, the body parsed as JSON when there is one; each call bounded. */
export function jsonClient(maxSockets = 128): {
  call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Reply>;
  close(): void;
} {
  const agent = new Agent({ keepAlive: true, maxSockets });
  return {
    call(base, method, path, headers, body) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const { hostname, port } = new URL(base);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            hostname,
            port,
            method,
            path,
            headers: {
              ...headers,
              ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString();
              let parsed: unknown = text;
              try {
                parsed = text ? JSON.parse(text) : null;
              } catch {
                // not JSON: kept as text
              }
              resolve({ status: res.statusCode ?? 0, body: parsed });
            });
          },
        );
        req.setTimeout(CALL_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: no answer within ${CALL_TIMEOUT_MS} ms`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}
