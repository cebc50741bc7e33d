import type { ServiceRuntime, TokenSigner } from '@omnimall/service-kit';
import type { ScryptParams } from '../domain/passwords';
import type { ThrottlePolicy } from '../domain/login-throttle';
import type { IdentityModels } from '../store/models';

/** Identity's own settings (beyond the platform config): token lifetimes, throttling, hashing cost. */
export interface IdentitySettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlMs: number;
  throttle: ThrottlePolicy;
  scrypt: ScryptParams;
  /** Fallback data-residency rules for channels the channels service has not announced. */
  channelDataRegions: Record<string, string[]>;
  /** Salt of the digests kept as erasure evidence. */
  erasureSalt: string;
  bootstrapAdmin: { email: string; password: string } | null;
}

/** What every use case needs: the runtime (db, outbox, locks, logger), the models and the token signer. */
export interface IdentityContext {
  rt: ServiceRuntime;
  m: IdentityModels;
  signer: TokenSigner;
  settings: IdentitySettings;
}
