/**
 * The one shape of services/README.md, held by tests rather than by reading: every service's
 * composition root is a `defineService` handle carrying its event manifest; its domain loads nothing
 * with I/O, even indirectly (checked by loading every domain file in a fresh node process and listing
 * what it pulled in); nothing outside `store/` imports mongoose; and no source file exceeds 450 lines.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const SERVICES = readdirSync(join(ROOT, 'services')).filter((s) => statSync(join(ROOT, 'services', s)).isDirectory());
const MAX_LINES = 450;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Modules a fresh node process loads for these files that a domain must not depend on. */
function ioModulesLoadedBy(files: string[]): string[] {
  const script = `
    for (const f of process.argv.slice(1)) require(f);
    const io = /node_modules\\/(mongoose|mongodb|kafkajs|express|@kafkajs)\\/|service-kit\\/(dist|src)\\/index\\./;
    console.log(JSON.stringify([...new Set(Object.keys(require.cache).filter((p) => io.test(p)).map((p) => p.replace(/.*node_modules\\//, '').split('/').slice(0, 2).join('/')))]));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script, ...files], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as string[];
}

describe('the one shape of every service', () => {
  it('finds the nine services it checks', () => {
    expect(SERVICES.sort()).toEqual([
      'audit',
      'cart',
      'catalog-sync',
      'channels',
      'identity',
      'inventory',
      'orders',
      'promotions',
      'sync-monitor',
    ]);
  });

  it.each(SERVICES)('%s: main.ts exports a defineService handle that carries the manifest of events/index.ts', (service) => {
    const main = require(join(ROOT, 'services', service, 'src', 'main.ts')) as Record<string, unknown>;
    const { manifest } = require(join(ROOT, 'services', service, 'src', 'events')) as { manifest: unknown };
    const handles = Object.values(main).filter(
      (v): v is { name: string; events: unknown; start: unknown; run: unknown } =>
        typeof v === 'object' && v !== null && 'start' in v && 'run' in v && 'events' in v,
    );
    expect(handles.map((h) => h.name)).toEqual([service]);
    expect(handles[0].events).toBe(manifest);
  });

  it.each(SERVICES)(
    '%s: the domain loads no I/O library and not the kit barrel, even indirectly',
    (service) => {
      const domain = sources(join(ROOT, 'services', service, 'src', 'domain'));
      expect(domain.length).toBeGreaterThan(0);
      expect(ioModulesLoadedBy(domain)).toEqual([]);
    },
    60_000,
  );

  it('the I/O check is not blind: a composition root loads mongoose, kafkajs and express', () => {
    expect(ioModulesLoadedBy([join(ROOT, 'services', 'cart', 'src', 'main.ts')])).toEqual(
      expect.arrayContaining(['mongoose/lib', 'kafkajs/index.js', 'express/index.js']),
    );
  }, 60_000);

  it.each(SERVICES)('%s: only store/ imports mongoose', (service) => {
    const src = join(ROOT, 'services', service, 'src');
    const outside = sources(src)
      .filter((f) => !relative(src, f).startsWith('store/'))
      .filter((f) => /from 'mongoose'|require\('mongoose'\)/.test(readFileSync(f, 'utf8')));
    expect(outside.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('no source file of a service or package exceeds 450 lines (generated code aside)', () => {
    const roots = [
      ...SERVICES.map((s) => join(ROOT, 'services', s, 'src')),
      ...readdirSync(join(ROOT, 'packages')).map((p) => join(ROOT, 'packages', p, 'src')),
    ];
    const long = roots
      .flatMap(sources)
      .filter((f) => !f.includes('/generated/'))
      .map((f) => ({ file: relative(ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length }))
      .filter((x) => x.lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});
