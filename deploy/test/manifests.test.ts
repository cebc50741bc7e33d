/**
 * docker-compose.yml cannot run here (no Docker engine), so it is validated: compose's own config check,
 * and it must list every service that exists under services/. The Helm chart has its own suite:
 * deploy/test/chart.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import YAML from 'yaml';

const root = join(__dirname, '..', '..');
const services = readdirSync(join(root, 'services')).filter((s) => existsSync(join(root, 'services', s, 'src', 'main.ts')));

beforeAll(
  () => {
    execFileSync('bash', [join(root, 'deploy', 'local', 'tools.sh'), 'docker-compose', 'helm', 'promtool'], {
      stdio: 'inherit',
      timeout: 15 * 60 * 1000,
    });
  },
  16 * 60 * 1000,
);

describe('docker-compose.yml', () => {
  const compose = (env: Record<string, string>) =>
    spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], {
      cwd: root,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
  const secrets = {
    BOOTSTRAP_ADMIN_PASSWORD: 'test-only',
    DELIVERY_SECRET_KEY: 'test-only',
    ERASURE_SALT: 'test-only',
    GRAFANA_ADMIN_PASSWORD: 'test-only',
  };
  interface ComposeService {
    image?: string;
    command?: string[];
    restart?: string;
    environment?: Record<string, string>;
    healthcheck?: { test: string[] };
    depends_on?: Record<string, { condition: string }>;
    volumes?: string[];
  }
  let cfg: { services: Record<string, ComposeService> };
  /** host path (relative to the repository) → container path, of a service's bind mounts */
  const mounts = (service: string): Record<string, string> =>
    Object.fromEntries(
      (cfg.services[service].volumes ?? [])
        .map((v) => v.split(':'))
        .filter(([host]) => host.startsWith(root))
        .map(([host, container]) => [relative(root, host), container]),
    );

  beforeAll(() => {
    const r = compose(secrets);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    cfg = YAML.parse(r.stdout);
  });

  it('is valid and runs every service next to Kafka, MongoDB, the Confluent registry, Prometheus and Grafana', () => {
    expect(Object.keys(cfg.services)).toEqual(
      expect.arrayContaining([...services, 'kafka', 'mongo', 'schema-registry', 'topics', 'prometheus', 'grafana']),
    );
    expect(cfg.services['schema-registry'].image).toMatch(/^confluentinc\/cp-schema-registry/);
  });

  it('checks the health of everything that runs, and starts nothing before what it needs is healthy', () => {
    // the one-shot job (it exits once the topics exist) is the only one without a healthcheck
    const oneShot = Object.keys(cfg.services).filter((name) => !cfg.services[name].healthcheck);
    expect(oneShot).toEqual(['topics']);
    for (const [name, svc] of Object.entries(cfg.services))
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {}))
        expect({ name, dep, condition }).toEqual({
          name,
          dep,
          condition: oneShot.includes(dep) ? 'service_completed_successfully' : 'service_healthy',
        });
    for (const name of services) {
      expect(Object.keys(cfg.services[name].depends_on ?? {}).sort()).toEqual(['kafka', 'mongo', 'schema-registry', 'topics']);
      // healthy = /readyz answers 200 on the service's own port
      expect(cfg.services[name].healthcheck!.test.join(' ')).toContain("process.env.PORT + '/readyz'");
    }
    expect(Object.keys(cfg.services.grafana.depends_on ?? {})).toEqual(['prometheus']);
  });

  it('runs MongoDB as a single-node replica set, initiated by its healthcheck, and the services name the set', () => {
    expect(cfg.services.mongo.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    const check = cfg.services.mongo.healthcheck!.test.join(' ');
    expect(check).toContain("rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] })");
    expect(check).toContain('isWritablePrimary');
    for (const name of services) expect(cfg.services[name].environment!.MONGO_URL).toBe('mongodb://mongo:27017/?replicaSet=rs0');
  });

  it('gives Prometheus the alert rules and a scrape config naming every service at its compose address', () => {
    const m = mounts('prometheus');
    expect(m['deploy/prometheus/alerts.yml']).toBe('/etc/prometheus/alerts.yml');
    const configPath = Object.keys(m).find((host) => m[host] === '/etc/prometheus/prometheus.yml')!;
    const prom = YAML.parse(readFileSync(join(root, configPath), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[]; labels: { service: string } }[] }[];
    };
    expect(prom.rule_files).toEqual(['alerts.yml']);
    const targets = Object.fromEntries(prom.scrape_configs.map((j) => [j.job_name, j.static_configs[0]]));
    expect(Object.keys(targets).sort()).toEqual([...services].sort());
    for (const name of services) {
      expect(targets[name].targets).toEqual([`${name}:${cfg.services[name].environment!.PORT}`]);
      expect(targets[name].labels.service).toBe(name);
    }
    // promtool reads it as Prometheus will, with the rules beside it as mounted
    const dir = mkdtempSync(join(tmpdir(), 'omnimall-prometheus-'));
    try {
      copyFileSync(join(root, configPath), join(dir, 'prometheus.yml'));
      copyFileSync(join(root, 'deploy', 'prometheus', 'alerts.yml'), join(dir, 'alerts.yml'));
      const r = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toContain('SUCCESS');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives Grafana its provisioning and the built dashboards', () => {
    expect(mounts('grafana')).toEqual({
      'deploy/grafana/provisioning/datasources': '/etc/grafana/provisioning/datasources',
      'deploy/grafana/provisioning/dashboards': '/etc/grafana/provisioning/dashboards',
      'deploy/grafana/dashboards': '/var/lib/grafana/dashboards/omnimall',
    });
    expect(cfg.services.grafana.environment!.GF_SECURITY_ADMIN_PASSWORD).toBe('test-only');
  });

  it('refuses to start identity without an admin password', () => {
    const r = compose({ ...secrets, BOOTSTRAP_ADMIN_PASSWORD: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set BOOTSTRAP_ADMIN_PASSWORD');
  });

  it('refuses to start channels without a delivery key', () => {
    const r = compose({ ...secrets, DELIVERY_SECRET_KEY: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set DELIVERY_SECRET_KEY');
  });

  it('refuses to start identity without an erasure salt', () => {
    const r = compose({ ...secrets, ERASURE_SALT: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set ERASURE_SALT');
  });

  it('refuses to start Grafana without an admin password', () => {
    const r = compose({ ...secrets, GRAFANA_ADMIN_PASSWORD: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set GRAFANA_ADMIN_PASSWORD');
  });
});
