/**
 * The README's quick start never goes stale: its ```sh blocks are run as they are, one after the other
 * in one bash (`-e -o pipefail`), against a stack of every service on free ports whose addresses reach
 * them through the variables the walkthrough reads (IDENTITY_URL, …, with make up's ports as
 * defaults), and the bootstrap admin through BOOTSTRAP_ADMIN_EMAIL / _PASSWORD as make up passes it.
 * The last command must print the cart filled on the app as the web shop shows it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logsOnFailure, ROOT, startStack, type Stack } from '../support/stack';

let stack: Stack | undefined;
const withLogs = logsOnFailure(() => stack);

/** The ```sh blocks of the README's "Quick start" section, in order. */
function quickStartBlocks(markdown: string): string[] {
  const start = markdown.search(/^## Quick start$/m);
  if (start < 0) throw new Error('README.md has no "## Quick start" section');
  const rest = markdown.slice(start + 1);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

function runBash(
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', script], { cwd: tmpdir(), env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', fail);
    child.once('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

it('finds the quick start’s shell blocks, and they read every address from a variable with make up’s port as its default', () => {
  const blocks = quickStartBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  expect(blocks.length).toBeGreaterThanOrEqual(3);
  const text = blocks.join('\n');
  for (const [variable, port] of [
    ['IDENTITY_URL', 4001],
    ['CHANNELS_URL', 4002],
    ['CATALOG_SYNC_URL', 4003],
    ['CART_URL', 4005],
  ] as const)
    expect(text).toContain(`\${${variable}:-http://127.0.0.1:${port}}`);
  // no address written out anywhere else
  expect(text.match(/127\.0\.0\.1:\d+/g)).toHaveLength(4);
});

it(
  'runs the README’s curl walkthrough verbatim: admin login, two channels to active, a customer, a cart on the app seen on the web shop',
  () =>
    withLogs(async () => {
      const blocks = quickStartBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
      const dir = mkdtempSync(join(tmpdir(), 'omnimall-readme-'));
      try {
        const script = join(dir, 'quick-start.sh');
        writeFileSync(script, blocks.join('\n'));
        const s = stack!;
        const r = await runBash(
          script,
          {
            IDENTITY_URL: s.url('identity'),
            CHANNELS_URL: s.url('channels'),
            CATALOG_SYNC_URL: s.url('catalog-sync'),
            CART_URL: s.url('cart'),
            BOOTSTRAP_ADMIN_EMAIL: s.admin.email,
            BOOTSTRAP_ADMIN_PASSWORD: s.admin.password,
          },
          90_000,
        );
        const lines = r.stdout.trim().split('\n');
        if (r.code !== 0) throw new Error(`the walkthrough exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
        // each channel went through its onboarding to active
        expect(lines.filter((l) => l === 'active')).toHaveLength(2);
        // the last command: the web shop's view of the cart filled on the app
        expect(lines[lines.length - 1]).toMatch(/^web-(qs\d+) mug-\1-blue 2 app-\1$/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  120_000,
);
