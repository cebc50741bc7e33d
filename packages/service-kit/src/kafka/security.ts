/**
 * How a process authenticates to Kafka and to the schema registry, read from the environment:
 *
 *   KAFKA_SASL_MECHANISM   scram-sha-512 | scram-sha-256 | plain (any case); unset: no SASL
 *   KAFKA_SASL_USERNAME    required with a mechanism
 *   KAFKA_SASL_PASSWORD    required with a mechanism
 *   KAFKA_SSL              true | false; unset: TLS when any KAFKA_SSL_*_FILE is set
 *   KAFKA_SSL_CA_FILE      PEM bundle of the CAs to trust (default: the system's)
 *   KAFKA_SSL_CERT_FILE    client certificate (mutual TLS), PEM; with KAFKA_SSL_KEY_FILE
 *   KAFKA_SSL_KEY_FILE     its private key, PEM
 *   SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD   basic auth for the registry, both or neither
 *
 * Guarantees: a half-given setting (a mechanism without a password, a certificate without its key,
 * a file that cannot be read, KAFKA_SSL=false with TLS files) is refused at start with every problem
 * named, never silently dropped into an unauthenticated connection. Files are read once here, so a
 * missing file fails the start rather than the first reconnect. Secrets never appear in messages.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { z } from 'zod';

export const SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  /** Absent: plaintext. `{}`: TLS trusting the system's CAs. */
  ssl?: { ca?: string; cert?: string; key?: string };
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

export interface RegistryAuth {
  username: string;
  password: string;
}

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/** The environment variables of this file, as zod reads them (merged into the platform's schema). */
export const securityEnvShape = {
  KAFKA_SASL_MECHANISM: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim().toLowerCase()))
    .pipe(z.enum(SASL_MECHANISMS, { error: `expected one of ${SASL_MECHANISMS.join(', ')}` }).optional()),
  KAFKA_SASL_USERNAME: optionalText,
  KAFKA_SASL_PASSWORD: optionalText,
  KAFKA_SSL: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim().toLowerCase()))
    .pipe(z.enum(['true', 'false'], { error: 'expected true or false' }).optional()),
  KAFKA_SSL_CA_FILE: optionalText,
  KAFKA_SSL_CERT_FILE: optionalText,
  KAFKA_SSL_KEY_FILE: optionalText,
  SCHEMA_REGISTRY_USER: optionalText,
  SCHEMA_REGISTRY_PASSWORD: optionalText,
};

const securityEnv = z.object(securityEnvShape);
export type SecurityEnv = z.infer<typeof securityEnv>;

/** Checks that settings which only make sense together are given together; adds one issue per problem. */
export function checkSecurityEnv(
  e: SecurityEnv,
  ctx: { addIssue(issue: { code: 'custom'; path: string[]; message: string }): void },
): void {
  const issue = (path: string, message: string): void => ctx.addIssue({ code: 'custom', path: [path], message });
  if (e.KAFKA_SASL_MECHANISM) {
    if (!e.KAFKA_SASL_USERNAME) issue('KAFKA_SASL_USERNAME', `required with KAFKA_SASL_MECHANISM=${e.KAFKA_SASL_MECHANISM}`);
    if (!e.KAFKA_SASL_PASSWORD) issue('KAFKA_SASL_PASSWORD', `required with KAFKA_SASL_MECHANISM=${e.KAFKA_SASL_MECHANISM}`);
  } else if (e.KAFKA_SASL_USERNAME || e.KAFKA_SASL_PASSWORD) {
    issue('KAFKA_SASL_MECHANISM', `required with KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD (one of ${SASL_MECHANISMS.join(', ')})`);
  }
  const files = (['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const).filter((k) => e[k]);
  if (e.KAFKA_SSL === 'false' && files.length) issue('KAFKA_SSL', `is false, but ${files.join(', ')} asks for TLS`);
  if (!!e.KAFKA_SSL_CERT_FILE !== !!e.KAFKA_SSL_KEY_FILE)
    issue(
      e.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE',
      'a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    );
  if (!!e.SCHEMA_REGISTRY_USER !== !!e.SCHEMA_REGISTRY_PASSWORD)
    issue(
      e.SCHEMA_REGISTRY_USER ? 'SCHEMA_REGISTRY_PASSWORD' : 'SCHEMA_REGISTRY_USER',
      'basic auth needs both SCHEMA_REGISTRY_USER and SCHEMA_REGISTRY_PASSWORD',
    );
}

/**
 * The security settings of checked variables, TLS files read. Throws one error naming every file
 * that cannot be read (path and reason, never contents).
 */
export function kafkaSecurityOf(e: SecurityEnv, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): KafkaSecurity {
  const out: KafkaSecurity = {};
  if (e.KAFKA_SASL_MECHANISM && e.KAFKA_SASL_USERNAME && e.KAFKA_SASL_PASSWORD)
    out.sasl = { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME, password: e.KAFKA_SASL_PASSWORD };
  const wantsTls =
    e.KAFKA_SSL === 'true' || (e.KAFKA_SSL === undefined && !!(e.KAFKA_SSL_CA_FILE || e.KAFKA_SSL_CERT_FILE || e.KAFKA_SSL_KEY_FILE));
  if (!wantsTls) return out;
  const problems: string[] = [];
  const file = (name: string, path: string | undefined): string | undefined => {
    if (!path) return undefined;
    try {
      return read(path);
    } catch (err) {
      problems.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
  };
  const ssl = {
    ca: file('KAFKA_SSL_CA_FILE', e.KAFKA_SSL_CA_FILE),
    cert: file('KAFKA_SSL_CERT_FILE', e.KAFKA_SSL_CERT_FILE),
    key: file('KAFKA_SSL_KEY_FILE', e.KAFKA_SSL_KEY_FILE),
  };
  if (problems.length) throw new Error(problems.join('; '));
  out.ssl = Object.fromEntries(Object.entries(ssl).filter(([, v]) => v !== undefined));
  return out;
}

export function registryAuthOf(e: SecurityEnv): RegistryAuth | undefined {
  return e.SCHEMA_REGISTRY_USER && e.SCHEMA_REGISTRY_PASSWORD
    ? { username: e.SCHEMA_REGISTRY_USER, password: e.SCHEMA_REGISTRY_PASSWORD }
    : undefined;
}

/** Reads and checks only the security variables (for tools that are not services: the topics step, benches). */
export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): { kafka: KafkaSecurity; registry?: RegistryAuth } {
  const parsed = securityEnv.superRefine(checkSecurityEnv).safeParse(env);
  if (!parsed.success) throw new Error(`invalid environment: ${describeIssues(parsed.error.issues)}`);
  return { kafka: kafkaSecurityOf(parsed.data), registry: registryAuthOf(parsed.data) };
}

export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
}

/** The kafkajs options of a security setting: `ssl` and `sasl`, each only when set. */
export function kafkaConnectionOptions(security: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security?.ssl) out.ssl = Object.keys(security.ssl).length ? (security.ssl as ConnectionOptions) : true;
  if (security?.sasl) out.sasl = { ...security.sasl } as SASLOptions;
  return out;
}

/** The Authorization header value for registry basic auth. */
export function basicAuthHeader(auth: RegistryAuth): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}
