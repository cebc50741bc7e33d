/**
 * Writes the dashboards as JSON: deploy/grafana/dashboards/ (docker-compose's Grafana provisions them)
 * and charts/omnimall/dashboards/ (the chart's ConfigMaps). `npm run grafana:build`; the committed files
 * must equal what the code builds (deploy/test/grafana-metrics.test.ts).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as Prettier from 'prettier';
import { buildDashboards } from './dashboards';

export const ROOT = resolve(__dirname, '..', '..', '..');
/** Where the JSON goes: compose mounts the first, the chart packs the second. */
export const OUTPUT_DIRS = [join(ROOT, 'deploy', 'grafana', 'dashboards'), join(ROOT, 'charts', 'omnimall', 'dashboards')];

/** Every service of the repository (services/<name>/src/main.ts), in name order. */
export function serviceNames(): string[] {
  return readdirSync(join(ROOT, 'services'))
    .filter((s) => existsSync(join(ROOT, 'services', s, 'src', 'main.ts')))
    .sort();
}

/** Every dashboard by file name, as the JSON value the build writes. */
export function dashboardJson(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(buildDashboards(serviceNames()))) out[name] = JSON.parse(JSON.stringify(d));
  return out;
}

/**
 * The files the build writes, by name: each dashboard's JSON formatted as the repository's prettier
 * does (`make lint` runs prettier --check over them). Prettier's API loads ES modules: not under jest.
 */
export async function renderDashboards(): Promise<Record<string, string>> {
  const prettier = require('prettier') as typeof Prettier; // loaded here: importing it starts an ES module import
  const out: Record<string, string> = {};
  const options = (await prettier.resolveConfig(join(OUTPUT_DIRS[0], 'x.json'))) ?? {};
  for (const [name, value] of Object.entries(dashboardJson()))
    out[name] = await prettier.format(JSON.stringify(value), { ...options, parser: 'json' });
  return out;
}

/** Writes every dashboard into each output directory and removes JSON files no dashboard makes any more. */
export async function writeDashboards(): Promise<string[]> {
  const files = await renderDashboards();
  const written: string[] = [];
  for (const dir of OUTPUT_DIRS) {
    mkdirSync(dir, { recursive: true });
    for (const stale of readdirSync(dir).filter((f) => f.endsWith('.json') && !(f in files))) rmSync(join(dir, stale));
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(dir, name), text);
      written.push(join(dir, name));
    }
  }
  return written;
}

if (require.main === module) {
  writeDashboards().then(
    (written) => console.log(`grafana: wrote ${written.length} files (${OUTPUT_DIRS.map((d) => d.slice(ROOT.length + 1)).join(', ')})`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
