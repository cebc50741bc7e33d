import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceMetrics } from '@omnimall/service-kit';
import { MonitorMetrics } from '../src/metrics';

const ROOT = join(__dirname, '..', '..', '..');
const DIR = join(ROOT, 'deploy/prometheus');
const promtool = (...args: string[]): string =>
  execFileSync('promtool', args, { cwd: DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  // Installs Debian's prometheus package (promtool) on a fresh machine; a no-op when present.
  execFileSync('bash', [join(ROOT, 'deploy/local/tools.sh'), 'promtool'], { stdio: 'inherit', timeout: 600_000 });
}, 600_000);

describe('deploy/prometheus', () => {
  it('the scrape config is valid and scrapes every service on its port', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS');
    const yml = readFileSync(join(DIR, 'prometheus.yml'), 'utf8');
    for (const [job, port] of [
      ['identity', 4001],
      ['channels', 4002],
      ['catalog-sync', 4003],
      ['cart', 4005],
      ['sync-monitor', 4010],
    ] as const) {
      expect(yml).toMatch(new RegExp(`job_name: ${job}\\n[\\s\\S]*?targets: \\['127\\.0\\.0\\.1:${port}'\\]`));
    }
  });

  it('the alert rules are valid and fire on the conditions they promise (promtool test rules)', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toContain('SUCCESS: 6 rules found');
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });

  it('every metric the rules use is one a service exports', async () => {
    const kit = new ServiceMetrics('sync-monitor');
    const mon = new MonitorMetrics(kit);
    mon.lag.labels('t', 'c', 'none').observe(0.1);
    const exported = await kit.registry.metrics();
    const rules = readFileSync(join(DIR, 'alerts.yml'), 'utf8');
    const used = [...new Set(rules.match(/omnimall_[a-z_]+/g))];
    expect(used.sort()).toEqual([
      'omnimall_consumer_group_lag',
      'omnimall_events_dead_lettered_total',
      'omnimall_propagation_lag_seconds_bucket',
      'omnimall_sync_monitor_behind_seconds',
      'omnimall_sync_open_escalations',
    ]);
    for (const name of used) expect(exported).toContain(`# TYPE ${name.replace(/_bucket$/, '')} `);
    expect(exported).toContain('omnimall_propagation_lag_seconds_bucket{le="2"');
  });
});
