/**
 * Composition root: Kafka client -> store (replays `_schemas`) -> registry -> HTTP, listening only
 * once the state is loaded. Env: PORT (8081), HOST (127.0.0.1), KAFKA_BROKERS (127.0.0.1:9092),
 * SCHEMAS_TOPIC (_schemas), and on a secured broker KAFKA_SASL_MECHANISM / KAFKA_SASL_USERNAME /
 * KAFKA_SASL_PASSWORD (deploy/local/schema-registry.sh passes the `schema-registry` principal's).
 * AUTH_FILE: the users who may call the HTTP API (basic auth, roles read/write; auth.ts); unset,
 * the API is open (deploy/local/schema-registry.sh always sets it).
 */
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { loadUsers } from './auth';
import { createApp } from './http';
import { Registry } from './registry';
import { KafkaStore } from './store';

const log = (message: string): void => console.log(`${new Date().toISOString()} ${message}`);

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'];

/** SASL from the environment; a mechanism without its username and password refuses the start. */
function saslFromEnv(env = process.env): { sasl?: SASLOptions } {
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
  if (!mechanism) return {};
  const { KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = env;
  if (!MECHANISMS.includes(mechanism) || !username || !password)
    throw new Error(`KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(', ')}, with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
  return { sasl: { mechanism, username, password } as SASLOptions };
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8081);
  const host = process.env.HOST ?? '127.0.0.1';
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
  const topic = process.env.SCHEMAS_TOPIC ?? '_schemas';
  const users = process.env.AUTH_FILE ? loadUsers(process.env.AUTH_FILE) : new Map();

  const kafka = new Kafka({ clientId: 'local-schema-registry', brokers, logLevel: logLevel.WARN, ...saslFromEnv() });
  const store = new KafkaStore(kafka, { topic, loadTimeoutMs: 60_000, log });
  await store.load();

  const server = createApp(new Registry(store), users).listen(port, host, () => {
    log(
      `schema registry listening on http://${host}:${port} (kafka ${brokers.join(',')}, topic ${topic}, ${users.size ? `basic auth, ${users.size} users` : 'no authentication'})`,
    );
  });
  server.on('error', (err) => {
    console.error(`cannot listen on ${host}:${port}:`, err.message);
    process.exit(1);
  });

  const shutdown = (signal: string): void => {
    log(`${signal}: shutting down`);
    server.close();
    server.closeAllConnections();
    void store.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('schema registry failed to start:', err);
  process.exit(1);
});
