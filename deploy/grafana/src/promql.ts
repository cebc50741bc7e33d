/**
 * The metric names a PromQL expression reads, found by Prometheus' own grammar (@prometheus-io/lezer-promql,
 * the parser of the Prometheus UI): every vector selector's name, never a label, function or keyword.
 * A syntax error throws, so a malformed query fails the build and its tests.
 */
import type * as LezerPromQL from '@prometheus-io/lezer-promql' with { 'resolution-mode': 'import' };

// The package is an ES module with a CommonJS build (its `require` export); its types are declared for the ESM side only.
const { parser } = require('@prometheus-io/lezer-promql') as typeof LezerPromQL;

/** Grafana's interval variables, replaced by a literal range before parsing (Grafana does the same when it queries). */
const GRAFANA_RANGES = /\$__(rate_interval|interval|range)\b/g;

export class PromQLSyntaxError extends Error {
  constructor(
    readonly expr: string,
    readonly at: number,
  ) {
    super(`PromQL syntax error at ${at}: ${expr.slice(0, at)}⟨here⟩${expr.slice(at)}`);
    this.name = 'PromQLSyntaxError';
  }
}

/** The distinct metric names `expr` selects, in order of appearance. */
export function metricNames(expr: string): string[] {
  const text = expr.replace(GRAFANA_RANGES, '5m');
  if (/\$/.test(text)) throw new PromQLSyntaxError(expr, text.indexOf('$'));
  const names: string[] = [];
  let error = -1;
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError && error < 0) error = node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        const name = text.slice(node.from, node.to);
        if (!names.includes(name)) names.push(name);
      }
      if (node.name === 'LabelMatchers' && node.node.parent?.name === 'VectorSelector' && !node.node.prevSibling) {
        // {__name__="..."}: a selector without a name of its own; the dashboards never use one
        throw new PromQLSyntaxError(expr, node.from);
      }
    },
  });
  if (error >= 0) throw new PromQLSyntaxError(expr, error);
  return names;
}

/**
 * The series names an exposition (Prometheus text format, as prom-client serves /metrics) makes
 * queryable: each family of a `# TYPE` line (histograms as their _bucket, _sum and _count series,
 * summaries with their _sum and _count), and every sample's name. A labelled counter that has no
 * sample yet is still declared by its HELP and TYPE lines, so it counts as exported.
 */
export function exposedSeries(exposition: string): Set<string> {
  const out = new Set<string>();
  for (const line of exposition.split('\n')) {
    const typed = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/.exec(line);
    if (typed) {
      const [, name, type] = typed;
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
      else if (type === 'summary') for (const s of ['', '_sum', '_count']) out.add(name + s);
      else out.add(name);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) out.add(sample[1]);
  }
  return out;
}
