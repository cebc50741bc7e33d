/**
 * What `defineService` hands `build` as `auth`: one verifier bound to the instance's TrustState
 * (configured keys plus identity's published ones; revocations refused), the trust state itself,
 * and a signer when the service holds the signing key (identity: AUTH_PRIVATE_KEY*).
 */
import { TokenSigner, TokenVerifier, type TokenKeyConfig } from './tokens';
import { TrustState } from './trust';

export interface ServiceAuth {
  /** Verifies access and device tokens; refuses what `trust` revokes. Use instead of TokenVerifier.fromEnv. */
  verifier: TokenVerifier;
  trust: TrustState;
  /** Present when the service is configured with the signing key (identity). */
  signer?: TokenSigner;
}

/** The auth of a service from its configured keys (none required: identity's keys come from the topic). */
export async function createServiceAuth(keys: TokenKeyConfig, trust: TrustState = new TrustState()): Promise<ServiceAuth> {
  const signer = keys.signingKey ? await TokenSigner.fromPem(keys.signingKey) : undefined;
  const verifier = (await TokenVerifier.fromConfig(keys, signer)).boundTo(trust);
  return { verifier, trust, ...(signer ? { signer } : {}) };
}
