/**
 * A FerretDB of the chaos run's own (deploy/local/ferretdb.sh with OMNIMALL_DATA + FERRETDB_PORT):
 * its own SQLite store under the run's temp dir, on a free port, never the shared one. `kill()` is a
 * SIGKILL and returns once the process is gone; `start()` is the script's start (as `make up` does)
 * and returns the moment it accepts connections.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, ROOT } from '../../e2e/support/stack';

const run = promisify(execFile);

export class ThrowawayFerretDb {
  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async create(dataDir: string): Promise<ThrowawayFerretDb> {
    const db = new ThrowawayFerretDb(dataDir, await freePort());
    await db.start();
    return db;
  }

  get url(): string {
    return `mongodb://127.0.0.1:${this.port}`;
  }

  private script(cmd: 'start' | 'stop'): Promise<unknown> {
    const env: NodeJS.ProcessEnv = { ...process.env, OMNIMALL_DATA: this.dataDir, FERRETDB_PORT: String(this.port) };
    delete env.MONGO_URL;
    return run('bash', [join(ROOT, 'deploy/local/ferretdb.sh'), cmd], { env });
  }

  async start(): Promise<number> {
    await this.script('start');
    return Date.now();
  }

  async kill(): Promise<number> {
    const pid = Number(readFileSync(join(this.dataDir, 'run', 'ferretdb.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    for (;;) {
      try {
        process.kill(pid, 0);
        if (/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) break;
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return killedAt;
  }

  stop(): Promise<unknown> {
    return this.script('stop');
  }
}
