/**
 * Where a service finds its servers: read from the environment once, with loopback defaults, and
 * refused at start with every bad variable named.
 */
import { z } from 'zod';

/**
 * Where a service finds its servers. Every value has a loopback default so `make up` needs no
 * configuration; MONGO_URL / KAFKA_BROKERS / SCHEMA_REGISTRY_URL point at existing servers instead.
 */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().default('127.0.0.1'),
  KAFKA_BROKERS: z.string().default('127.0.0.1:9092'),
  MONGO_URL: z.string().default('mongodb://127.0.0.1:27017'),
  MONGO_DB: z.string().optional(),
  SCHEMA_REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  INSTANCE_ID: z.string().optional(),
});

export interface PlatformConfig {
  service: string;
  instanceId: string;
  httpHost: string;
  httpPort: number;
  kafkaBrokers: string[];
  mongoUrl: string;
  dbName: string;
  schemaRegistryUrl: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

export function loadPlatformConfig(
  service: string,
  defaultPort: number,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<PlatformConfig> = {},
): PlatformConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment for ${service}: ${fields}`);
  }
  const e = parsed.data;
  return {
    service,
    instanceId: e.INSTANCE_ID ?? `${service}-${process.pid}`,
    httpHost: e.HOST,
    httpPort: e.PORT ?? defaultPort,
    kafkaBrokers: e.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    mongoUrl: e.MONGO_URL,
    dbName: e.MONGO_DB ?? service.replace(/-/g, '_'),
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL,
    logLevel: e.LOG_LEVEL,
    ...overrides,
  };
}
