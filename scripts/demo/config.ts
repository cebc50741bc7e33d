/**
 * Where the demo finds the platform and how it reports. Every value comes from the environment, with
 * the addresses and bootstrap admin `make up` (deploy/local/platform.sh) uses as defaults.
 */
import { randomBytes } from 'node:crypto';
import type { ServiceName } from '../../e2e/support/stack';

/** The fixed ports of `make up` (the Helm chart and docker-compose.yml use the same numbers). */
export const DEFAULT_PORTS: Record<ServiceName, number> = {
  identity: 4001,
  channels: 4002,
  'catalog-sync': 4003,
  cart: 4005,
  inventory: 4006,
  promotions: 4007,
  orders: 4008,
  audit: 4009,
  'sync-monitor': 4010,
};

/** The variable naming a service's base URL: IDENTITY_URL, CATALOG_SYNC_URL, SYNC_MONITOR_URL, … */
export const urlVariable = (service: ServiceName): string => `${service.toUpperCase().replace(/-/g, '_')}_URL`;

export interface DemoConfig {
  /** Prefix of every correlation id (a monitor restricted to a prefix tracks only these) and of the run's names. */
  tag: string;
  admin: { email: string; password: string };
  url(service: ServiceName): string;
  /** Products to seed. */
  products: number;
  /** Seconds of live traffic after the scenarios (0: none). */
  trafficSeconds: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name}=${raw}: expected an integer from 0 to ${max}`);
  return n;
}

export function configFrom(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const urls = new Map<ServiceName, string>();
  for (const [service, port] of Object.entries(DEFAULT_PORTS) as [ServiceName, number][]) {
    const url = (env[urlVariable(service)] || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
    const host = new URL(url).hostname;
    // the demo's traffic is meant for this machine's platform only
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host))
      throw new Error(`${urlVariable(service)}=${url}: the demo drives a platform on this machine only (127.0.0.1, localhost or [::1])`);
    urls.set(service, url);
  }
  const tag = env.DEMO_TAG || `demo${randomBytes(3).toString('hex')}`;
  if (!/^[a-z][a-z0-9]{1,15}$/.test(tag)) throw new Error(`DEMO_TAG=${tag}: 2-16 lower-case letters and digits, starting with a letter`);
  return {
    tag,
    admin: {
      email: env.DEMO_ADMIN_EMAIL || env.BOOTSTRAP_ADMIN_EMAIL || 'admin@omnimall.local',
      password: env.DEMO_ADMIN_PASSWORD || env.BOOTSTRAP_ADMIN_PASSWORD || 'change-me-now-please',
    },
    url: (service) => urls.get(service)!,
    products: int(env, 'DEMO_PRODUCTS', 300, 5000),
    trafficSeconds: env.DEMO_TRAFFIC === '0' ? 0 : int(env, 'DEMO_TRAFFIC_SECONDS', 60, 3600),
  };
}

/** One printed line per step: `[demo] <text>`, flushed as it happens. */
export const say = (text: string): void => {
  process.stdout.write(`[demo] ${text}\n`);
};

/** A step that can fail: its name is what a failure report names. */
export class StepFailed extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export async function step<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw err instanceof StepFailed ? err : new StepFailed(name, err);
  }
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
