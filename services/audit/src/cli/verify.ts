/**
 * `npm run audit:verify`: an auditor's own check of the evidence log, with nothing of the audit
 * service's code but the open verifier (@omnimall/evidence). It reads the log page by page
 * (GET /audit/log) and every checkpoint (GET /audit/checkpoints), or an exported file, and checks each
 * record's hash, its chain, its payload, the offsets per partition, every checkpoint's Ed25519
 * signature and root, and that the log is not shorter than its largest checkpoint. Exit 0: intact;
 * 1: problems found (each printed); 2: could not run.
 *
 *   npm run audit:verify -- --url http://127.0.0.1:4009 --token "$AUDIT_TOKEN" [--key audit.pub.pem] [--out export.json]
 *   npm run audit:verify -- --file export.json --key audit.pub.pem
 *
 * The public key: `--key` (a PEM file the auditor obtained out of band) is what makes the check
 * independent; without it the keys the service publishes (GET /audit/keys) are used, and the output says so.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { verifyLog, type Checkpoint, type EvidenceRecord } from '@omnimall/evidence';

interface Args {
  url?: string;
  token?: string;
  file?: string;
  keys: string[];
  out?: string;
  json: boolean;
}

export interface Exported {
  records: EvidenceRecord[];
  checkpoints: Checkpoint[];
  keys: string[];
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): Args {
  const args: Args = { keys: [], json: false, token: env.AUDIT_TOKEN, url: env.AUDIT_URL };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--url') args.url = value();
    else if (a === '--token') args.token = value();
    else if (a === '--file') args.file = value();
    else if (a === '--key') args.keys.push(readFileSync(value(), 'utf8'));
    else if (a === '--out') args.out = value();
    else if (a === '--json') args.json = true;
    else throw new Error(`unknown argument ${a} (see the header of services/audit/src/cli/verify.ts)`);
  }
  if (!args.file && !args.url) args.url = 'http://127.0.0.1:4009';
  return args;
}

async function get<T>(url: string, token: string | undefined): Promise<T> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return (await res.json()) as T;
}

/** Reads the whole log, its checkpoints and the published keys from a running audit service. */
export async function download(url: string, token: string | undefined): Promise<Exported> {
  const records: EvidenceRecord[] = [];
  // pages by index window: a record removed from the store leaves a hole the verifier names, never a repeat
  for (let from = 0; ; from += 5000) {
    const page = await get<{ size: number; records: EvidenceRecord[] }>(`${url}/audit/log?from=${from}&limit=5000`, token);
    records.push(...page.records);
    if (from + 5000 >= page.size) break;
  }
  const checkpoints: Checkpoint[] = [];
  for (let before: number | undefined; ;) {
    const page = await get<Checkpoint[]>(`${url}/audit/checkpoints?limit=500${before ? `&before=${before}` : ''}`, token);
    checkpoints.push(...page);
    if (page.length < 500) break;
    before = page[page.length - 1].treeSize;
  }
  checkpoints.sort((a, b) => a.treeSize - b.treeSize);
  const keys = (await get<Array<{ publicPem: string }>>(`${url}/audit/keys`, undefined)).map((k) => k.publicPem);
  return { records, checkpoints, keys };
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<number> {
  let args: Args;
  let log: Exported;
  try {
    args = parse(argv, env);
    log = args.file ? (JSON.parse(readFileSync(args.file, 'utf8')) as Exported) : await download(args.url!, args.token);
    if (args.out) writeFileSync(args.out, JSON.stringify(log));
  } catch (err) {
    print(`audit:verify could not run: ${(err as Error).message}`);
    return 2;
  }
  const keys = args.keys.length ? args.keys : log.keys;
  const problems = verifyLog(log.records, log.checkpoints, keys);
  if (args.json)
    print(JSON.stringify({ ok: problems.length === 0, records: log.records.length, checkpoints: log.checkpoints.length, problems }));
  else {
    print(
      `${log.records.length} records, ${log.checkpoints.length} checkpoints, ${keys.length} key(s) ${args.keys.length ? 'given' : 'as published by the service (pass --key for an independent check)'}`,
    );
    for (const p of problems)
      print(
        `${p.kind}${p.index !== undefined ? ` #${p.index}` : ''}${p.checkpoint !== undefined ? ` checkpoint ${p.checkpoint}` : ''}: ${p.detail}`,
      );
    print(problems.length ? `${problems.length} problem(s): the log is NOT intact` : 'the log is intact');
  }
  return problems.length ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(2);
    },
  );
}
