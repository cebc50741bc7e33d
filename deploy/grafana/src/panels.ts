/**
 * Panel shorthands over Grafana's typed SDK (@grafana/grafana-foundation-sdk): every panel reads the
 * Prometheus data source chosen by the dashboard's `datasource` variable.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** The Prometheus data source of the dashboard's `datasource` variable. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** The business promise: every cross-channel change applied everywhere within 2 s (alerts.yml PropagationP99Slow). */
export const SLA_SECONDS = 2;

export interface Query {
  expr: string;
  /** Legend template ({{label}}); default the series' labels. */
  legend?: string;
}

export interface PanelOptions {
  description: string;
  unit: string;
  /** Grid width out of 24 (default 8) and height (default 8). */
  w?: number;
  h?: number;
  /** A dashed red line (and red values) from this value up: an SLA or an alert threshold. */
  limit?: number;
  /** Stacked series (rates that add up to a total). */
  stacked?: boolean;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function targets(queries: Query[]): prometheus.DataqueryBuilder[] {
  return queries.map((q, i) => {
    const t = new prometheus.DataqueryBuilder().expr(q.expr).refId(REF_IDS[i]).datasource(DATASOURCE);
    return q.legend ? t.legendFormat(q.legend) : t;
  });
}

function limitThresholds(limit: number | undefined, base = 'green'): dashboard.ThresholdsConfigBuilder {
  const steps: dashboard.Threshold[] = [{ value: null, color: base }];
  if (limit !== undefined) steps.push({ value: limit, color: 'red' });
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);
}

const gridPos = (o: PanelOptions): dashboard.GridPos => ({ x: 0, y: 0, w: o.w ?? 8, h: o.h ?? 8 });

/** A time series panel. */
export function graph(title: string, o: PanelOptions, ...queries: Query[]): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(title)
    .description(o.description)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .gridPos(gridPos(o))
    .fillOpacity(o.stacked ? 30 : 10)
    .lineWidth(1)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    )
    .thresholds(limitThresholds(o.limit))
    .thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(
        o.limit === undefined ? common.GraphThresholdsStyleMode.Off : common.GraphThresholdsStyleMode.Dashed,
      ),
    );
  if (o.stacked) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  for (const t of targets(queries)) p.withTarget(t);
  return p;
}

/** A single value (the last one), red from `limit` up. */
export function single(title: string, o: PanelOptions, ...queries: Query[]): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(title)
    .description(o.description)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .gridPos(gridPos({ ...o, w: o.w ?? 4, h: o.h ?? 4 }))
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .thresholds(limitThresholds(o.limit));
  for (const t of targets(queries)) p.withTarget(t);
  return p;
}

/** Circuit breaker states over time (omnimall_circuit_breaker_state: 0 closed, 1 half-open, 2 open). */
export function breakerStates(title: string, o: PanelOptions, query: Query): statetimeline.PanelBuilder {
  const p = new statetimeline.PanelBuilder()
    .title(title)
    .description(o.description)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .gridPos(gridPos(o))
    .mappings([
      {
        type: dashboard.MappingType.ValueToText,
        options: {
          '0': { text: 'closed', color: 'green', index: 0 },
          '1': { text: 'half-open', color: 'orange', index: 1 },
          '2': { text: 'open', color: 'red', index: 2 },
        },
      },
    ]);
  for (const t of targets([query])) p.withTarget(t);
  return p;
}

/** The dashboard frame every omnimall dashboard shares: data source variable, time, refresh, links. */
export function frame(uid: string, title: string, description: string, tags: string[]): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['omnimall', ...tags])
    .editable()
    .timezone('browser')
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(
      new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus').current({
        text: 'Prometheus',
        value: 'prometheus',
      }),
    )
    .link(
      new dashboard.DashboardLinkBuilder('omnimall')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags(['omnimall'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    );
}

/** Numbers every panel (rows and the panels inside collapsed rows) in order: Grafana needs unique ids. */
export function numberPanels(d: dashboard.Dashboard): dashboard.Dashboard {
  let id = 0;
  for (const p of d.panels ?? []) {
    p.id = ++id;
    if (p.type === 'row') for (const inner of (p as dashboard.RowPanel).panels) inner.id = ++id;
  }
  return d;
}
