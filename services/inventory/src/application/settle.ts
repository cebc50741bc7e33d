import type { OutgoingEvent } from '@omnimall/service-kit';
import { availabilityChanges, publishedOf } from '../domain/availability';
import type { Published, StockRecord, World } from '../domain/types';
import { stockAlert, type AlertLevel } from '../events/out/inventory.stock-alert';
import { stockLevelChanged } from '../events/out/inventory.stock-level';
import type { EventOrigin } from '../events/out/origin';

/** The alert a channel's move from one published state to another raises, if any. */
export function alertOf(before: Published | undefined, after: Published): AlertLevel | null {
  const was = before?.state;
  if (after.state === was) return null;
  if (after.state === 'low_stock' || after.state === 'out_of_stock') return after.state;
  if (after.state === 'in_stock' && (was === 'low_stock' || was === 'out_of_stock')) return 'recovered';
  return null;
}

/**
 * Completes a change of a SKU's stock: every channel whose availability it changed gets an
 * inventory.stock-level event (and an alert when it crosses into low or out of stock, or recovers),
 * and the record remembers what each channel was told. Channels whose availability did not change get
 * nothing. Pure: the caller commits the record and the events together.
 */
export function settle(world: World, record: StockRecord, origin: EventOrigin): { record: StockRecord; events: OutgoingEvent[] } {
  const changes = availabilityChanges(world, record);
  if (!changes.length) return { record, events: [] };
  const published = { ...record.published };
  const events: OutgoingEvent[] = [];
  for (const a of changes) {
    const next = publishedOf(a);
    events.push(stockLevelChanged(a, record.sellerId, record.version, origin));
    const alert = alertOf(published[a.channel], next);
    if (alert) events.push(stockAlert(a, alert, record.sellerId, record.version, origin));
    published[a.channel] = next;
  }
  return { record: { ...record, published }, events };
}
