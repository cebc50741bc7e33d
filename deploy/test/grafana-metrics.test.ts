/**
 * The Grafana dashboards of deploy/grafana: the committed JSON (compose's and the chart's copy) is what
 * the code builds, every panel is well-formed (unique ids, on the grid, the `datasource` variable, PromQL
 * that Prometheus' grammar accepts), the PromQL reading and the exposition reading the scrape test relies
 * on, Grafana's provisioning, and the chart's ConfigMaps. That every queried metric is really exported
 * is grafana-metrics.serial.test.ts (it starts every service).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import YAML from 'yaml';
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { OUTPUT_DIRS, ROOT, dashboardJson, serviceNames } from '../grafana/src/build';
import { PROMETHEUS_SERIES, buildDashboards } from '../grafana/src/dashboards';
import { PromQLSyntaxError, exposedSeries, metricNames } from '../grafana/src/promql';

type AnyPanel = Panel | RowPanel;
const dashboards = buildDashboards(serviceNames());
const panelsOf = (d: Dashboard): AnyPanel[] => (d.panels ?? []).flatMap((p) => (p.type === 'row' ? [p, ...(p as RowPanel).panels] : [p]));
const queriesOf = (p: AnyPanel): string[] => ((p as Panel).targets ?? []).map((t) => (t as { expr?: string }).expr ?? '');

describe('the committed dashboards', () => {
  it.each(OUTPUT_DIRS.map((d) => [d.slice(ROOT.length + 1), d]))('%s holds exactly what npm run grafana:build writes', (_name, dir) => {
    const built = dashboardJson();
    const committed = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(committed.sort()).toEqual(Object.keys(built).sort());
    for (const [file, value] of Object.entries(built))
      expect({ file, value: JSON.parse(readFileSync(join(dir, file), 'utf8')) }).toEqual({ file, value });
  });

  it("type-check against Grafana's SDK (a malformed panel fails here and in npm run grafana:build)", () => {
    const r = spawnSync('npx', ['tsc', '-p', join(ROOT, 'deploy', 'grafana')], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('are formatted as the build formats them (prettier, as make lint checks)', () => {
    const r = spawnSync('npx', ['prettier', '--check', ...OUTPUT_DIRS], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('are the platform overview, Kafka/database health and one per service', () => {
    expect(Object.keys(dashboards).sort()).toEqual(
      ['kafka-db-health.json', 'platform-overview.json', ...serviceNames().map((s) => `service-${s}.json`)].sort(),
    );
    const uids = Object.values(dashboards).map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const d of Object.values(dashboards)) expect(d.uid!.length).toBeLessThanOrEqual(40); // Grafana's limit
  });
});

describe.each(Object.entries(dashboards))('dashboard %s', (_file, d) => {
  const panels = panelsOf(d);

  it('numbers its panels uniquely and lays them on the 24-column grid without overlaps', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => typeof id === 'number')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const g = p.gridPos!;
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          const cell = `${x},${y}`;
          expect({ panel: p.title, overlaps: cells.has(cell) }).toEqual({ panel: p.title, overlaps: false });
          cells.add(cell);
        }
    }
  });

  it('reads Prometheus through its datasource variable, with PromQL that parses and selects metrics', () => {
    expect(d.templating?.list?.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of panels.filter((x) => x.type !== 'row') as Panel[]) {
      expect({ panel: p.title, datasource: p.datasource }).toEqual({
        panel: p.title,
        datasource: { type: 'prometheus', uid: '${datasource}' },
      });
      expect(p.description).toBeTruthy();
      const exprs = queriesOf(p);
      expect(exprs.length).toBeGreaterThan(0);
      for (const expr of exprs) expect({ panel: p.title, names: metricNames(expr).length > 0 }).toEqual({ panel: p.title, names: true });
    }
  });
});

describe('the service dashboards', () => {
  it.each(serviceNames())('%s: every query is filtered to the service (or its consumer groups)', (service) => {
    const d = dashboards[`service-${service}.json`];
    for (const expr of panelsOf(d).flatMap(queriesOf))
      expect({ expr, filtered: expr.includes(`service="${service}"`) || expr.includes(`group=~"${service}[.].*"`) }).toEqual({
        expr,
        filtered: true,
      });
  });

  it('show HTTP, consumer lag, outbox depth and breaker states; the overview shows propagation against the SLA', () => {
    const exprs = (file: string) => panelsOf(dashboards[file]).flatMap(queriesOf).join('\n');
    for (const s of serviceNames())
      for (const metric of [
        'omnimall_http_request_seconds_bucket',
        'omnimall_consumer_group_lag',
        'omnimall_outbox_pending',
        'omnimall_circuit_breaker_state',
      ])
        expect(exprs(`service-${s}.json`)).toContain(metric);
    const overview = exprs('platform-overview.json');
    expect(overview).toContain('histogram_quantile(0.99, sum by (le, type) (rate(omnimall_propagation_lag_seconds_bucket');
    expect(overview).toContain('histogram_quantile(0.5, sum by (le, channel)');
    expect(overview).toContain('omnimall_propagation_lag_seconds_bucket{le="2"}');
    expect(overview).toContain('omnimall_events_dead_lettered_total');
    expect(overview).toContain('omnimall_sync_escalations_total');
    // the SLA is drawn on the propagation panels
    const p99 = panelsOf(dashboards['platform-overview.json']).find((p) => p.title === 'p99 propagation by event type') as Panel;
    expect(p99.fieldConfig?.defaults?.thresholds?.steps).toContainEqual({ value: 2, color: 'red' });
  });
});

describe('metricNames (PromQL read by Prometheus’ grammar)', () => {
  it('finds every selected metric and no label, function, keyword or Grafana variable', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, type) (rate(omnimall_propagation_lag_seconds_bucket{le="2", service=~"a|b"}[$__rate_interval]))) / on (type) group_left sum by (type) (up offset 5m) > bool 2',
      ),
    ).toEqual(['omnimall_propagation_lag_seconds_bucket', 'up']);
    expect(metricNames('time() - max(omnimall_audit_checkpoint_timestamp_seconds)')).toEqual([
      'omnimall_audit_checkpoint_timestamp_seconds',
    ]);
    expect(metricNames('sum(rate(a_total[5m])) / sum(rate(a_total[5m])) + b')).toEqual(['a_total', 'b']);
  });

  it('throws on malformed PromQL, on an unknown Grafana variable and on a selector without a name', () => {
    expect(() => metricNames('sum(rate(x_total[5m])')).toThrow(PromQLSyntaxError);
    expect(() => metricNames('sum by (le (x)')).toThrow(PromQLSyntaxError);
    expect(() => metricNames('x{service="$service"}')).toThrow(PromQLSyntaxError);
    expect(() => metricNames('{__name__="x"}')).toThrow(PromQLSyntaxError);
  });
});

describe('exposedSeries (what a /metrics exposition makes queryable)', () => {
  it('counts a labelled counter with no sample by its HELP/TYPE lines, and a histogram as _bucket, _sum and _count', async () => {
    const registry = new Registry();
    new Counter({ name: 'quiet_total', help: 'never incremented', labelNames: ['topic'], registers: [registry] });
    new Gauge({ name: 'level', help: 'a gauge', registers: [registry] }).set(3);
    new Histogram({ name: 'took_seconds', help: 'a histogram', labelNames: ['route'], registers: [registry] });
    const text = await registry.metrics();
    expect(text).toContain('# HELP quiet_total never incremented');
    expect(text).not.toMatch(/^quiet_total/m); // no sample line: only the declaration tells it exists
    const series = exposedSeries(text);
    expect([...series].sort()).toEqual(['level', 'quiet_total', 'took_seconds_bucket', 'took_seconds_count', 'took_seconds_sum']);
    expect(series.has('level_count')).toBe(false);
    expect(series.has('took_seconds')).toBe(false);
  });

  it('reads summaries and untyped samples', () => {
    const series = exposedSeries('# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\nbare 1\nlabelled{a="b"} 2\n');
    expect([...series].sort()).toEqual(['bare', 'labelled', 's', 's_count', 's_sum']);
  });

  it('excludes from the scrape check only the series Prometheus writes itself', () => {
    expect(PROMETHEUS_SERIES).toEqual(['up']);
  });
});

describe("Grafana's provisioning", () => {
  const provisioning = join(ROOT, 'deploy', 'grafana', 'provisioning');
  const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');

  it('names Prometheus with the uid the dashboards default to, at its compose address', () => {
    const ds = YAML.parse(readFileSync(join(provisioning, 'datasources', 'prometheus.yaml'), 'utf8'));
    expect(ds.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    for (const d of Object.values(dashboards))
      expect(d.templating?.list?.find((v) => v.name === 'datasource')?.current?.value).toBe('prometheus');
  });

  it('loads the dashboards from where docker-compose mounts them', () => {
    const p = YAML.parse(readFileSync(join(provisioning, 'dashboards', 'omnimall.yaml'), 'utf8'));
    const path = p.providers[0].options.path as string;
    expect(compose).toContain(`./deploy/grafana/dashboards:${path}:ro`);
  });
});

describe("the chart's dashboard ConfigMaps", () => {
  const chart = join(ROOT, 'charts', 'omnimall');
  const render = (...set: string[]) =>
    spawnSync(
      'helm',
      ['template', 'omnimall', chart, '--show-only', 'templates/grafana-dashboards.yaml', ...set.flatMap((s) => ['--set', s])],
      {
        encoding: 'utf8',
      },
    );
  const configMaps = (out: string) =>
    YAML.parseAllDocuments(out)
      .map((d) => d.toJSON())
      .filter(Boolean) as { kind: string; metadata: { name: string; labels: Record<string, string> }; data: Record<string, string> }[];

  beforeAll(
    () => {
      execFileSync('bash', [join(ROOT, 'deploy', 'local', 'tools.sh'), 'helm'], { stdio: 'inherit', timeout: 15 * 60 * 1000 });
    },
    16 * 60 * 1000,
  );

  it('renders one ConfigMap per dashboard, with the sidecar label and the built JSON', () => {
    const r = render('monitoring.grafanaDashboards.enabled=true');
    expect(r.status).toBe(0);
    const maps = configMaps(r.stdout);
    const built = dashboardJson();
    expect(maps.map((m) => m.metadata.name).sort()).toEqual(
      Object.keys(built)
        .map((f) => `omnimall-dashboard-${f.replace(/\.json$/, '')}`)
        .sort(),
    );
    for (const m of maps) {
      expect(m.kind).toBe('ConfigMap');
      expect(m.metadata.labels.grafana_dashboard).toBe('1');
      const [file, text] = Object.entries(m.data)[0];
      expect(JSON.parse(text)).toEqual(built[file]);
    }
  });

  it('takes the label from monitoring.grafanaDashboards.label and labelValue', () => {
    const r = render(
      'monitoring.grafanaDashboards.enabled=true',
      'monitoring.grafanaDashboards.label=team_dashboards',
      'monitoring.grafanaDashboards.labelValue=omnimall',
    );
    expect(r.status).toBe(0);
    for (const m of configMaps(r.stdout)) {
      expect(m.metadata.labels.team_dashboards).toBe('omnimall');
      expect(m.metadata.labels.grafana_dashboard).toBeUndefined();
    }
  });

  it('renders none unless enabled', () => {
    const r = render('monitoring.grafanaDashboards.enabled=false');
    expect(configMaps(r.stdout)).toEqual([]);
  });
});
