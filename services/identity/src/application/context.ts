import type { Logger, TokenSigner } from '@omnimall/service-kit';
import type { IdentitySettings } from '../settings';
import type { IdentityStore } from '../store';

/** Serialises work on one key across instances (the kit's DocumentLocks). */
export interface Locks {
  run<R>(key: string, fn: () => Promise<R>): Promise<R>;
}

/** What every use case needs: the repositories, the cross-instance locks, a logger, the token signer, the settings. */
export interface IdentityContext {
  store: IdentityStore;
  locks: Locks;
  logger: Logger;
  signer: TokenSigner;
  settings: IdentitySettings;
}

/** Where a request came from: its channel (`x-channel-code`), client address and correlation id. */
export interface RequestMeta {
  channel: string | null;
  address: string | null;
  correlationId?: string;
}
