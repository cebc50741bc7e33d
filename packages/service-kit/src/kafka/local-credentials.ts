/**
 * The local stack's Kafka credentials: deploy/local/kafka.sh generates a password per principal
 * (admin, schema-registry, each service, partner-<code>) into `$OMNIMALL_DATA/kafka/secrets.json`
 * (default `<repo>/.local-data`, git-ignored). Tests, the e2e stack and the topics step read them
 * from there, so a test talks to the local broker as the principal it stands for.
 *
 * Guarantees: explicit settings win — when KAFKA_SASL_MECHANISM is set, nothing is read from the
 * file; without the file (a plaintext broker, or a cluster configured through the environment)
 * nothing is added. Local mode only: a deployment passes KAFKA_SASL_* and has no such file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PARTNER_CODE } from '@omnimall/contracts';

export interface LocalSecrets {
  mechanism: string;
  users: Record<string, string>;
}

/** The tooling's principal: a super user of the local broker. */
export const ADMIN_PRINCIPAL = 'admin';

/** Where kafka.sh writes the local credentials (OMNIMALL_KAFKA_SECRETS, else $OMNIMALL_DATA/kafka/secrets.json). */
export function localSecretsFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OMNIMALL_KAFKA_SECRETS) return env.OMNIMALL_KAFKA_SECRETS;
  // this file is packages/service-kit/{src,dist}/kafka/: four levels below the repository
  const data = env.OMNIMALL_DATA ?? join(resolve(__dirname, '..', '..', '..', '..'), '.local-data');
  return join(data, 'kafka', 'secrets.json');
}

/** The local credentials, or null when the local stack has none (a plaintext or external broker). */
export function readLocalSecrets(env: NodeJS.ProcessEnv = process.env): LocalSecrets | null {
  const file = localSecretsFile(env);
  if (!existsSync(file)) return null;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalSecrets>;
  if (!parsed.users || typeof parsed.users !== 'object')
    throw new Error(`${file} has no users: delete it and restart Kafka (deploy/local/kafka.sh)`);
  return { mechanism: parsed.mechanism ?? 'scram-sha-512', users: parsed.users };
}

/**
 * The KAFKA_SASL_* variables of a local principal, to merge into an environment; with
 * `fallbackToAdmin`, a name without credentials of its own (a test's simulated producer) gets the
 * admin's. Empty when the environment already says how to authenticate, or there is no local file.
 */
export function localKafkaEnv(
  principal: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { fallbackToAdmin?: boolean } = {},
): Record<string, string> {
  if (env.KAFKA_SASL_MECHANISM) return {};
  const secrets = readLocalSecrets(env);
  if (!secrets) return {};
  const user = secrets.users[principal] !== undefined ? principal : opts.fallbackToAdmin ? ADMIN_PRINCIPAL : undefined;
  if (!user || secrets.users[user] === undefined)
    throw new Error(
      `no local Kafka credentials for ${principal} in ${localSecretsFile(env)} (restart Kafka: deploy/local/kafka.sh adds them)`,
    );
  return { KAFKA_SASL_MECHANISM: secrets.mechanism, KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: secrets.users[user] };
}

/** The partner codes: KAFKA_PARTNERS (comma-separated), else the local stack's `partner-<code>` principals. */
export function partnersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = env.KAFKA_PARTNERS?.split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const partners =
    listed ??
    Object.keys(readLocalSecrets(env)?.users ?? {}).flatMap((u) => (u.startsWith('partner-') ? [u.slice('partner-'.length)] : []));
  const bad = partners.filter((p) => !PARTNER_CODE.test(p));
  if (bad.length) throw new Error(`KAFKA_PARTNERS: ${bad.join(', ')} not a partner code (${PARTNER_CODE.source})`);
  return [...new Set(partners)].sort();
}
