/**
 * identity's composition root: the store (indexes, the one-time e-mail backfill), the token keys
 * (their changes since the last start published on identity.signing-keys before anything else runs,
 * application/keys.ts), the bootstrap admin, the channel-rules projection (group
 * `identity.channel-rules`, from the beginning of channels.channel-changed so a fresh deployment
 * learns every channel), the retention worker (application/retention.ts: FerretDB has no TTL
 * indexes), and the HTTP API. The client
 * address (login delays, registration limits) comes from X-Forwarded-For as far as TRUST_PROXY says:
 * a list of proxy addresses goes to the kit's `trustProxy`; a hop count, which that string setting
 * cannot carry, is set on the express app directly.
 */
import type { Express } from 'express';
import { defineService, TokenSigner, TokenVerifier, type RunningService } from '@omnimall/service-kit';
import type { IdentityContext } from './application/context';
import { publishSigningKeys } from './application/keys';
import { retentionWorker } from './application/retention';
import { bootstrapAdmin } from './application/staff';
import { manifest } from './events';
import { channelChangedIn } from './events/in/channels.channel-changed';
import { identityApi } from './http';
import { settingsFromEnv, type IdentitySettings } from './settings';
import { createStore, type IdentityStore } from './store';

export { settingsFromEnv, type IdentitySettings } from './settings';

/** Test-only injections (the environment comes through StartOptions.env). */
export interface IdentityDeps {
  /** Signs access tokens; default TokenSigner.fromEnv (AUTH_PRIVATE_KEY / AUTH_PRIVATE_KEY_FILE). */
  signer?: TokenSigner;
  /** Verifies access tokens on identity's own routes (the signing key is always added); default: AUTH_PUBLIC_KEY(_FILE), AUTH_PUBLIC_KEYS_FILE. */
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
 * The keys identity accepts (and publishes at /.well-known/jwks.json): the signing key's public half
 * plus the configured public keys (AUTH_PUBLIC_KEY(_FILE), AUTH_PUBLIC_KEYS_FILE: the previous key
 * during a rotation).
 */
async function verifierFor(env: NodeJS.ProcessEnv, signer: TokenSigner, given?: TokenVerifier): Promise<TokenVerifier> {
  if (given) return given.with(signer.publicJwk);
  if (env.AUTH_PUBLIC_KEY || env.AUTH_PUBLIC_KEY_FILE || env.AUTH_PUBLIC_KEYS_FILE)
    return (await TokenVerifier.fromEnv(env)).with(signer.publicJwk);
  return TokenVerifier.fromJwks({ keys: [signer.publicJwk] });
}

/** How the setting reaches express: a list through the kit's `trustProxy`, a hop count on the app. */
function trustParts(trust: number | string): { trustProxy?: string; extendHttp?: (app: Express) => void } {
  return typeof trust === 'string' ? { trustProxy: trust } : { extendHttp: (app) => app.set('trust proxy', trust) };
}

export const identityService = defineService<IdentityDeps, IdentityExposes>({
  name: 'identity',
  port: 4001,
  events: manifest,
  async build({ runtime, deps, env }) {
    const settings: IdentitySettings = { ...settingsFromEnv(env), ...deps.settings };
    const signer = deps.signer ?? (await TokenSigner.fromEnv(env));
    const verifier = await verifierFor(env, signer, deps.verifier);
    const store = await createStore(runtime, settings);
    const ctx: IdentityContext = { store, locks: runtime.locks, logger: runtime.logger, signer, settings };
    await publishSigningKeys(store.signingKeys, verifier.jwks().keys, runtime.logger);
    await bootstrapAdmin(ctx);
    return {
      api: identityApi(ctx, verifier),
      ...trustParts(settings.trustProxy),
      workers: [retentionWorker(ctx)],
      subscriptions: [
        {
          purpose: 'channel-rules',
          handlers: { 'channels.channel-changed': channelChangedIn(store.channelRules) },
          dedupe: 'in-document',
        },
      ],
      exposes: { ctx, store },
    };
  },
});

if (require.main === module) identityService.run();
