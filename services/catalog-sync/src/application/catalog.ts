import { randomUUID } from 'node:crypto';
import type { EventPublisher, ServiceRuntime } from '@omnimall/service-kit';
import type { Intent } from '../domain/records';
import type { CatalogStore, IntentRepository, ItemRepository } from '../store';

/**
 * What the use cases stand on: the repositories, the product locks, the intents of changes in
 * progress, and the publisher (bulk sync publishes directly). Built once per process; the use cases
 * take it as their first argument.
 */
export interface Catalog extends CatalogStore {
  locks: ProductLocks;
  changes: IntentLog;
  publisher: Pick<EventPublisher, 'publish'>;
}

export function createCatalog(runtime: Pick<ServiceRuntime, 'locks' | 'publisher'>, store: CatalogStore): Catalog {
  return {
    ...store,
    locks: new ProductLocks(runtime.locks, store.items),
    changes: new IntentLog(store.intents),
    publisher: runtime.publisher,
  };
}

/**
 * Serialises every write of one product and of its local items: master edits, assignments,
 * propagation, and channel managers' curation of the product's items. One lock per product (not per
 * item) keeps a fan-out to many channels to one bulk write of its items.
 */
export class ProductLocks {
  constructor(
    private readonly locks: Pick<ServiceRuntime['locks'], 'run'>,
    private readonly items: Pick<ItemRepository, 'get'>,
  ) {}

  product<R>(productId: string, fn: () => Promise<R>): Promise<R> {
    return this.locks.run(`product:${productId}`, fn);
  }

  /** Runs `fn` under the lock of the product an existing local item belongs to (`fn` reports a missing item). */
  async ofItem<R>(itemId: string, fn: () => Promise<R>): Promise<R> {
    const item = (await this.items.get([itemId])).get(itemId); // an item's product never changes: a remembered copy will do
    if (!item) return fn();
    return this.product(item.productId, fn);
  }
}

/**
 * Changes in progress: each change to local items is recorded (an intent) before it writes and
 * removed once it completed, so that the recovery sweep can finish what a crash interrupted; the
 * sweep leaves alone the intents this process is still working on (`active`).
 */
export class IntentLog {
  readonly active = new Set<string>();

  constructor(private readonly intents: IntentRepository) {}

  /** Runs `fn` with a recorded intent, removed when `fn` completed or refused (4xx); kept for recovery after any other failure. */
  async run<R>(intent: Omit<Intent, '_id' | 'createdAt'>, fn: () => Promise<R>): Promise<R> {
    const _id = randomUUID();
    this.active.add(_id);
    await this.intents.add({ _id, ...intent, createdAt: new Date() });
    try {
      const out = await fn();
      await this.intents.remove(_id);
      return out;
    } catch (err) {
      // Domain refusals wrote nothing worth recovering; other failures leave the intent to the sweep.
      if ((err as { status?: number }).status !== undefined) await this.intents.remove(_id).catch(() => undefined);
      throw err;
    } finally {
      this.active.delete(_id);
    }
  }
}
