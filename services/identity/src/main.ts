/**
 * identity's composition root: the store (indexes, the one-time e-mail backfill), the token keys, the
 * bootstrap admin, the channel-rules projection (group `identity.channel-rules`, from the beginning
 * of channels.channel-changed so a fresh deployment learns every channel) and the HTTP API. Behind a
 * proxy on this host the client address (per-address login throttling) comes from X-Forwarded-For.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineService, TokenSigner, TokenVerifier, type RunningService } from '@omnimall/service-kit';
import type { IdentityContext } from './application/context';
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
  /** Verifies access tokens on identity's own routes; default: the public half of the signing key, or AUTH_PUBLIC_KEY. */
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

async function verifierFor(env: NodeJS.ProcessEnv): Promise<TokenVerifier> {
  if (env.AUTH_PUBLIC_KEY || env.AUTH_PUBLIC_KEY_FILE) return TokenVerifier.fromEnv(env);
  const privatePem =
    env.AUTH_PRIVATE_KEY?.replace(/\\n/g, '\n') ??
    (env.AUTH_PRIVATE_KEY_FILE ? readFileSync(env.AUTH_PRIVATE_KEY_FILE, 'utf8') : undefined);
  if (!privatePem) throw new Error('identity needs AUTH_PUBLIC_KEY(_FILE) or AUTH_PRIVATE_KEY(_FILE) to verify its own tokens');
  return TokenVerifier.fromPem(createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString());
}

export const identityService = defineService<IdentityDeps, IdentityExposes>({
  name: 'identity',
  port: 4001,
  events: manifest,
  async build({ runtime, deps, env }) {
    const settings: IdentitySettings = { ...settingsFromEnv(env), ...deps.settings };
    const signer = deps.signer ?? (await TokenSigner.fromEnv(env));
    const verifier = deps.verifier ?? (await verifierFor(env));
    const store = await createStore(runtime);
    const ctx: IdentityContext = { store, locks: runtime.locks, logger: runtime.logger, signer, settings };
    await bootstrapAdmin(ctx);
    return {
      api: identityApi(ctx, verifier),
      trustProxy: 'loopback',
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
