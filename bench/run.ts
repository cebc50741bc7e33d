/**
 * `make bench`: runs every benchmark module (packages/<pkg>/bench/*.ts and services/<svc>/bench/*.ts),
 * prints a table and writes bench/last-run.json. ONLY=<prefix>[,<prefix>...] keeps the rows whose
 * names start with one of the prefixes (a module is skipped when none of its rows can match); such a
 * run replaces those rows in bench/last-run.json and keeps the others (each row has its own `at`).
 */
import { readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import type { BenchRow } from './harness';

interface BenchModule {
  rows?: string[];
  run(): Promise<BenchRow[]>;
}

const root = join(__dirname, '..');
const prefixes = (process.env.ONLY ?? '')
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean);
const wanted = (name: string) => !prefixes.length || prefixes.some((p) => name.startsWith(p));

function modules(): string[] {
  const found: string[] = [];
  for (const area of ['packages', 'services']) {
    for (const pkg of readdirSync(join(root, area)).sort()) {
      const dir = join(root, area, pkg, 'bench');
      if (!existsSync(dir)) continue;
      // A row module exports run(); other files there (helpers, profilers) are not loaded.
      for (const f of readdirSync(dir).sort()) {
        if (f.endsWith('.ts') && /export\s+async\s+function\s+run\s*\(/.test(readFileSync(join(dir, f), 'utf8'))) found.push(join(dir, f));
      }
    }
  }
  return found;
}

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  for (const file of modules()) {
    const mod = (await import(file)) as BenchModule;
    const names = mod.rows ?? [basename(file, '.ts')];
    if (!names.some((n) => wanted(n) || prefixes.some((p) => n.startsWith(p.split('@')[0])))) continue;
    console.error(`running ${file.replace(root + '/', '')} ...`);
    try {
      rows.push(...(await mod.run()).filter((r) => wanted(r.name)));
    } catch (err) {
      console.error(`  failed: ${String(err)}`);
      rows.push({ name: names[0], p50_ms: NaN, p95_ms: NaN, p99_ms: NaN, samples: 0, error: String(err) });
    }
  }
  console.table(
    rows.map(({ name, target_rate, achieved_rate, p50_ms, p95_ms, p99_ms, samples, ...extra }) => ({
      name,
      target_rate,
      achieved_rate,
      p50_ms,
      p95_ms,
      p99_ms,
      samples,
      ...extra,
    })),
  );
  const at = new Date().toISOString();
  const file = join(root, 'bench', 'last-run.json');
  const fresh = rows.map((r) => ({ ...r, at }));
  // A partial run (ONLY) keeps the rows it did not run, in their places.
  const last = prefixes.length && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { at: string; rows: BenchRow[] }) : null;
  const kept: BenchRow[] = last ? last.rows.map((r) => ({ at: last.at, ...r })) : [];
  const merged = kept.map((old) => fresh.find((r) => r.name === old.name) ?? old);
  merged.push(...fresh.filter((r) => !kept.some((old) => old.name === r.name)));
  writeFileSync(file, `${JSON.stringify({ at, rows: prefixes.length ? merged : fresh }, null, 2)}\n`);
  console.error('wrote bench/last-run.json');
  process.exit(rows.some((r) => r.error) ? 1 : 0);
}

void main();
