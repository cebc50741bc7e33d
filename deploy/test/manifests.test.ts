/**
 * docker-compose.yml and the Helm chart cannot run here (no Docker engine, no cluster), so they are
 * validated: compose's own config check, helm lint and helm template, and both must list every
 * service that exists under services/.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

const root = join(__dirname, '..', '..');
const services = readdirSync(join(root, 'services')).filter((s) => existsSync(join(root, 'services', s, 'src', 'main.ts')));

beforeAll(
  () => {
    execFileSync('bash', [join(root, 'deploy', 'local', 'tools.sh'), 'docker-compose', 'helm'], {
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

  it('is valid and runs every service next to Kafka, MongoDB and the Confluent registry', () => {
    const r = compose({ BOOTSTRAP_ADMIN_PASSWORD: 'test-only', DELIVERY_SECRET_KEY: 'test-only', ERASURE_SALT: 'test-only' });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    const cfg = YAML.parse(r.stdout) as { services: Record<string, { image?: string }> };
    expect(Object.keys(cfg.services)).toEqual(expect.arrayContaining([...services, 'kafka', 'mongo', 'schema-registry', 'topics']));
    expect(cfg.services['schema-registry'].image).toMatch(/^confluentinc\/cp-schema-registry/);
  });

  it('refuses to start identity without an admin password', () => {
    const r = compose({ BOOTSTRAP_ADMIN_PASSWORD: '', DELIVERY_SECRET_KEY: 'test-only', ERASURE_SALT: 'test-only' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set BOOTSTRAP_ADMIN_PASSWORD');
  });

  it('refuses to start channels without a delivery key', () => {
    const r = compose({ BOOTSTRAP_ADMIN_PASSWORD: 'test-only', DELIVERY_SECRET_KEY: '', ERASURE_SALT: 'test-only' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set DELIVERY_SECRET_KEY');
  });

  it('refuses to start identity without an erasure salt', () => {
    const r = compose({ BOOTSTRAP_ADMIN_PASSWORD: 'test-only', DELIVERY_SECRET_KEY: 'test-only', ERASURE_SALT: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set ERASURE_SALT');
  });
});

describe('the Helm chart', () => {
  const chart = join(root, 'charts', 'omnimall');

  it('passes helm lint', () => {
    const r = spawnSync('helm', ['lint', chart], { encoding: 'utf8' });
    expect(r.stdout).toContain('0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it('renders a probed Deployment and a Service for every service; only identity gets the signing key', () => {
    const out = execFileSync('helm', ['template', 'omnimall', chart], { encoding: 'utf8' });
    const docs = YAML.parseAllDocuments(out)
      .map((d) => d.toJSON())
      .filter(Boolean) as { kind: string; metadata: { name: string }; spec: any }[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const name of services) {
      const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name);
      expect(deployment).toBeDefined();
      expect(docs.some((d) => d.kind === 'Service' && d.metadata.name === name)).toBe(true);
      const container = deployment!.spec.template.spec.containers[0];
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      const signs = container.env.some((e: { name: string }) => e.name === 'AUTH_PRIVATE_KEY_FILE');
      expect(signs).toBe(name === 'identity');
      // channels reads its delivery key from a Secret
      const deliveryKey = container.env.find((e: { name: string }) => e.name === 'DELIVERY_SECRET_KEY');
      expect(deliveryKey?.valueFrom?.secretKeyRef ?? null).toEqual(
        name === 'channels' ? { name: 'omnimall-channels', key: 'delivery-secret-key' } : null,
      );
    }
    expect(docs.some((d) => d.kind === 'Job' && d.metadata.name === 'omnimall-topics')).toBe(true);
  });

  it('keeps /metrics off the API port: a metrics port of its own, reachable only from the monitoring namespace', () => {
    const out = execFileSync('helm', ['template', 'omnimall', chart], { encoding: 'utf8' });
    const docs = YAML.parseAllDocuments(out)
      .map((d) => d.toJSON())
      .filter(Boolean) as { kind: string; metadata: { name: string }; spec: any }[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const name of services) {
      const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name)!;
      const container = deployment.spec.template.spec.containers[0];
      const metricsPort = container.env.find((e: { name: string }) => e.name === 'METRICS_PORT')?.value;
      const apiPort = container.env.find((e: { name: string }) => e.name === 'PORT')?.value;
      expect(metricsPort).toBeDefined();
      expect(metricsPort).not.toBe(apiPort);
      expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(metricsPort);
      // the Service exposes the API port only
      const service = docs.find((d) => d.kind === 'Service' && d.metadata.name === name)!;
      expect(service.spec.ports.map((p: { name: string }) => p.name)).toEqual(['http']);
      const policy = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === name)!;
      expect(policy.spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe(name);
      const metricsRule = policy.spec.ingress.find((r: { ports: { port: string }[] }) => r.ports.some((p) => p.port === 'metrics'));
      expect(metricsRule.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
      const open = policy.spec.ingress.filter((r: { from?: unknown }) => !r.from);
      expect(open.flatMap((r: { ports: { port: string }[] }) => r.ports.map((p) => p.port))).toEqual(['http']);
    }
    // identity's erasure salt comes from a Secret
    const identity = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'identity')!;
    const salt = identity.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'ERASURE_SALT');
    expect(salt.valueFrom.secretKeyRef).toEqual({ name: 'omnimall-identity', key: 'erasure-salt' });
  });
});
