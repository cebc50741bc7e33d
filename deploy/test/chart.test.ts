/**
 * The Helm chart (charts/omnimall) cannot be installed here (no cluster), so it is checked as far as a cluster
 * would check it: helm lint --strict and helm template with the default and the production values, its
 * values.schema.json refusing bad values with a readable message, the rendered manifests validated against the
 * Kubernetes API's schemas (kubernetes-validate, schemas shipped in its PyPI package) and the Prometheus
 * Operator's CRD schemas (@kubernetes-models/prometheus-operator, shipped in its npm package), and the
 * properties the chart promises: hardened pods, budgets, autoscaling, fenced networks, the alert rules of
 * deploy/prometheus, Secrets referenced and never inlined, and an entry for every service under services/.
 * The validators are installed once by deploy/local/tools.sh (cached); nothing is downloaded when they run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are free-form Kubernetes objects */
type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: any;
};

const root = join(__dirname, '..', '..');
const chart = join(root, 'charts', 'omnimall');
const production = join(chart, 'values-production.yaml');
const services = readdirSync(join(root, 'services')).filter((s) => existsSync(join(root, 'services', s, 'src', 'main.ts')));
// Where deploy/local/tools.sh links @kubernetes-models/prometheus-operator (ESM-only: imported by path).
const kubernetesModels = '/usr/local/lib/omnimall-kubernetes-models/node_modules/@kubernetes-models/prometheus-operator';
// The Kubernetes versions the manifests must be valid for: the oldest one the chart supports (matchLabelKeys of
// topologySpreadConstraints is on by default from 1.27) and the newest one the validator knows.
const kubeVersions = ['1.27.0', '1.37.0'];

beforeAll(
  () => {
    execFileSync('bash', [join(root, 'deploy', 'local', 'tools.sh'), 'helm', 'promtool', 'kubernetes-validate', 'kubernetes-models'], {
      stdio: 'inherit',
      timeout: 15 * 60 * 1000,
    });
  },
  16 * 60 * 1000,
);

const helm = (...args: string[]) => spawnSync('helm', args, { encoding: 'utf8' });

const rendered = new Map<string, string>();
/** helm template's documents (each call gets its own copy; one helm run per set of arguments). */
function render(...args: string[]): Doc[] {
  const key = JSON.stringify(args);
  if (!rendered.has(key)) {
    const r = helm('template', 'omnimall', chart, '--namespace', 'omnimall', ...args);
    if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed: ${r.stderr}`);
    rendered.set(key, r.stdout);
  }
  return YAML.parseAllDocuments(rendered.get(key)!)
    .map((d) => d.toJSON())
    .filter(Boolean) as Doc[];
}

/** Every flag on: what the validators must see at least once. */
const everything = [
  '-f',
  production,
  '--set',
  'services.orders.autoscaling.consumerLag.enabled=true,services.orders.autoscaling.consumerLag.averageValue=200',
];

const find = (docs: Doc[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
const container = (d: Doc) => d.spec.template.spec.containers[0];
const envOf = (d: Doc, name: string) => container(d).env.find((e: { name: string }) => e.name === name);
const valuesOf = (file: string) => YAML.parse(readFileSync(file, 'utf8'));

describe('helm lint --strict and helm template', () => {
  it.each([
    ['the default values', [] as string[]],
    ['values-production.yaml', ['-f', production]],
  ])('pass with %s', (_name, args) => {
    const lint = helm('lint', '--strict', chart, ...args);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(lint.status).toBe(0);
    const docs = render(...args);
    expect(docs.length).toBeGreaterThan(services.length * 4);
  });

  it('gives every service under services/ its entry in both values files and its objects', () => {
    const defaults = render();
    const prod = render('-f', production);
    for (const file of [join(chart, 'values.yaml'), production]) {
      expect(Object.keys(valuesOf(file).services).sort()).toEqual([...services].sort());
    }
    for (const docs of [defaults, prod]) {
      for (const name of services) {
        for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy']) {
          expect({ name, kind, found: Boolean(find(docs, kind, name)) }).toEqual({ name, kind, found: true });
        }
      }
    }
    expect(find(defaults, 'Job', 'omnimall-topics')).toBeDefined();
  });
});

describe('values.schema.json', () => {
  const refused = (set: string) => {
    const r = helm('template', 'omnimall', chart, '--set', set);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema(s)");
    return r.stderr;
  };

  it('refuses a value of the wrong type, naming the key and the types', () => {
    expect(refused('services.cart.replicas=two')).toContain('services.cart.replicas: Invalid type. Expected: integer, given: string');
    expect(refused('networkPolicy.enabled=maybe')).toContain('networkPolicy.enabled: Invalid type. Expected: boolean, given: string');
  });

  it('refuses an unknown key, naming it', () => {
    expect(refused('services.cart.replica=3')).toContain('services.cart: Additional property replica is not allowed');
    expect(refused('monitoring.enable=true')).toContain('monitoring: Additional property enable is not allowed');
    expect(refused('services.shop.port=4100')).toContain('services: Additional property shop is not allowed');
  });

  it('refuses out-of-range replicas, and a second audit replica (the log has one writer)', () => {
    expect(refused('services.cart.replicas=0')).toContain('services.cart.replicas: Must be greater than or equal to 1');
    expect(refused('services.inventory.replicas=500')).toContain('services.inventory.replicas: Must be less than or equal to 50');
    expect(refused('services.audit.replicas=2')).toContain('services.audit.replicas: Must be less than or equal to 1');
    expect(refused('services.audit.autoscaling.enabled=true')).toContain('services.audit.autoscaling.enabled');
  });

  it('refuses values outside their set or shape', () => {
    expect(refused('logLevel=loud')).toContain('logLevel: logLevel must be one of the following: "error", "warn", "info", "debug"');
    expect(refused('kafka.sasl.mechanism=kerberos')).toContain('kafka.sasl.mechanism: kafka.sasl.mechanism must be one of the following');
    expect(refused('mongo.url=http://mongo')).toContain("mongo.url: Does not match pattern '^mongodb(\\+srv)?://'");
    expect(refused('resources.limits.memory=lots')).toContain('resources.limits.memory: Does not match pattern');
  });

  it('refuses, in the templates, what a schema cannot say', () => {
    const below = helm(
      'template',
      'omnimall',
      chart,
      '--set',
      'services.cart.autoscaling.enabled=true,services.cart.autoscaling.maxReplicas=1',
    );
    expect(below.status).not.toBe(0);
    expect(below.stderr).toContain('services.cart.autoscaling: maxReplicas (1) must be at least minReplicas (2)');
    const signer = helm('template', 'omnimall', chart, '--set', 'services.cart.signsTokens=true');
    expect(signer.status).not.toBe(0);
    expect(signer.stderr).toContain('services.cart.signsTokens: only identity signs tokens');
  });

  it('declares the Grafana dashboards switch and sidecar label', () => {
    const values = valuesOf(join(chart, 'values.yaml'));
    expect(values.monitoring.grafanaDashboards).toEqual({ enabled: false, label: 'grafana_dashboard', labelValue: '1' });
    expect(refused('monitoring.grafanaDashboards.enabled=yes')).toContain('monitoring.grafanaDashboards.enabled: Invalid type');
  });
});

describe('the rendered manifests against the API schemas', () => {
  const renders: [string, string[]][] = [
    ['default', []],
    ['production', ['-f', production]],
    ['every flag on', everything],
  ];

  it.each(renders)('the %s render is valid for every supported Kubernetes version (kubernetes-validate --strict)', (_name, args) => {
    const dir = mkdtempSync(join(tmpdir(), 'omnimall-chart-'));
    try {
      const file = join(dir, 'rendered.yaml');
      writeFileSync(file, stringifyAll(render(...args)));
      for (const version of kubeVersions) {
        const r = spawnSync('kubernetes-validate', ['--strict', '--quiet', '-k', version, file], { encoding: 'utf8' });
        const lines = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
        // The monitoring CRDs have no schema here; they are checked by the next test.
        const unexpected = lines.filter(
          (l) => !/Couldn't find schema for kind (ServiceMonitor|PrometheusRule) with api version monitoring\.coreos\.com\/v1/.test(l),
        );
        expect({ version, unexpected }).toEqual({ version, unexpected: [] });
        expect(r.status).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kubernetes-validate is not vacuous: it refuses a Deployment with a wrong field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnimall-chart-'));
    try {
      const broken = find(render(), 'Deployment', 'cart')!;
      broken.spec.replicas = 'two';
      container(broken).readinessProbe.periodSecond = 5;
      const file = join(dir, 'broken.yaml');
      writeFileSync(file, stringifyAll([broken]));
      const r = spawnSync('kubernetes-validate', ['--strict', '-k', kubeVersions[0], file], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`).toContain("spec.replicas: 'two' is not of type 'integer'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ServiceMonitor and PrometheusRules are valid for the Prometheus Operator (@kubernetes-models/prometheus-operator)', () => {
    const crds = render(...everything).filter((d) => d.apiVersion === 'monitoring.coreos.com/v1');
    expect(crds.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'PrometheusRule/omnimall',
      'PrometheusRule/omnimall-consumer-lag',
      'ServiceMonitor/omnimall',
    ]);
    expect(validateCrds(crds)).toEqual([]);
    // and the validator refuses a broken one
    const broken = structuredClone(crds.find((d) => d.kind === 'PrometheusRule')!);
    broken.spec.groups[0].rules[0].for = 'five minutes';
    const errors = validateCrds([broken]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/rules\/0\/for must match pattern/);
  });
});

describe('what the chart promises', () => {
  const defaults = () => render();
  const prod = () => render('-f', production);

  it('runs every service non-root on a read-only root filesystem, without capabilities, with /tmp as an emptyDir', () => {
    for (const docs of [defaults(), prod()]) {
      for (const name of services) {
        const d = find(docs, 'Deployment', name)!;
        const pod = d.spec.template.spec;
        const c = container(d);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
        expect(c.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(pod.automountServiceAccountToken).toBe(false);
        const tmp = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
        expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toEqual({ sizeLimit: '64Mi' });
      }
      const job = find(docs, 'Job', 'omnimall-topics')!;
      expect(container(job).securityContext.readOnlyRootFilesystem).toBe(true);
      expect(job.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    }
  });

  it('probes start-up, liveness and readiness, sets requests and limits, and spreads pods over zones and nodes', () => {
    const docs = prod();
    for (const name of services) {
      const d = find(docs, 'Deployment', name)!;
      const c = container(d);
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(c.resources.requests.cpu).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
      const spread = d.spec.template.spec.topologySpreadConstraints;
      expect(spread.map((t: { topologyKey: string }) => t.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
      for (const t of spread) expect(t.labelSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': name });
    }
    expect(container(find(docs, 'Deployment', 'catalog-sync')!).resources.limits).toEqual({ cpu: '2', memory: '1Gi' });
  });

  it('keeps the audit service at one replica, replaced (never two writers), and without an autoscaler', () => {
    for (const docs of [defaults(), prod()]) {
      const audit = find(docs, 'Deployment', 'audit')!;
      expect(audit.spec.replicas).toBe(1);
      expect(audit.spec.strategy).toEqual({ type: 'Recreate' });
      expect(find(docs, 'HorizontalPodAutoscaler', 'audit')).toBeUndefined();
    }
  });

  it('autoscales on CPU, and on consumer lag through the External metric recorded from the sync-monitor', () => {
    const docs = prod();
    const values = valuesOf(production);
    for (const name of services) {
      const as = values.services[name].autoscaling;
      const hpa = find(docs, 'HorizontalPodAutoscaler', name);
      const deployment = find(docs, 'Deployment', name)!;
      if (!as.enabled) {
        expect(hpa).toBeUndefined();
        continue;
      }
      // the HPA owns the replica count
      expect(deployment.spec.replicas).toBeUndefined();
      expect(hpa!.spec).toMatchObject({ minReplicas: as.minReplicas, maxReplicas: as.maxReplicas });
      expect(hpa!.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
      expect(hpa!.spec.metrics[0]).toEqual({
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: as.targetCPUUtilizationPercentage } },
      });
      const external = hpa!.spec.metrics.find((m: { type: string }) => m.type === 'External');
      if (as.consumerLag?.enabled) {
        expect(external.external).toEqual({
          metric: { name: 'omnimall_service_consumer_lag', selector: { matchLabels: { consumer_service: name } } },
          target: { type: 'AverageValue', averageValue: as.consumerLag.averageValue },
        });
      } else {
        expect(external).toBeUndefined();
      }
    }
    expect(find(docs, 'HorizontalPodAutoscaler', 'inventory')!.spec.metrics).toHaveLength(2);
    // the recorded series comes from the metric the sync-monitor really exports
    const monitorMetrics = readFileSync(join(root, 'services', 'sync-monitor', 'src', 'metrics.ts'), 'utf8');
    expect(monitorMetrics).toContain("name: 'omnimall_consumer_group_lag'");
    const rule = find(docs, 'PrometheusRule', 'omnimall-consumer-lag')!.spec.groups[0].rules[0];
    expect(rule.record).toBe('omnimall_service_consumer_lag');
    expect(rule.expr).toContain('label_replace(omnimall_consumer_group_lag, "consumer_service", "$1", "group", "([^.]+)[.].*")');
    expect(rule.expr).toContain('sum by (namespace, consumer_service)');
  });

  it('records the consumer lag with rules promtool accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnimall-chart-'));
    try {
      const file = join(dir, 'rules.yml');
      writeFileSync(file, YAML.stringify(find(prod(), 'PrometheusRule', 'omnimall-consumer-lag')!.spec));
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(r.stdout).toContain('SUCCESS: 1 rules found');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('budgets voluntary disruptions of every service', () => {
    const docs = prod();
    for (const name of services) {
      const pdb = find(docs, 'PodDisruptionBudget', name)!;
      expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': name } } });
    }
  });

  it('lets in only the ingress controller and the declared clients on the API port, and the monitoring namespace on the metrics port', () => {
    const values = valuesOf(production);
    for (const [docs, clients] of [
      [defaults(), valuesOf(join(chart, 'values.yaml')).networkPolicy.ingressController],
      [prod(), [...values.networkPolicy.ingressController, ...values.networkPolicy.apiClients]],
    ] as [Doc[], unknown[]][]) {
      for (const name of services) {
        const policy = find(docs, 'NetworkPolicy', name)!;
        expect(policy.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': name } });
        expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
        expect(policy.spec.ingress).toEqual([
          { from: clients, ports: [{ port: 'http', protocol: 'TCP' }] },
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
            ports: [{ port: 'metrics', protocol: 'TCP' }],
          },
        ]);
      }
    }
  });

  it('lets each service reach only DNS, Kafka, MongoDB, the registry and its own declared extras', () => {
    const values = valuesOf(production);
    const np = values.networkPolicy;
    const base = [np.dns, np.kafka, np.mongo, np.schemaRegistry].map((r: { to: unknown; ports: unknown }) => ({
      ports: r.ports,
      to: r.to,
    }));
    const docs = prod();
    for (const name of services) {
      const policy = find(docs, 'NetworkPolicy', name)!;
      expect(policy.spec.egress).toEqual([...base, ...values.services[name].egress]);
    }
    // webhooks leave for public addresses only; the payment provider is named
    const channels = find(docs, 'NetworkPolicy', 'channels')!.spec.egress[4];
    expect(channels.to[0].ipBlock.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']),
    );
    expect(find(docs, 'NetworkPolicy', 'cart')!.spec.egress).toHaveLength(4);
    // the topics job: DNS and Kafka, nothing in
    const job = find(docs, 'NetworkPolicy', 'omnimall-topics')!;
    expect(job.spec).toMatchObject({ ingress: [], egress: base.slice(0, 2) });
  });

  it('keeps /metrics off the API port: its own port, a headless metrics Service, scraped by the ServiceMonitor', () => {
    const docs = prod();
    for (const name of services) {
      const d = find(docs, 'Deployment', name)!;
      expect(envOf(d, 'METRICS_PORT').value).toBe('9464');
      expect(envOf(d, 'PORT').value).not.toBe('9464');
      expect(d.spec.template.metadata.annotations['prometheus.io/port']).toBe('9464');
      expect(find(docs, 'Service', name)!.spec.ports.map((p: { name: string }) => p.name)).toEqual(['http']);
      const metrics = find(docs, 'Service', `${name}-metrics`)!;
      expect(metrics.spec).toMatchObject({ clusterIP: 'None', ports: [{ name: 'metrics', port: 9464, targetPort: 'metrics' }] });
      expect(metrics.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': name, 'omnimall.io/metrics': 'true' });
    }
    const monitor = find(docs, 'ServiceMonitor', 'omnimall')!;
    expect(monitor.metadata.labels!.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/part-of': 'omnimall', 'omnimall.io/metrics': 'true' });
    // job and service labels are the service's name, as deploy/prometheus/prometheus.yml gives them
    expect(monitor.spec.jobLabel).toBe('app.kubernetes.io/name');
    expect(monitor.spec.endpoints[0].relabelings).toEqual([
      { sourceLabels: ['__meta_kubernetes_service_label_app_kubernetes_io_name'], targetLabel: 'service', action: 'replace' },
    ]);
    // nothing of the monitoring stack without monitoring.enabled
    const plain = defaults();
    expect(plain.filter((d) => d.apiVersion.startsWith('monitoring.coreos.com') || d.metadata.name.endsWith('-metrics'))).toEqual([]);
  });

  it('carries exactly the alert rules of deploy/prometheus/alerts.yml in its PrometheusRule', () => {
    const rules = find(prod(), 'PrometheusRule', 'omnimall')!;
    const source = YAML.parse(readFileSync(join(root, 'deploy', 'prometheus', 'alerts.yml'), 'utf8'));
    expect(rules.spec.groups).toEqual(source.groups);
    expect(rules.spec.groups.flatMap((g: { rules: { alert: string }[] }) => g.rules.map((r) => r.alert))).toContain('ServiceDown');
  });

  it('reads the rules through a link to deploy/prometheus/alerts.yml that helm package resolves', () => {
    const link = join(chart, 'files', 'alerts.yml');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(realpathSync(link)).toBe(realpathSync(join(root, 'deploy', 'prometheus', 'alerts.yml')));
    const dir = mkdtempSync(join(tmpdir(), 'omnimall-chart-'));
    try {
      const r = helm('package', chart, '--destination', dir);
      expect(r.status).toBe(0);
      const packaged = execFileSync('tar', ['-xzOf', join(dir, 'omnimall-0.2.0.tgz'), 'omnimall/files/alerts.yml'], { encoding: 'utf8' });
      expect(packaged).toBe(readFileSync(join(root, 'deploy', 'prometheus', 'alerts.yml'), 'utf8'));
      const listing = execFileSync('tar', ['-tzf', join(dir, 'omnimall-0.2.0.tgz')], { encoding: 'utf8' });
      expect(listing).toContain('omnimall/values.schema.json');
      expect(listing).toContain('omnimall/templates/NOTES.txt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('references Secrets and never inlines one: no Secret object, credentials only through secretKeyRef', () => {
    for (const docs of [defaults(), render(...everything)]) {
      expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
    }
    const docs = prod();
    const identity = find(docs, 'Deployment', 'identity')!;
    expect(envOf(identity, 'ERASURE_SALT').valueFrom.secretKeyRef).toEqual({ name: 'omnimall-identity', key: 'erasure-salt' });
    expect(envOf(identity, 'BOOTSTRAP_ADMIN_PASSWORD').valueFrom.secretKeyRef).toEqual({
      name: 'omnimall-identity-bootstrap',
      key: 'password',
      optional: true,
    });
    expect(envOf(find(docs, 'Deployment', 'channels')!, 'DELIVERY_SECRET_KEY').valueFrom.secretKeyRef).toEqual({
      name: 'omnimall-channels',
      key: 'delivery-secret-key',
    });
    expect(envOf(find(docs, 'Deployment', 'audit')!, 'AUDIT_SIGNING_KEY').valueFrom.secretKeyRef).toEqual({
      name: 'omnimall-audit',
      key: 'signing-key',
    });
    expect(envOf(find(docs, 'Deployment', 'orders')!, 'ORDERS_PSP_SECRET').valueFrom.secretKeyRef).toEqual({
      name: 'omnimall-orders',
      key: 'psp-webhook-secret',
    });
    for (const name of services) {
      const d = find(docs, 'Deployment', name)!;
      expect(envOf(d, 'MONGO_URL')).toEqual({ name: 'MONGO_URL', valueFrom: { secretKeyRef: { name: 'omnimall-mongo', key: 'url' } } });
      expect(envOf(d, 'KAFKA_SASL_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: `omnimall-kafka-${name}`, key: 'password' });
      expect(envOf(d, 'SCHEMA_REGISTRY_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'omnimall-schema-registry', key: 'password' });
      // every other setting is plain text that is not a credential
      for (const e of container(d).env as { name: string; value?: string }[]) {
        if (e.value !== undefined) expect(e.name).not.toMatch(/PASSWORD|SECRET|SALT|_KEY$/);
      }
      // only identity mounts the signing key
      const items = d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'auth-keys').secret.items;
      expect(items.map((i: { key: string }) => i.key)).toEqual(
        name === 'identity' ? ['auth-public.pem', 'auth-private.pem'] : ['auth-public.pem'],
      );
      expect(Boolean(envOf(d, 'AUTH_PRIVATE_KEY_FILE'))).toBe(name === 'identity');
    }
    // the image pull Secret is referenced too
    expect(find(docs, 'Deployment', 'cart')!.spec.template.spec.imagePullSecrets).toEqual([{ name: 'omnimall-registry' }]);
  });

  it('exposes each public API through its own Ingress only behind ingress.enabled, with the TLS Secret referenced', () => {
    expect(defaults().filter((d) => d.kind === 'Ingress')).toEqual([]);
    const docs = prod();
    const values = valuesOf(production);
    const exposed = services.filter((n) => values.services[n].ingress.enabled);
    expect(exposed).not.toContain('sync-monitor');
    expect(
      docs
        .filter((d) => d.kind === 'Ingress')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual([...exposed].sort());
    for (const name of exposed) {
      const ingress = find(docs, 'Ingress', name)!;
      const host = values.services[name].ingress.host;
      expect(ingress.spec).toEqual({
        ingressClassName: 'nginx',
        tls: [{ hosts: [host], secretName: 'omnimall-tls' }],
        rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { name: 'http' } } } }] } }],
      });
    }
  });

  it('prints NOTES after an install: rollouts, the Secrets to create, the API addresses', () => {
    const notes = renderNotes('-f', production);
    expect(notes).toContain('kubectl -n omnimall rollout status deployment/identity');
    for (const name of services) expect(notes).toContain(`rollout status deployment/${name}`);
    expect(notes).toContain('omnimall-kafka-audit  (username, password)');
    expect(notes).toContain('omnimall-mongo  (url)  ->  MONGO_URL of every service');
    expect(notes).toContain('https://identity.api.omnimall.example/  (OpenAPI: /openapi.json)');
    expect(notes).toContain('inventory scales on consumer lag');
    const plain = renderNotes();
    expect(plain).toContain('No Ingress (ingress.enabled is false)');
    expect(plain).toContain('monitoring.enabled is false');
  });

  it('lists every value in its README', () => {
    const readme = readFileSync(join(chart, 'README.md'), 'utf8');
    const keys = (v: unknown, prefix: string): string[] =>
      v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 && prefix !== 'services'
        ? Object.entries(v).flatMap(([k, child]) => keys(child, prefix ? `${prefix}.${k}` : k))
        : [prefix];
    const listed = keys(valuesOf(join(chart, 'values.yaml')), '').filter((k) => k !== 'services');
    const missing = listed.filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
    for (const k of ['enabled', 'port', 'replicas', 'signsTokens', 'env', 'secretEnv', 'resources', 'autoscaling', 'ingress', 'egress']) {
      expect(readme).toContain(`\`services.<name>.${k}`);
    }
  });
});

/**
 * NOTES.txt as helm install prints it. helm template leaves NOTES out and an install (even --dry-run=client)
 * wants a cluster, so a copy of the chart renders it through tpl into a ConfigMap.
 */
function renderNotes(...args: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'omnimall-notes-'));
  try {
    execFileSync('cp', ['-rL', chart, dir]);
    const copy = join(dir, 'omnimall');
    writeFileSync(join(copy, 'files', 'notes.txt'), readFileSync(join(chart, 'templates', 'NOTES.txt')));
    writeFileSync(
      join(copy, 'templates', 'notes-render.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes }\ndata:\n  notes: {{ tpl (.Files.Get "files/notes.txt") . | toJson }}\n',
    );
    const args2 = args.map((a) => (a === production ? join(copy, 'values-production.yaml') : a));
    const out = execFileSync(
      'helm',
      ['template', 'omnimall', copy, '-n', 'omnimall', '--show-only', 'templates/notes-render.yaml', ...args2],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    return (YAML.parse(out) as { data: { notes: string } }).data.notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Renders documents as one multi-document YAML stream. */
function stringifyAll(docs: Doc[]): string {
  return docs.map((d) => YAML.stringify(d)).join('---\n');
}

/** Validates monitoring.coreos.com objects with the models' JSON schemas; returns one message per invalid object. */
function validateCrds(docs: Doc[]): string[] {
  const script = `
    const { ServiceMonitor, PrometheusRule } = await import(${JSON.stringify(join(kubernetesModels, 'monitoring.coreos.com', 'v1', 'index.js'))});
    const models = { ServiceMonitor, PrometheusRule };
    const docs = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const errors = [];
    for (const d of docs) {
      const Model = models[d.kind];
      if (!Model) { errors.push(d.kind + '/' + d.metadata.name + ': no model'); continue; }
      try { new Model(d).validate(); } catch (e) { errors.push(d.kind + '/' + d.metadata.name + ': ' + e.message); }
    }
    console.log(JSON.stringify(errors));
  `.replace("require('node:fs')", "(await import('node:fs'))");
  const out = execFileSync('node', ['--input-type=module', '-e', script], { input: JSON.stringify(docs), encoding: 'utf8' });
  return JSON.parse(out) as string[];
}
