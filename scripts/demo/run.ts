/**
 * `make demo`: seeds a small business on the running platform (`make up`) over its public APIs, plays
 * the seed's scenarios printing each step's measured propagation time, points at the ops dashboard
 * and keeps light traffic going for it.
 *
 *   node --import tsx scripts/demo/run.ts
 *
 * Environment (all optional): IDENTITY_URL, CHANNELS_URL, CATALOG_SYNC_URL, CART_URL, INVENTORY_URL,
 * PROMOTIONS_URL, ORDERS_URL, AUDIT_URL, SYNC_MONITOR_URL (default http://127.0.0.1:<the fixed port>;
 * loopback only); DEMO_ADMIN_EMAIL / DEMO_ADMIN_PASSWORD (default BOOTSTRAP_ADMIN_EMAIL / _PASSWORD, else
 * platform.sh's defaults); DEMO_TAG (names and correlation ids; default demo<random>); DEMO_PRODUCTS
 * (300); DEMO_TRAFFIC=0 (no live traffic) or DEMO_TRAFFIC_SECONDS (60).
 *
 * Exit status: 0 when every scenario met its expectation; 1 when a seed step or a scenario failed (the
 * step is named); 2 when the platform is not running.
 */
import { Omnimall } from '../../e2e/support/omnimall';
import type { ServiceName } from '../../e2e/support/stack';
import { configFrom, DEFAULT_PORTS, say, StepFailed, urlVariable, type DemoConfig } from './config';
import { playScenarios, TARGET_MS } from './scenarios';
import { seed } from './seed';
import { liveTraffic } from './traffic';

/** The services that do not answer /healthz. */
async function unreachable(cfg: DemoConfig): Promise<string[]> {
  const down = await Promise.all(
    (Object.keys(DEFAULT_PORTS) as ServiceName[]).map(async (service) => {
      try {
        const r = await fetch(`${cfg.url(service)}/healthz`, { signal: AbortSignal.timeout(3000) });
        return r.ok ? null : `${service} (${cfg.url(service)}: ${r.status})`;
      } catch {
        return `${service} (${cfg.url(service)})`;
      }
    }),
  );
  return down.filter((x): x is string => x !== null);
}

async function main(): Promise<number> {
  const cfg = configFrom();
  say(`omnimall demo ${cfg.tag}: a small business seeded and its scenarios played over the public APIs`);
  const down = await unreachable(cfg);
  if (down.length) {
    say(`the platform is not running: no answer from ${down.join(', ')}`);
    say('start it with `make up` in another terminal (or point the *_URL variables, e.g. ' + urlVariable('catalog-sync') + ', at it)');
    return 2;
  }
  const api = new Omnimall(cfg);
  let seeded;
  try {
    seeded = await seed(api, cfg);
  } catch (err) {
    const step = err instanceof StepFailed ? err.step : 'seed';
    say(`FAILED while seeding, at step "${step}": ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }

  const outcomes = await playScenarios(api, cfg, seeded);
  say('');
  say(`summary (times from the causing response to the first observation on the other channel; target ${TARGET_MS} ms):`);
  for (const o of outcomes)
    say(
      o.ok
        ? `  ✓ ${o.name.padEnd(12)} ${o.steps.map((x) => `${x.ms} ms`).join(', ')}`
        : `  ✗ ${o.name.padEnd(12)} failed at "${o.failure!.step}": ${o.failure!.message}`,
    );
  const failed = outcomes.filter((o) => !o.ok);
  say('');
  say(
    `ops dashboard: ${cfg.url('sync-monitor')}/dashboard/ (sign in with an admin access token: POST ${cfg.url('identity')}/auth/staff/login, see the README's quick start)`,
  );
  if (cfg.trafficSeconds > 0) await liveTraffic(api, cfg, seeded, cfg.trafficSeconds);
  if (failed.length) {
    say(
      `${failed.length} of ${outcomes.length} scenarios failed: ${failed.map((o) => `${o.name} (step "${o.failure!.step}")`).join(', ')}`,
    );
    return 1;
  }
  say(`all ${outcomes.length} scenarios passed`);
  return 0;
}

// Exits explicitly: idle keep-alive connections to the services would otherwise hold the process a while.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
