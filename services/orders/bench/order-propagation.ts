/**
 * The order-status-propagation row's reading of the sync-monitor: each confirmed checkout's
 * orders.order-status event of type order.placed (found by the checkout request's correlation id),
 * with every consumer group's first applied acknowledgement.
 */
import type { BenchRow } from '../../../bench/harness';
import { percentile } from '../../../bench/harness';
import { sleepUntil, type MonitorEvent, type Omnimall } from '../../../e2e/support/omnimall';
import { pool } from './checkout-shop';

export const PROPAGATION_TARGET_MS = 500;

const round = (x: number): number => Math.round(x * 100) / 100;

/** Consumer group names without the run's tag (`cart.projections.e2e1234` → `cart.projections`). */
const groupName = (group: string, tag: string): string => group.split(`.${tag}`).join('').split(`-${tag}`).join('').split(tag).join('');

/** Each group's first applied ack of the event. */
function appliedBy(e: MonitorEvent, tag: string): Map<string, number> {
  const by = new Map<string, number>();
  for (const a of e.acks) {
    if (a.outcome !== 'applied') continue;
    const g = groupName(a.group, tag);
    by.set(g, Math.min(by.get(g) ?? Infinity, a.appliedAt));
  }
  return by;
}

/**
 * The order.placed event of each confirmed checkout as the monitor tracks it, read again until every
 * expected service acknowledged it and it names every group seen so far (or `deadline`).
 */
export async function placedEvents(api: Omnimall, adminToken: string, tag: string, correlationIds: string[], deadline: number) {
  const events = new Map<string, MonitorEvent>();
  const groups = new Set<string>();
  const done = (e: MonitorEvent | undefined): boolean => {
    if (!e || e.lagging.length) return false;
    const by = appliedBy(e, tag);
    return [...groups].every((g) => by.has(g));
  };
  let pending = correlationIds;
  let failures = 0;
  while (pending.length) {
    await pool(pending, 8, async (c) => {
      if (Date.now() > deadline) return;
      const r = await api
        .call('sync-monitor', 'get', `/propagation/events?limit=50&correlationId=${encodeURIComponent(c)}`, { token: adminToken })
        .catch((err: unknown) => ({ status: 0, body: String(err) }));
      if (r.status !== 200) {
        // left pending (read again next pass; counted incomplete or missing at the deadline)
        if (!failures++)
          console.error(`  order-status-propagation: the monitor answered ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        return;
      }
      const e = (r.body.events as MonitorEvent[]).find((x) => x.topic === 'orders.order-status' && x.type === 'order.placed');
      if (!e) return;
      events.set(c, e);
      for (const g of appliedBy(e, tag).keys()) groups.add(g);
    });
    pending = correlationIds.filter((c) => !done(events.get(c)));
    if (!pending.length || Date.now() > deadline) break;
    await sleepUntil(500);
  }
  return { events, incomplete: pending.filter((c) => events.has(c)).length, missing: correlationIds.filter((c) => !events.has(c)).length };
}

export function propagationRow(tag: string, found: Awaited<ReturnType<typeof placedEvents>>): BenchRow {
  const lastLags: number[] = [];
  const perGroup = new Map<string, number[]>();
  for (const e of found.events.values()) {
    const by = appliedBy(e, tag);
    if (!by.size) continue;
    lastLags.push(Math.max(...by.values()) - e.occurredAt);
    for (const [g, at] of by) perGroup.set(g, [...(perGroup.get(g) ?? []), at - e.occurredAt]);
  }
  lastLags.sort((a, b) => a - b);
  const groupP99 = [...perGroup]
    .map(
      ([g, lags]) =>
        [
          g,
          percentile(
            [...lags].sort((a, b) => a - b),
            99,
          ),
        ] as const,
    )
    .sort((a, b) => b[1] - a[1]);
  const p99 = percentile(lastLags, 99);
  return {
    name: 'order-status-propagation',
    p50_ms: round(percentile(lastLags, 50)),
    p95_ms: round(percentile(lastLags, 95)),
    p99_ms: round(p99),
    samples: lastLags.length,
    met: p99 <= PROPAGATION_TARGET_MS && found.incomplete === 0 && found.missing === 0,
    target_p99_ms: PROPAGATION_TARGET_MS,
    max_ms: round(lastLags.at(-1) ?? NaN),
    slowest_consumer: groupP99[0]?.[0] ?? null,
    consumers_p99_ms: groupP99.map(([g, ms]) => `${g} ${ms}`).join(', '),
    events_incomplete: found.incomplete,
    events_missing: found.missing,
  };
}
