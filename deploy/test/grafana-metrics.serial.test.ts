/**
 * Every metric a dashboard queries is one the services really export: every service runs as a process
 * (e2e/support/stack.ts, against the local Kafka, FerretDB and registry), each /metrics is scraped, and
 * each name in each panel's PromQL must be in the union of what they declare. A labelled series with no
 * sample yet counts by its `# HELP`/`# TYPE` lines (prom-client prints them), a histogram by its
 * _bucket, _sum and _count series. Excluded: PROMETHEUS_SERIES only (`up`, written by Prometheus).
 * Serial: it starts the whole platform (deploy/local/run-tests.sh runs it in band).
 */
import { startStack, SERVICES, type Stack } from '../../e2e/support/stack';
import { serviceNames } from '../grafana/src/build';
import { PROMETHEUS_SERIES, buildDashboards } from '../grafana/src/dashboards';
import { exposedSeries, metricNames } from '../grafana/src/promql';

let stack: Stack | undefined;
const scraped = new Map<string, string>();

beforeAll(async () => {
  stack = await startStack();
  for (const name of SERVICES) {
    const r = await fetch(`${stack.url(name)}/metrics`);
    expect({ name, status: r.status }).toEqual({ name, status: 200 });
    scraped.set(name, await r.text());
  }
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe('the metrics the dashboards query', () => {
  it('are scraped from every service of the repository, each under its own service label', () => {
    expect([...scraped.keys()].sort()).toEqual(serviceNames());
    for (const [name, text] of scraped) expect({ name, labelled: text.includes(`service="${name}"`) }).toEqual({ name, labelled: true });
  });

  it('all exist in the union of what the services export', () => {
    const exported = new Set<string>();
    for (const text of scraped.values()) for (const s of exposedSeries(text)) exported.add(s);
    const missing: string[] = [];
    let checked = 0;
    for (const [file, d] of Object.entries(buildDashboards(serviceNames())))
      for (const p of (d.panels ?? []).flatMap((x) => [x, ...((x as { panels?: (typeof x)[] }).panels ?? [])]))
        for (const t of (p as { targets?: { expr?: string }[] }).targets ?? [])
          for (const name of metricNames(t.expr ?? '')) {
            checked++;
            if (!exported.has(name) && !PROMETHEUS_SERIES.includes(name)) missing.push(`${file} / ${p.title}: ${name}`);
          }
    expect(checked).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });

  it('exclude nothing a service exports (the exclusion list holds only series Prometheus writes)', () => {
    for (const name of PROMETHEUS_SERIES)
      for (const [service, text] of scraped)
        expect({ service, name, exported: exposedSeries(text).has(name) }).toEqual({ service, name, exported: false });
  });
});
