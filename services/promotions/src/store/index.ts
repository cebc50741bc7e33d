import type { ServiceRuntime } from '@omnimall/service-kit';

/** The promotions database, one repository per aggregate (store/<aggregate>.ts; models.ts the shared model helper). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the repositories are added as they are built
export interface PromotionsStore {}

/**
 * Builds the repositories on the runtime's database; aggregates written through the outbox are tracked
 * on it here.
 */
export async function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): Promise<PromotionsStore> {
  void runtime;
  return {};
}
