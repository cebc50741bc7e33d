/**
 * identity's composition root: the store (indexes, the one-time e-mail backfill), the token keys
 * (their changes since the last start published on identity.signing-keys before anything else runs,
 * application/keys.ts), the bootstrap admin, the channel-rules projection (group
 * `identity.channel-rules`, from the beginning of channels.channel-changed so a fresh deployment
 * learns every channel), the loyalty tiers promotions decides (group `identity.loyalty-tiers`,
 * application/standing.ts), the retention worker (application/retention.ts: FerretDB has no TTL
 * indexes), and the HTTP API. The client
 * address (login delays, registration limits) comes from X-Forwarded-For as far as TRUST_PROXY says:
 * a list of proxy addresses goes to the kit's `trustProxy`; a hop count, which that string setting
 * cannot carry, is set on the express app directly.
 */
import type { Express } from 'express';
import { defineService, TokenSigner, TokenVerifier, type PlatformConfig, type PublicJwk, type RunningService } from '@omnimall/service-kit';
import type { IdentityContext } from './application/context';
import { publishSigningKeys } from './application/keys';
import { retentionWorker } from './application/retention';
import { bootstrapAdmin } from './application/staff';
import { manifest } from './events';
import { channelChangedIn } from './events/in/channels.channel-changed';
import { tierChangedIn } from './events/in/promotions.tier-changed';
import { identityApi } from './http';
import { settingsFromEnv, type IdentitySettings } from './settings';
import { createStore, type IdentityStore } from './store';

export { settingsFromEnv, type IdentitySettings } from './settings';

/** Test-only injections (the environment comes through StartOptions.env). */
export interface IdentityDeps {
  /** Signs access tokens; default the kit's `auth.signer` (AUTH_PRIVATE_KEY / AUTH_PRIVATE_KEY_FILE). */
  signer?: TokenSigner;
  /** Keys accepted (and published) besides the signing key and AUTH_PUBLIC_KEY(_FILE), AUTH_PUBLIC_KEYS_FILE. */
  verifier?: TokenVerifier;
  settings?: Partial<IdentitySettings>;
}

/** What tests and benchmarks reach through the running service. */
export interface IdentityExposes {
  /** The use cases' context (repositories, signer, settings). */
  ctx: IdentityContext;
  store: IdentityStore;
}

/** A started identity service (what `identityService.start` resolves to). */
export type RunningIdentity = RunningService<IdentityExposes>;

/**
 * The keys identity is configured with, which it publishes on identity.signing-keys and at
 * /.well-known/jwks.json: the signing key's public half, the platform's configured public keys
 * (AUTH_PUBLIC_KEY(_FILE), AUTH_PUBLIC_KEYS_FILE: the previous key during a rotation) and a test's
 * verifier's. Never the keys learnt from the topic: those are what identity published before.
 */
async function configuredKeys(
  config: PlatformConfig,
  env: NodeJS.ProcessEnv,
  signer: TokenSigner,
  given?: TokenVerifier,
): Promise<PublicJwk[]> {
  const configured = await TokenVerifier.fromConfig(config.tokenKeys, signer);
  const fromEnv = await TokenVerifier.fromEnv(env, { optional: true });
  return (await configured.with(...fromEnv.jwks().keys, ...(given?.jwks().keys ?? []))).jwks().keys;
}

/** How the setting reaches express: a list through the kit's `trustProxy`, a hop count on the app. */
function trustParts(trust: number | string): { trustProxy?: string; extendHttp?: (app: Express) => void } {
  return typeof trust === 'string' ? { trustProxy: trust } : { extendHttp: (app) => app.set('trust proxy', trust) };
}

export const identityService = defineService<IdentityDeps, IdentityExposes>({
  name: 'identity',
  port: 4001,
  events: manifest,
  async build({ runtime, deps, env, config, auth }) {
    const settings: IdentitySettings = { ...settingsFromEnv(env), ...deps.settings };
    const signer = deps.signer ?? auth.signer ?? (await TokenSigner.fromEnv(env));
    const keys = await configuredKeys(config, env, signer, deps.verifier);
    // The kit's verifier (bound to the trust state: published keys, revocations) plus identity's own keys.
    const verifier = await auth.verifier.with(...keys);
    const store = await createStore(runtime, settings);
    const ctx: IdentityContext = { store, locks: runtime.locks, logger: runtime.logger, signer, settings };
    await publishSigningKeys(store.signingKeys, keys, runtime.logger);
    await bootstrapAdmin(ctx);
    return {
      api: identityApi(ctx, { verifier, trust: auth.trust }),
      ...trustParts(settings.trustProxy),
      workers: [retentionWorker(ctx)],
      subscriptions: [
        {
          purpose: 'channel-rules',
          handlers: { 'channels.channel-changed': channelChangedIn(store.channelRules) },
          dedupe: 'in-document',
        },
        // promotions' loyalty tiers, applied as a standing change (customer-status republished)
        { purpose: 'loyalty-tiers', handlers: { 'promotions.tier-changed': tierChangedIn(ctx) }, dedupe: 'inbox' },
      ],
      exposes: { ctx, store },
    };
  },
});

if (require.main === module) identityService.run();
