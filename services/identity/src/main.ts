import { createPublicKey } from 'node:crypto';
import type { Server } from 'node:http';
import type { Express } from 'express';
import {
  createHttpApp,
  type EventConsumer,
  loadPlatformConfig,
  type PlatformConfig,
  runService,
  ServiceRuntime,
  TokenSigner,
  TokenVerifier,
} from '@omnimall/service-kit';
import type { IdentityContext, IdentitySettings } from './application/context';
import { bootstrapAdmin } from './application/auth';
import { DEFAULT_THROTTLE } from './domain/login-throttle';
import { DEFAULT_SCRYPT } from './domain/passwords';
import { parseChannelDataRegions } from './domain/residency';
import { onChannelChanged } from './events/channel-changed';
import { identityApi } from './http/routes';
import { backfillCustomerEmailsOnce, ensureIndexes, identityModels } from './store/models';

export const IDENTITY_PRODUCES = [
  'identity.customer-status',
  'identity.identity-linked',
  'identity.customer-merged',
  'identity.consent-changed',
  'identity.compliance-violation',
  'identity.data-request',
] as const;

export interface IdentityDeps {
  /** Signs access tokens; default TokenSigner.fromEnv (AUTH_PRIVATE_KEY / AUTH_PRIVATE_KEY_FILE). */
  signer?: TokenSigner;
  /** Verifies access tokens on identity's own routes; default: the public half of the signing key, or AUTH_PUBLIC_KEY. */
  verifier?: TokenVerifier;
  settings?: Partial<IdentitySettings>;
  env?: NodeJS.ProcessEnv;
  /**
   * Consumer group of a purpose; default `identity.<purpose>`, shared by every instance (they share
   * the database). Tests that run several instances on separate databases give each its own group.
   */
  consumerGroup?: (purpose: string) => string;
  /**
   * A new consumer group reads channels.channel-changed from the beginning (default), so a fresh
   * deployment learns every channel; tests with throwaway groups start at the end instead.
   */
  replayChannelHistory?: boolean;
}

export interface IdentityService {
  runtime: ServiceRuntime;
  app: Express;
  server: Server;
  ctx: IdentityContext;
  consumers: EventConsumer[];
  stop(): Promise<void>;
}

/** Identity's settings from the environment (tests override them through deps.settings). */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): IdentitySettings {
  const email = env.BOOTSTRAP_ADMIN_EMAIL?.trim();
  const password = env.BOOTSTRAP_ADMIN_PASSWORD;
  return {
    accessTokenTtlSeconds: Number(env.ACCESS_TOKEN_TTL_SECONDS ?? 900),
    refreshTokenTtlMs: Number(env.REFRESH_TOKEN_TTL_DAYS ?? 30) * 86_400_000,
    throttle: DEFAULT_THROTTLE,
    scrypt: DEFAULT_SCRYPT,
    channelDataRegions: parseChannelDataRegions(env.CHANNEL_DATA_REGIONS),
    erasureSalt: env.ERASURE_SALT ?? 'omnimall-identity-erasure',
    bootstrapAdmin: email && password ? { email, password } : null,
  };
}

async function verifierFor(signerPem: string | undefined, env: NodeJS.ProcessEnv): Promise<TokenVerifier> {
  if (env.AUTH_PUBLIC_KEY || env.AUTH_PUBLIC_KEY_FILE) return TokenVerifier.fromEnv(env);
  if (!signerPem) throw new Error('identity needs AUTH_PUBLIC_KEY(_FILE) or AUTH_PRIVATE_KEY(_FILE) to verify its own tokens');
  return TokenVerifier.fromPem(createPublicKey(signerPem).export({ type: 'spki', format: 'pem' }).toString());
}

/** Composition root: models, token keys, the channels projection, the HTTP API and the bootstrap admin. */
export async function startIdentity(config: PlatformConfig, deps: IdentityDeps = {}): Promise<IdentityService> {
  const env = deps.env ?? process.env;
  const settings: IdentitySettings = { ...settingsFromEnv(env), ...deps.settings };
  const signer = deps.signer ?? (await TokenSigner.fromEnv(env));
  const privatePem =
    env.AUTH_PRIVATE_KEY?.replace(/\\n/g, '\n') ??
    (env.AUTH_PRIVATE_KEY_FILE ? (await import('node:fs')).readFileSync(env.AUTH_PRIVATE_KEY_FILE, 'utf8') : undefined);
  const verifier = deps.verifier ?? (await verifierFor(privatePem, env));

  const runtime = await ServiceRuntime.start({ config, produces: IDENTITY_PRODUCES });
  try {
    const m = identityModels(runtime.db, runtime.outbox);
    await ensureIndexes(m);
    await backfillCustomerEmailsOnce(m);
    const ctx: IdentityContext = { rt: runtime, m, signer, settings };
    await bootstrapAdmin(ctx);
    const channels = await runtime.consume({
      group: (deps.consumerGroup ?? ((purpose: string) => `identity.${purpose}`))('channel-rules'),
      handlers: { 'channels.channel-changed': onChannelChanged(m.ChannelRule) },
      dedupe: 'in-document',
      fromBeginning: deps.replayChannelHistory ?? true,
    });
    const app = createHttpApp({
      service: config.service,
      logger: runtime.logger,
      metrics: runtime.metrics,
      api: identityApi(ctx, verifier),
      readiness: () => runtime.readiness(),
    });
    // Behind a proxy on this host, the client address (per-address login throttling) comes from X-Forwarded-For.
    app.set('trust proxy', 'loopback');
    const server = await runtime.listen(app);
    return { runtime, app, server, ctx, consumers: [channels], stop: () => runtime.stop() };
  } catch (err) {
    await runtime.stop();
    throw err;
  }
}

if (require.main === module) runService('identity', () => startIdentity(loadPlatformConfig('identity', 4001)));
