import type { CartChanged } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { StreamClosure } from '../../domain/streams';
import type { EffectOnce } from '../../store';
import type { EventOrigin } from '../out/cart.cart-changed';

/**
 * What the handlers of consumed topics are given (by main.ts) to act on, as interfaces: the
 * handlers know the events, not the store or the application behind them.
 */

/** Where a projection event's full state goes; a subscription names one or both. */
export interface ProjectionTargets<V> {
  /** This instance's gate cache (store/projection-cache.ts). */
  cache?: { apply(id: string, value: V, version: number): void };
  /** The projection in the database, written at most once per event (the shared `projections` group). */
  store?: { project(once: EffectOnce, id: string, value: V, version: number): Promise<void> };
}

/**
 * Applies one projection event: the gate cache first, so once this instance has applied a ban its
 * next gate refuses, then the database.
 */
export async function applyProjection<V>(targets: ProjectionTargets<V>, ctx: EventContext, id: string, value: V): Promise<void> {
  const version = ctx.envelope.aggregateVersion;
  targets.cache?.apply(id, value, version);
  await targets.store?.project(ctx, id, value, version);
}

/** Moves one cart's content into another (application/merge.ts); idempotent and replay-safe. */
export interface CartMerger {
  merge(sourceId: string, targetId: string, origin: EventOrigin): Promise<number | null>;
}

/** A merge's CartChanged events come from the event that asked for it. */
export const mergeOrigin = (ctx: EventContext): EventOrigin => ({
  sourceChannel: ctx.envelope.sourceChannel,
  correlationId: ctx.envelope.correlationId,
});

/** Erases a customer's carts (application/erasure.ts); replay-safe. */
export interface CustomerEraser {
  eraseCustomer(customerId: string, origin: EventOrigin): Promise<string[]>;
}

/** This instance's live sessions (push/session-hub.ts). */
export interface PushTarget {
  deliver(e: CartChanged): number;
}

/** Ends this instance's live sessions of a customer, with a final event saying why (push/session-hub.ts). */
export interface SessionCloser {
  closeCustomer(customerId: string, closure: StreamClosure): number;
}
