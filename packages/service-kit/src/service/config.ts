/**
 * Where a service finds its servers and how it proves who it is to them: read from the environment
 * once, with loopback defaults, and refused at start with every bad variable named (including a
 * half-given Kafka TLS/SASL or registry credential, see kafka/security.ts).
 */
import { z } from 'zod';
import {
  checkSecurityEnv,
  describeIssues,
  kafkaSecurityOf,
  registryAuthOf,
  securityEnvShape,
  type KafkaSecurity,
  type RegistryAuth,
} from '../kafka/security';
import { tokenKeysFromEnv, type TokenKeyConfig } from '../auth/tokens';

/**
 * Where a service finds its servers. Every value has a loopback default so `make up` needs no
 * configuration; MONGO_URL / KAFKA_BROKERS / SCHEMA_REGISTRY_URL point at existing servers instead.
 */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Serve /metrics on this port only (and not on PORT), so a network policy can keep it off the public port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().default('127.0.0.1'),
  KAFKA_BROKERS: z.string().default('127.0.0.1:9092'),
  MONGO_URL: z.string().default('mongodb://127.0.0.1:27017'),
  MONGO_DB: z.string().optional(),
  SCHEMA_REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  INSTANCE_ID: z.string().optional(),
  ...securityEnvShape,
});

export interface PlatformConfig {
  service: string;
  instanceId: string;
  httpHost: string;
  httpPort: number;
  /**
   * METRICS_PORT: /metrics is served on this port alone (0: any free port) and not on httpPort, so
   * the chart's NetworkPolicy admits scrapers to it from the monitoring namespace only. Unset: /metrics
   * is on httpPort (the local platform).
   */
  metricsPort?: number;
  kafkaBrokers: string[];
  mongoUrl: string;
  dbName: string;
  schemaRegistryUrl: string;
  /** TLS and SASL of every Kafka client the kit makes for the service (KAFKA_SSL*, KAFKA_SASL_*). */
  kafkaSecurity: KafkaSecurity;
  /** Basic auth for the schema registry (SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD). */
  schemaRegistryAuth?: RegistryAuth;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /**
   * Token keys besides those identity publishes on identity.signing-keys (AUTH_PUBLIC_KEY(_FILE),
   * AUTH_PUBLIC_KEYS_FILE, AUTH_PRIVATE_KEY(_FILE)); all optional. Tests add the test key pair.
   */
  tokenKeys: TokenKeyConfig;
}

export function loadPlatformConfig(
  service: string,
  defaultPort: number,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<PlatformConfig> = {},
): PlatformConfig {
  const parsed = envSchema.superRefine(checkSecurityEnv).safeParse(env);
  if (!parsed.success) throw new Error(`invalid environment for ${service}: ${describeIssues(parsed.error.issues)}`);
  const e = parsed.data;
  let kafkaSecurity: KafkaSecurity;
  let tokenKeys: TokenKeyConfig;
  try {
    kafkaSecurity = kafkaSecurityOf(e);
    tokenKeys = tokenKeysFromEnv(env);
  } catch (err) {
    throw new Error(`invalid environment for ${service}: ${(err as Error).message}`);
  }
  return {
    service,
    instanceId: e.INSTANCE_ID ?? `${service}-${process.pid}`,
    httpHost: e.HOST,
    httpPort: e.PORT ?? defaultPort,
    metricsPort: e.METRICS_PORT,
    kafkaBrokers: e.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    mongoUrl: e.MONGO_URL,
    dbName: e.MONGO_DB ?? service.replace(/-/g, '_'),
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL,
    kafkaSecurity,
    schemaRegistryAuth: registryAuthOf(e),
    logLevel: e.LOG_LEVEL,
    tokenKeys,
    ...overrides,
  };
}
