/**
 * What each channel may sell of a SKU: its source (its own locations, or its master's pool), its
 * share of that pool under its policy, the business exceptions, and the thresholds it shows. Every
 * answer carries its explanation, step by step, so an admin can read why a channel shows what it shows.
 */
import { availableAt, emptyLevel } from './stock';
import type {
  Allocation,
  Availability,
  ChannelInfo,
  ChannelPolicy,
  Exception,
  ExceptionKind,
  Published,
  Rule,
  Source,
  StockRecord,
  World,
} from './types';

export type { Allocation, Availability, ChannelInfo, ChannelPolicy, Exception, Published, Rule, Source, World } from './types';

/** The policy of a channel nobody configured. */
export const DEFAULT_POLICY: ChannelPolicy = Object.freeze({
  source: 'auto',
  allocation: Object.freeze({ kind: 'shared' }),
  lowStock: 5,
  displayFloor: 0,
  backorder: false,
  maxPerOrder: null,
}) as ChannelPolicy;

/** Channel states in which a channel sells. */
export const SELLING_STATES: ReadonlySet<string> = new Set(['active', 'maintenance', 'onboarding', 'approved']);

export function policyOf(world: World, channel: string): ChannelPolicy {
  return world.policies.get(channel) ?? DEFAULT_POLICY;
}

/**
 * Whose locations a channel sells from: its own links, if it has any and its policy is not
 * `master`; else (policy not `own`) its master channel's source, up the chain, cycle-safe; else none.
 */
export function sourceOf(world: World, channel: string): Source {
  return sourceIn(world, channel, new Set());
}

function sourceIn(world: World, channel: string, seen: Set<string>): Source {
  const none: Source = { kind: 'none', channel, locations: [] };
  if (seen.has(channel)) return none;
  seen.add(channel);
  const policy = policyOf(world, channel);
  const own = [...(world.links.get(channel) ?? [])].sort((a, b) => a.priority - b.priority).map((l) => l.locationId);
  if (policy.source !== 'master' && own.length) return { kind: 'own', channel, locations: own };
  const master = world.channels.get(channel)?.masterChannel;
  if (policy.source === 'own' || !master) return none;
  const up = sourceIn(world, master, seen);
  return up.kind === 'none' ? none : { kind: 'master', channel: up.channel, locations: up.locations };
}

/** Whether an exception covers a SKU on a channel now (null sku/channel: every one). */
function applies(e: Exception, sku: string, channel: string): boolean {
  return (e.sku === null || e.sku === sku) && (e.channel === null || e.channel === channel);
}

/** The first live exception of a kind for the SKU on the channel (embargoes only until `until`). */
function exceptionFor(world: World, kind: ExceptionKind, sku: string, channel: string): Exception | null {
  return (
    world.exceptions.find(
      (e) =>
        e.kind === kind &&
        applies(e, sku, channel) &&
        world.now < e.expiresAt &&
        (kind !== 'embargo' || e.until === undefined || world.now < e.until),
    ) ?? null
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

export function channelAvailability(world: World, stock: Pick<StockRecord, 'sku' | 'levels' | 'quotaUsed'>, channel: string): Availability {
  const { sku } = stock;
  const policy = policyOf(world, channel);
  const info: ChannelInfo | undefined = world.channels.get(channel);
  const steps: string[] = [];
  for (const e of world.exceptions)
    if (applies(e, sku, channel) && world.now >= e.expiresAt)
      steps.push(`exception ${e.id} (${e.kind}) expired at ${iso(e.expiresAt)}: ignored`);
  const exempt = exceptionFor(world, 'threshold_exempt', sku, channel);
  const thresholds = { lowStock: policy.lowStock, displayFloor: policy.displayFloor, exempt: exempt !== null };
  let source: Source = { kind: 'none', channel, locations: [] };
  const result = (
    available: number,
    rule: Rule,
    pool: number,
    allocated: number,
    exception: Exception | null,
    sells: boolean,
  ): Availability => {
    const backorder = sells && policy.backorder;
    const state =
      available === 0 ? (backorder ? 'backorder' : 'out_of_stock') : !exempt && available <= policy.lowStock ? 'low_stock' : 'in_stock';
    steps.push(
      state === 'low_stock'
        ? `${available} is at or below the low-stock threshold ${policy.lowStock}: low_stock`
        : state === 'backorder'
          ? 'nothing available, backorders accepted: backorder'
          : `${available} available: ${state}`,
    );
    return {
      channel,
      sku,
      available,
      state,
      rule,
      maxPerOrder: policy.maxPerOrder,
      backorder,
      explanation: { source, pool, allocated, allocation: policy.allocation, exception, thresholds, steps },
    };
  };

  if (!info || !SELLING_STATES.has(info.state)) {
    steps.push(info ? `channel ${channel} is ${info.state}, not selling: shown 0` : `channel ${channel} is not known: shown 0`);
    return result(0, 'channel_closed', 0, 0, null, false);
  }
  const embargo = exceptionFor(world, 'embargo', sku, channel);
  if (embargo) {
    steps.push(`embargo ${embargo.id} until ${iso(Math.min(embargo.until ?? Infinity, embargo.expiresAt))} (${embargo.reason}): shown 0`);
    return result(0, 'embargo', 0, 0, embargo, false);
  }
  source = sourceOf(world, channel);
  if (source.kind === 'none') {
    steps.push(`source: none (no linked locations${info.masterChannel ? ` and no pool from master ${info.masterChannel}` : ''}): shown 0`);
    return result(0, 'no_source', 0, 0, null, true);
  }
  const masterOnly = source.kind === 'master' ? exceptionFor(world, 'master_only', sku, channel) : null;
  if (masterOnly) {
    steps.push(
      `source: master ${source.channel}'s pool, but ${sku} is reserved for the master channel (exception ${masterOnly.id}): shown 0`,
    );
    return result(0, 'master_only', 0, 0, masterOnly, false);
  }
  const pool = source.locations.reduce((sum, loc) => sum + availableAt(stock.levels[loc] ?? emptyLevel()), 0);
  const whose = source.kind === 'own' ? 'own' : `master ${source.channel}'s`;
  const n = source.locations.length;
  steps.push(`source: ${whose} pool of ${n} location${n === 1 ? '' : 's'} (${source.locations.join(', ')}): ${pool} available`);

  const { allocated, rule } = allocate(policy.allocation, pool, stock.quotaUsed[channel] ?? 0, steps);
  if (exempt) {
    steps.push(`threshold exemption ${exempt.id}: low-stock threshold and display floor ignored`);
    return result(allocated, rule, pool, allocated, exempt, true);
  }
  if (allocated > 0 && allocated < policy.displayFloor) {
    steps.push(`display floor ${policy.displayFloor} not reached: shown 0`);
    return result(0, 'display_floor', pool, allocated, null, true);
  }
  return result(allocated, rule, pool, allocated, null, true);
}

/** The channel's share of the pool. */
function allocate(allocation: Allocation, pool: number, quotaUsed: number, steps: string[]): { allocated: number; rule: Rule } {
  switch (allocation.kind) {
    case 'quota': {
      const left = Math.max(0, allocation.units - quotaUsed);
      const allocated = Math.min(pool, left);
      steps.push(
        `allocation quota ${allocation.units}, ${quotaUsed} used: ${left}${allocated < left ? `, limited by the pool: ${allocated}` : ''}`,
      );
      return { allocated, rule: 'quota' };
    }
    case 'percentage': {
      const allocated = Math.floor((pool * allocation.percent) / 100);
      steps.push(`allocation ${allocation.percent}% of ${pool}: ${allocated}`);
      return { allocated, rule: 'percentage_of_master' };
    }
    default:
      steps.push(`allocation shared: the whole pool, ${pool}`);
      return { allocated: pool, rule: 'shared_pool' };
  }
}

/** Every channel known to the projection that is not offboarded, by code. */
export function channelsOf(world: World): string[] {
  return [...world.channels.values()]
    .filter((c) => c.state !== 'offboarded')
    .map((c) => c.code)
    .sort();
}

export function publishedOf(a: Availability): Published {
  return { available: a.available, state: a.state, rule: a.rule };
}

/**
 * The availability of every channel (known, or published to before) whose (available, state, rule)
 * differs from what it was last told. A channel never told anything that has nothing to sell
 * (0, out_of_stock) is no change: nothing is published for a SKU it never had.
 */
export function availabilityChanges(world: World, after: StockRecord): Availability[] {
  const channels = [...new Set([...channelsOf(world), ...Object.keys(after.published)])].sort();
  const changes: Availability[] = [];
  for (const channel of channels) {
    const a = channelAvailability(world, after, channel);
    const was = after.published[channel];
    if (!was) {
      if (a.available !== 0 || a.state !== 'out_of_stock') changes.push(a);
    } else if (was.available !== a.available || was.state !== a.state || was.rule !== a.rule) changes.push(a);
  }
  return changes;
}
