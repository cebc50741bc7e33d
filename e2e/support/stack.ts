/**
 * Starts every omnimall service as a child process against the running local infrastructure
 * (Kafka, FerretDB, schema registry), each on a free port with a database of its own, and stops them.
 * Shared by the end-to-end test (e2e/test) and the e2e-propagation benchmark row.
 *
 * Builds nothing: `npx tsc -b` (which `make test` runs first) must have produced services/<name>/dist.
 * On the local secured Kafka each service logs in as its own principal (KAFKA_SASL_* from the local
 * credentials, unless the environment already sets them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { localKafkaEnv } from '@omnimall/service-kit/testing';

export const ROOT = resolve(__dirname, '..', '..');
export const SERVICES = [
  'identity',
  'channels',
  'catalog-sync',
  'cart',
  'inventory',
  'promotions',
  'orders',
  'audit',
  'sync-monitor',
] as const;
export type ServiceName = (typeof SERVICES)[number];

const LOG_KEEP = 64 * 1024;

export interface RunningService {
  name: ServiceName;
  url: string;
  port: number;
  db: string;
  child: ChildProcess;
  /** The tail of the child's stdout and stderr, interleaved. */
  log(): string;
}

export interface Stack {
  /** Prefix of every correlation id and consumer group of this run (the monitor tracks only these). */
  tag: string;
  admin: { email: string; password: string };
  services: Record<ServiceName, RunningService>;
  url(name: ServiceName): string;
  /** The last `chars` characters of every service's output, for a failure report. */
  logs(chars?: number): string;
  stop(): Promise<void>;
  /** Kills one service (SIGKILL unless told), as a crash would; resolves with the moment it exited. */
  kill(name: ServiceName, signal?: NodeJS.Signals): Promise<number>;
  /** Starts a killed service again (same port, database, groups and env); resolves with the moment /readyz answered 200. */
  restart(name: ServiceName, readyTimeoutMs?: number): Promise<number>;
}

export interface StackOptions {
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /**
   * Prefix of the services' database names (default the run's tag, `e2e…`). deploy/local/ferretdb.sh
   * removes `e2e*_*` databases at its start, so a run that restarts FerretDB names them otherwise.
   */
  databasePrefix?: string;
  /** Bound on each service's start (spawn → /healthz answers 200). */
  startTimeoutMs?: number;
  /** Services left out (default none): a test of other services' timing on two shared cores may leave out one nothing waits for. */
  without?: readonly ServiceName[];
}

/** A free loopback port (listened on once and released). */
/** Ports this process handed out: the OS may offer a port again once its probe closed, before its service bound it. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((ok, fail) => {
      const srv = createServer();
      srv.once('error', fail);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const found = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => ok(found));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Fails with one clear message naming every service whose build output is missing. */
export function assertBuilt(): void {
  const missing = SERVICES.filter((s) => !existsSync(join(ROOT, 'services', s, 'dist', 'main.js')));
  if (missing.length)
    throw new Error(
      `e2e: no build output for ${missing.map((s) => `services/${s}/dist/main.js`).join(', ')}; run \`npx tsc -b\` (make test does) first`,
    );
}

async function waitHealthy(svc: RunningService, deadlineMs: number, path = '/healthz'): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (svc.child.exitCode !== null || svc.child.signalCode !== null)
      throw new Error(
        `${svc.name} exited (${svc.child.exitCode ?? svc.child.signalCode}) before it was healthy:\n${svc.log().slice(-4000)}`,
      );
    try {
      const r = await fetch(`${svc.url}${path}`, { signal: AbortSignal.timeout(1000) });
      // the answer must come from this service: another process on the port (a race for it) is not it
      const body = r.ok ? ((await r.json()) as { service?: string }) : null;
      if (body && (path !== '/healthz' || body.service === svc.name)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${svc.name} not healthy after ${deadlineMs} ms:\n${svc.log().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, path === '/healthz' ? 100 : 20));
  }
}

async function stopChild(svc: RunningService, graceMs = 12_000): Promise<void> {
  const c = svc.child;
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((ok) => c.once('exit', () => ok()));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if the runner exits without afterAll (crash, timeout): never leave services behind.
  process.once('exit', () => {
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

/** Generates the ES256 key pair, spawns the five services in parallel and waits until each is healthy. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  assertBuilt();
  installExitHook();
  const tag = `e2e${randomBytes(4).toString('hex')}`;
  const keyDir = mkdtempSync(join(tmpdir(), 'omnimall-e2e-'));
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = join(keyDir, 'auth-public.pem');
  const priv = join(keyDir, 'auth-private.pem');
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const admin = { email: `admin+${tag}@omnimall.test`, password: `pw-${randomBytes(8).toString('hex')}` };
  const deliveryKey = randomBytes(32).toString('hex');

  const services = {} as Record<ServiceName, RunningService>;
  const all = (): RunningService[] => Object.values(services);
  const stop = async (): Promise<void> => {
    await Promise.all(all().map((s) => stopChild(s)));
    for (const s of all()) live.delete(s.child);
    rmSync(keyDir, { recursive: true, force: true });
  };

  const spawnService = (name: ServiceName, port: number, db: string, earlierLog = ''): RunningService => {
    // E2E_NODE_ARGS: extra node flags for every service (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p` to profile a run).
    const nodeArgs = (process.env.E2E_NODE_ARGS ?? '').split(' ').filter(Boolean);
    // Each service runs as it does in production (`node dist/main.js`), with consumer groups of this
    // run's own that start at the end of each topic: on the shared local Kafka, the production groups
    // either replay every topic from its beginning or are shared with whatever else runs them.
    const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'services', name, 'dist', 'main.js')], {
      cwd: join(ROOT, 'services', name),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        // the credentials of the broker the stack uses (opts.env may name a Kafka of a test's own)
        ...localKafkaEnv(name, { ...process.env, ...opts.env }),
        LOG_SILENT: '0',
        PORT: String(port),
        HOST: '127.0.0.1',
        MONGO_DB: db,
        AUTH_PUBLIC_KEY_FILE: pub,
        // Only identity signs tokens; the others verify with the public key.
        ...(name === 'identity' ? { AUTH_PRIVATE_KEY_FILE: priv, OMNIMALL_LOCAL: 'true' } : {}),
        // channels encrypts the password-reset tokens of stored deliveries with a key of this run's own.
        ...(name === 'channels' ? { DELIVERY_SECRET_KEY: deliveryKey } : {}),
        BOOTSTRAP_ADMIN_EMAIL: admin.email,
        BOOTSTRAP_ADMIN_PASSWORD: admin.password,
        LOG_LEVEL: 'warn',
        INSTANCE_ID: `${name}-${tag}`,
        OMNIMALL_GROUP_SUFFIX: `.${tag}`,
        OMNIMALL_START_AT: 'end',
        // The monitor tracks only this run's events (other engineers' traffic on the same Kafka would flood it).
        SYNC_TRACK_CORRELATION_PREFIX: tag,
        DELIVERY_POLL_INTERVAL_MS: '200',
        SYNC_SWEEP_INTERVAL_MS: '200',
        SYNC_RETRY_INTERVAL_MS: '2000',
        ESCALATE_AFTER_MS: '30000',
        CONSUMER_LAG_INTERVAL_MS: '10000',
        ...opts.env,
      },
    });
    live.add(child);
    let buf = earlierLog;
    const keep = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      if (buf.length > LOG_KEEP) buf = buf.slice(-LOG_KEEP);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    services[name] = { name, url: `http://127.0.0.1:${port}`, port, db, child, log: () => buf };
    return services[name];
  };

  try {
    for (const name of SERVICES.filter((s) => !opts.without?.includes(s))) {
      const port = await freePort();
      spawnService(name, port, `${opts.databasePrefix ?? tag}_${name.replace(/-/g, '_')}`);
    }
    await Promise.all(all().map((s) => waitHealthy(s, opts.startTimeoutMs ?? 60_000)));
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    tag,
    admin,
    services,
    url: (name) => services[name].url,
    logs: (chars = 3000) =>
      all()
        .map(
          (s) =>
            `----- ${s.name} (${s.url}, db ${s.db}, exit ${s.child.exitCode ?? s.child.signalCode ?? 'running'}) -----\n${s.log().slice(-chars) || '(no output)'}`,
        )
        .join('\n'),
    stop,
    kill: async (name, signal = 'SIGKILL') => {
      const c = services[name].child;
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((ok) => c.once('exit', () => ok()));
        c.kill(signal);
        await exited;
      }
      live.delete(c);
      return Date.now();
    },
    restart: async (name, readyTimeoutMs = 60_000) => {
      const old = services[name];
      if (old.child.exitCode === null && old.child.signalCode === null) throw new Error(`${name} is still running: kill it first`);
      const svc = spawnService(name, old.port, old.db, `${old.log()}\n----- restarted -----\n`);
      await waitHealthy(svc, readyTimeoutMs, '/readyz');
      return Date.now();
    },
  };
}

/**
 * A runner of test bodies whose failures carry the tail of every service's output (the stack is read
 * when a body fails, so it may be started inside the first body).
 */
export function logsOnFailure(current: () => Stack | undefined, chars = 3000): (body: () => Promise<void>) => Promise<void> {
  return async (body) => {
    try {
      await body();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      e.message += `\n\n===== service output (tails) =====\n${current()?.logs(chars) ?? '(stack not started)'}`;
      throw e;
    }
  };
}
