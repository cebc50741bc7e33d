/**
 * A Kafka of a crash test's own (deploy/local/kafka.sh with OMNIMALL_DATA + ports), beside the shared
 * one, which is never touched: free ports, a fresh store in a temp dir, the catalogue's topics and ACLs
 * (the topics step), and credentials of its own (its secrets.json). The test may SIGKILL it and start it
 * again on the same store, as an operator's `make up` after a crash would.
 *
 * Guarantees: `kill()` returns once the process is gone (so the next `start()` sees an unclean stop, not
 * a broker "already running"); `start()` resolves when kafka.sh saw "Kafka Server started" and returns
 * that moment; `destroy()` stops it (controlled) and removes the store. `client()` connects to the
 * broker's real port whatever it advertises (`advertisedPort`, where a test's TCP proxy listens), so the
 * test's own observers see the broker even while the proxy holds or drops the services' traffic.
 * The schema registry stays the shared one: its state is in the shared Kafka, and the subjects are
 * the same, so ids agree.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { localKafkaEnv } from '@omnimall/service-kit/testing';
import { freePort, ROOT } from './stack';

const run = promisify(execFile);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    // a zombie (killed, not reaped by its bash parent yet) is gone for our purpose
    return !/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

export class ThrowawayKafka {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'omnimall-kafka-'));
  port = 0;
  private controllerPort = 0;

  private constructor(readonly advertisedPort?: number) {}

  /**
   * Formats and starts a broker, then creates the catalogue's topics and ACLs on it. With
   * `advertisedPort` (a proxy's), `onPort` learns the broker's own port before it starts, so the proxy
   * can forward there (the topics step already goes through it).
   */
  static async create(opts: { advertisedPort?: number; onPort?: (port: number) => void } = {}): Promise<ThrowawayKafka> {
    const k = new ThrowawayKafka(opts.advertisedPort);
    k.port = await freePort();
    k.controllerPort = await freePort();
    opts.onPort?.(k.port);
    await k.start();
    await run(process.execPath, [join(ROOT, 'packages/service-kit/dist/cli/create-topics.js')], {
      cwd: ROOT,
      env: { ...process.env, ...k.env(), ...k.saslEnv('admin') },
    });
    return k;
  }

  get secretsFile(): string {
    return join(this.dataDir, 'kafka', 'secrets.json');
  }

  get brokers(): string {
    return `127.0.0.1:${this.advertisedPort ?? this.port}`;
  }

  /** What a service needs to use this broker: the brokers and where its credentials are (stack.ts reads them). */
  env(): Record<string, string> {
    return { KAFKA_BROKERS: this.brokers, OMNIMALL_KAFKA_SECRETS: this.secretsFile };
  }

  /** The KAFKA_SASL_* of one principal of this broker. */
  saslEnv(principal: string): Record<string, string> {
    const env: NodeJS.ProcessEnv = { ...process.env, OMNIMALL_KAFKA_SECRETS: this.secretsFile };
    delete env.KAFKA_SASL_MECHANISM;
    return localKafkaEnv(principal, env);
  }

  private script(cmd: 'start' | 'stop'): Promise<{ stdout: string }> {
    return run('bash', [join(ROOT, 'deploy/local/kafka.sh'), cmd], {
      env: {
        ...process.env,
        OMNIMALL_DATA: this.dataDir,
        KAFKA_PORT: String(this.port),
        KAFKA_CONTROLLER_PORT: String(this.controllerPort),
        KAFKA_ADVERTISED_PORT: String(this.advertisedPort ?? this.port),
      },
    });
  }

  pid(): number | null {
    const file = join(this.dataDir, 'run', 'kafka.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : null;
  }

  /** Starts the broker (after a kill: recovers its logs) and returns when it is ready (Date.now()). */
  async start(): Promise<number> {
    await this.script('start');
    return Date.now();
  }

  /** SIGKILL, as a crash would; resolves once the process is gone. */
  async kill(): Promise<number> {
    const pid = this.pid();
    if (!pid) throw new Error('throwaway Kafka: no pid');
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
    return killedAt;
  }

  /** A raw client as `principal` (default admin) that always reaches the broker itself, never a proxy. */
  client(principal = 'admin'): Kafka {
    const sasl = this.saslEnv(principal);
    return new Kafka({
      clientId: `crash-observer-${principal}`,
      brokers: [`127.0.0.1:${this.port}`],
      logLevel: logLevel.NOTHING,
      socketFactory: ({ onConnect }) => {
        const socket = connect({ host: '127.0.0.1', port: this.port }, onConnect);
        socket.setKeepAlive(true, 30_000);
        return socket;
      },
      sasl: { mechanism: 'scram-sha-512', username: sasl.KAFKA_SASL_USERNAME, password: sasl.KAFKA_SASL_PASSWORD },
    });
  }

  /** Controlled stop, then the store goes. */
  async destroy(): Promise<void> {
    try {
      await this.script('stop');
    } finally {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}
