import { AppError, ConflictError, ValidationError } from '@omnimall/service-kit/errors';
import {
  availabilityChanges,
  channelAvailability,
  channelsOf,
  DEFAULT_POLICY,
  policyOf,
  publishedOf,
  sourceOf,
} from '../src/domain/availability';
import { commit, expiredHolds, extend, hold, mergeLines, placementOf, release, returnShipped } from '../src/domain/reservations';
import { applyStockOp, availableAt, BUCKETS, emptyLevel, emptyStock, incomingTotal } from '../src/domain/stock';
import type { ChannelInfo, ChannelPolicy, Exception, Level, StockOp, StockRecord, World } from '../src/domain/types';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const HOUR = 3_600_000;

/** The error `fn` throws, checked to be an AppError of `type` with `code` and a hint. */
function errorOf(fn: () => unknown, type: typeof ValidationError | typeof ConflictError, code: string): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(type);
  const e = caught as AppError;
  expect(e.code).toBe(code);
  expect(e.hint.length).toBeGreaterThan(10);
  return e;
}

const level = (l: Partial<Level> = {}): Level => ({ ...emptyLevel(), ...l });
const levelsOf = (ls: Record<string, Partial<Level>>): Record<string, Level> =>
  Object.fromEntries(Object.entries(ls).map(([k, v]) => [k, level(v)]));
const stockOf = (ls: Record<string, Partial<Level>>, extra: Partial<StockRecord> = {}): StockRecord => ({
  ...emptyStock('SKU-1', 'seller-1'),
  levels: levelsOf(ls),
  ...extra,
});

interface WorldSpec {
  /** code → state, or [state, masterChannel]. */
  channels?: Record<string, string | [string, string | null]>;
  /** channel → its locations, in priority order. */
  links?: Record<string, string[]>;
  policies?: Record<string, Partial<ChannelPolicy>>;
  exceptions?: Partial<Exception>[];
  now?: number;
}

function worldOf(spec: WorldSpec): World {
  const channels = new Map<string, ChannelInfo>(
    Object.entries(spec.channels ?? {}).map(([code, v]) => {
      const [state, masterChannel] = typeof v === 'string' ? [v, null] : v;
      return [code, { code, state, masterChannel }];
    }),
  );
  const links = new Map(
    Object.entries(spec.links ?? {}).map(([ch, locs]) => [ch, locs.map((locationId, i) => ({ locationId, priority: (i + 1) * 10 }))]),
  );
  const policies = new Map(Object.entries(spec.policies ?? {}).map(([ch, p]) => [ch, { ...DEFAULT_POLICY, ...p }]));
  const exceptions = (spec.exceptions ?? []).map((e, i): Exception => ({
    id: `ex-${i + 1}`,
    kind: 'embargo',
    sku: null,
    channel: null,
    owner: 'ops',
    reason: 'launch',
    expiresAt: NOW + HOUR,
    createdAt: NOW - HOUR,
    ...e,
  }));
  return { channels, links, policies, exceptions, now: spec.now ?? NOW };
}

/** master `web` with two warehouses; `regional` under it; `affiliate` under regional. */
const chain = (extra: Partial<WorldSpec> = {}): World =>
  worldOf({
    channels: { web: 'active', regional: ['active', 'web'], affiliate: ['active', 'regional'], ...extra.channels },
    links: { web: ['wh-1', 'wh-2'], ...extra.links },
    policies: extra.policies,
    exceptions: extra.exceptions,
    now: extra.now,
  });

const KNOWN = new Set(['wh-1', 'wh-2', 'store-1']);

describe('stock levels', () => {
  it('starts empty and counts available as on hand less reserved, damaged, quality hold and safety stock, never below 0', () => {
    expect(BUCKETS).toEqual(['onHand', 'reserved', 'damaged', 'qualityHold', 'safetyStock', 'incoming']);
    expect(emptyLevel()).toEqual({ onHand: 0, reserved: 0, damaged: 0, qualityHold: 0, safetyStock: 0, incoming: [] });
    expect(emptyStock('A', null)).toEqual({
      sku: 'A',
      sellerId: null,
      version: 0,
      levels: {},
      holds: {},
      quotaUsed: {},
      published: {},
      ops: {},
      updatedAt: 0,
    });
    expect(availableAt(level({ onHand: 20, reserved: 3, damaged: 2, qualityHold: 1, safetyStock: 4 }))).toBe(10);
    expect(availableAt(level({ onHand: 5, reserved: 3, safetyStock: 9 }))).toBe(0);
    expect(
      incomingTotal(
        level({
          incoming: [
            { quantity: 3, expectedAt: 1, reference: 'a' },
            { quantity: 4, expectedAt: 2, reference: 'b' },
          ],
        }),
      ),
    ).toBe(7);
  });

  it('sets a bucket at a known location not stocked yet, from an empty level, without touching the input', () => {
    const levels = levelsOf({ 'wh-1': { onHand: 4 } });
    const snapshot = structuredClone(levels);
    const r = applyStockOp(levels, { kind: 'set', location: 'wh-2', bucket: 'onHand', quantity: 12 }, KNOWN);
    expect(r.levels['wh-2']).toEqual(level({ onHand: 12 }));
    expect(r.levels['wh-1']).toEqual(level({ onHand: 4 }));
    expect(r.deltas).toEqual([{ location: 'wh-2', bucket: 'onHand', delta: 12, after: 12 }]);
    expect(levels).toEqual(snapshot);
  });

  it('reports no delta for a set to the current value', () => {
    const r = applyStockOp(
      levelsOf({ 'wh-1': { safetyStock: 3 } }),
      { kind: 'set', location: 'wh-1', bucket: 'safetyStock', quantity: 3 },
      KNOWN,
    );
    expect(r.deltas).toEqual([]);
  });

  it('adjusts a bucket up and down, one delta with the new value', () => {
    const levels = levelsOf({ 'wh-1': { onHand: 10 } });
    const down = applyStockOp(levels, { kind: 'adjust', location: 'wh-1', bucket: 'onHand', delta: -4 }, KNOWN);
    expect(down.deltas).toEqual([{ location: 'wh-1', bucket: 'onHand', delta: -4, after: 6 }]);
    const damaged = applyStockOp(down.levels, { kind: 'adjust', location: 'wh-1', bucket: 'damaged', delta: 2 }, KNOWN);
    expect(damaged.levels['wh-1']).toMatchObject({ onHand: 6, damaged: 2 });
    expect(availableAt(damaged.levels['wh-1'])).toBe(4);
    expect(levels['wh-1'].onHand).toBe(10);
  });

  it('never writes reserved directly, and never sets incoming', () => {
    const levels = levelsOf({ 'wh-1': { onHand: 10 } });
    const e1 = errorOf(
      () => applyStockOp(levels, { kind: 'set', location: 'wh-1', bucket: 'reserved', quantity: 1 }, KNOWN),
      ValidationError,
      'bucket_not_writable',
    );
    expect(e1.hint).toMatch(/reservations/);
    errorOf(
      () => applyStockOp(levels, { kind: 'adjust', location: 'wh-1', bucket: 'reserved', delta: 1 }, KNOWN),
      ValidationError,
      'bucket_not_writable',
    );
    const e2 = errorOf(
      () => applyStockOp(levels, { kind: 'set', location: 'wh-1', bucket: 'incoming', quantity: 1 }, KNOWN),
      ValidationError,
      'bucket_not_writable',
    );
    expect(e2.hint).toMatch(/expect/);
  });

  it('refuses unknown buckets and operations', () => {
    const bad = { kind: 'set', location: 'wh-1', bucket: 'lost', quantity: 1 } as unknown as StockOp;
    errorOf(() => applyStockOp({}, bad, KNOWN), ValidationError, 'invalid_bucket');
    errorOf(() => applyStockOp({}, { kind: 'teleport' } as unknown as StockOp, KNOWN), ValidationError, 'invalid_operation');
  });

  it.each<[string, StockOp]>([
    ['a negative set', { kind: 'set', location: 'wh-1', bucket: 'onHand', quantity: -1 }],
    ['a fractional set', { kind: 'set', location: 'wh-1', bucket: 'onHand', quantity: 1.5 }],
    ['a zero adjustment', { kind: 'adjust', location: 'wh-1', bucket: 'onHand', delta: 0 }],
    ['a fractional adjustment', { kind: 'adjust', location: 'wh-1', bucket: 'onHand', delta: 0.5 }],
    ['an adjustment below zero', { kind: 'adjust', location: 'wh-1', bucket: 'safetyStock', delta: -1 }],
    ['a zero transfer', { kind: 'transfer', from: 'wh-1', to: 'wh-2', quantity: 0 }],
    ['a zero receipt', { kind: 'receive', location: 'wh-1', quantity: 0 }],
    ['a non-number expectation', { kind: 'expect', location: 'wh-1', quantity: NaN, expectedAt: NOW, reference: 'po-1' }],
  ])('refuses %s with invalid_quantity', (_what, op) => {
    errorOf(() => applyStockOp(levelsOf({ 'wh-1': { onHand: 10 } }), op, KNOWN), ValidationError, 'invalid_quantity');
  });

  it('refuses unknown locations, and accepts a location that already has stock', () => {
    const e = errorOf(
      () => applyStockOp({}, { kind: 'set', location: 'nowhere', bucket: 'onHand', quantity: 1 }, KNOWN),
      ValidationError,
      'unknown_location',
    );
    expect(e.details).toEqual({ location: 'nowhere' });
    errorOf(
      () => applyStockOp(levelsOf({ 'wh-1': { onHand: 5 } }), { kind: 'transfer', from: 'wh-1', to: 'nowhere', quantity: 1 }, KNOWN),
      ValidationError,
      'unknown_location',
    );
    const r = applyStockOp(levelsOf({ legacy: { onHand: 5 } }), { kind: 'adjust', location: 'legacy', bucket: 'onHand', delta: 1 }, KNOWN);
    expect(r.levels.legacy.onHand).toBe(6);
  });

  describe('below_committed', () => {
    const committed = levelsOf({ 'wh-1': { onHand: 10, reserved: 4, damaged: 2, qualityHold: 1 } });

    it('keeps on hand at or above reserved + damaged + quality hold', () => {
      const e = errorOf(
        () => applyStockOp(committed, { kind: 'set', location: 'wh-1', bucket: 'onHand', quantity: 6 }, KNOWN),
        ConflictError,
        'below_committed',
      );
      expect(e.details).toEqual({ location: 'wh-1', onHand: 6, reserved: 4, damaged: 2, qualityHold: 1 });
      expect(applyStockOp(committed, { kind: 'set', location: 'wh-1', bucket: 'onHand', quantity: 7 }, KNOWN).levels['wh-1'].onHand).toBe(
        7,
      );
    });

    it('counts damaged and quality-held units within on hand', () => {
      errorOf(
        () => applyStockOp(committed, { kind: 'adjust', location: 'wh-1', bucket: 'damaged', delta: 4 }, KNOWN),
        ConflictError,
        'below_committed',
      );
      errorOf(
        () => applyStockOp(committed, { kind: 'set', location: 'wh-1', bucket: 'qualityHold', quantity: 5 }, KNOWN),
        ConflictError,
        'below_committed',
      );
      const ok = applyStockOp(committed, { kind: 'adjust', location: 'wh-1', bucket: 'qualityHold', delta: 3 }, KNOWN);
      expect(ok.levels['wh-1']).toMatchObject({ onHand: 10, qualityHold: 4 });
      expect(availableAt(ok.levels['wh-1'])).toBe(0);
    });

    it('lets safety stock exceed what is left (available clamps at 0)', () => {
      const r = applyStockOp(committed, { kind: 'set', location: 'wh-1', bucket: 'safetyStock', quantity: 50 }, KNOWN);
      expect(r.levels['wh-1'].safetyStock).toBe(50);
      expect(availableAt(r.levels['wh-1'])).toBe(0);
    });

    it('lets a level already short recover, but not fall further', () => {
      const short = levelsOf({ 'wh-1': { onHand: 2, reserved: 5 } });
      expect(applyStockOp(short, { kind: 'adjust', location: 'wh-1', bucket: 'onHand', delta: 1 }, KNOWN).levels['wh-1'].onHand).toBe(3);
      errorOf(
        () => applyStockOp(short, { kind: 'adjust', location: 'wh-1', bucket: 'onHand', delta: -1 }, KNOWN),
        ConflictError,
        'below_committed',
      );
    });
  });

  describe('transfer', () => {
    const levels = levelsOf({ 'wh-1': { onHand: 10, reserved: 2, safetyStock: 3 }, 'wh-2': { onHand: 1 } });

    it('moves on-hand units: two deltas, one record', () => {
      const r = applyStockOp(levels, { kind: 'transfer', from: 'wh-1', to: 'wh-2', quantity: 5 }, KNOWN);
      expect(r.deltas).toEqual([
        { location: 'wh-1', bucket: 'onHand', delta: -5, after: 5 },
        { location: 'wh-2', bucket: 'onHand', delta: 5, after: 6 },
      ]);
      expect(r.levels['wh-1']).toMatchObject({ onHand: 5, reserved: 2, safetyStock: 3 });
    });

    it('starts the destination from an empty level', () => {
      const r = applyStockOp(levels, { kind: 'transfer', from: 'wh-1', to: 'store-1', quantity: 2 }, KNOWN);
      expect(r.levels['store-1']).toEqual(level({ onHand: 2 }));
    });

    it('moves at most the available units and changes nothing when it refuses', () => {
      const snapshot = structuredClone(levels);
      const e = errorOf(
        () => applyStockOp(levels, { kind: 'transfer', from: 'wh-1', to: 'wh-2', quantity: 6 }, KNOWN),
        ConflictError,
        'insufficient_stock',
      );
      expect(e.details).toEqual({ location: 'wh-1', available: 5, requested: 6 });
      expect(levels).toEqual(snapshot);
    });

    it('needs two different locations', () => {
      errorOf(
        () => applyStockOp(levels, { kind: 'transfer', from: 'wh-1', to: 'wh-1', quantity: 1 }, KNOWN),
        ValidationError,
        'same_location',
      );
    });
  });

  describe('expect and receive', () => {
    const incoming = [
      { quantity: 5, expectedAt: NOW + 3 * HOUR, reference: 'po-late' },
      { quantity: 4, expectedAt: NOW + HOUR, reference: 'po-early' },
      { quantity: 6, expectedAt: NOW + 2 * HOUR, reference: 'po-mid' },
    ];
    const levels = levelsOf({ 'wh-1': { onHand: 1, incoming } });

    it('expects units with their date and reference', () => {
      const r = applyStockOp({}, { kind: 'expect', location: 'wh-2', quantity: 8, expectedAt: NOW, reference: 'po-9' }, KNOWN);
      expect(r.levels['wh-2'].incoming).toEqual([{ quantity: 8, expectedAt: NOW, reference: 'po-9' }]);
      expect(r.deltas).toEqual([{ location: 'wh-2', bucket: 'incoming', delta: 8, after: 8 }]);
    });

    it('needs a date and a reference to expect units', () => {
      errorOf(
        () => applyStockOp({}, { kind: 'expect', location: 'wh-1', quantity: 1, expectedAt: NaN, reference: 'po' }, KNOWN),
        ValidationError,
        'invalid_expected_at',
      );
      errorOf(
        () => applyStockOp({}, { kind: 'expect', location: 'wh-1', quantity: 1, expectedAt: NOW, reference: ' ' }, KNOWN),
        ValidationError,
        'invalid_reference',
      );
    });

    it('receives the earliest expected first', () => {
      const r = applyStockOp(levels, { kind: 'receive', location: 'wh-1', quantity: 7 }, KNOWN);
      expect(r.levels['wh-1'].incoming).toEqual([
        { quantity: 5, expectedAt: NOW + 3 * HOUR, reference: 'po-late' },
        { quantity: 3, expectedAt: NOW + 2 * HOUR, reference: 'po-mid' },
      ]);
      expect(r.deltas).toEqual([
        { location: 'wh-1', bucket: 'incoming', delta: -7, after: 8 },
        { location: 'wh-1', bucket: 'onHand', delta: 7, after: 8 },
      ]);
      expect(levels['wh-1'].incoming).toEqual(incoming);
    });

    it('receives the entry with the given reference first, then the earliest', () => {
      const r = applyStockOp(levels, { kind: 'receive', location: 'wh-1', quantity: 7, reference: 'po-late' }, KNOWN);
      expect(r.levels['wh-1'].incoming).toEqual([
        { quantity: 2, expectedAt: NOW + HOUR, reference: 'po-early' },
        { quantity: 6, expectedAt: NOW + 2 * HOUR, reference: 'po-mid' },
      ]);
    });

    it('adds more than was expected to on hand, and receives with nothing expected', () => {
      const r = applyStockOp(levels, { kind: 'receive', location: 'wh-1', quantity: 20 }, KNOWN);
      expect(r.levels['wh-1']).toMatchObject({ onHand: 21, incoming: [] });
      expect(r.deltas).toEqual([
        { location: 'wh-1', bucket: 'incoming', delta: -15, after: 0 },
        { location: 'wh-1', bucket: 'onHand', delta: 20, after: 21 },
      ]);
      const bare = applyStockOp({}, { kind: 'receive', location: 'wh-2', quantity: 3 }, KNOWN);
      expect(bare.deltas).toEqual([{ location: 'wh-2', bucket: 'onHand', delta: 3, after: 3 }]);
    });

    it('adjusts incoming down by cancelling the latest expected first, never up', () => {
      const r = applyStockOp(levels, { kind: 'adjust', location: 'wh-1', bucket: 'incoming', delta: -7 }, KNOWN);
      expect(r.levels['wh-1'].incoming).toEqual([
        { quantity: 4, expectedAt: NOW + HOUR, reference: 'po-early' },
        { quantity: 4, expectedAt: NOW + 2 * HOUR, reference: 'po-mid' },
      ]);
      expect(r.deltas).toEqual([{ location: 'wh-1', bucket: 'incoming', delta: -7, after: 8 }]);
      errorOf(
        () => applyStockOp(levels, { kind: 'adjust', location: 'wh-1', bucket: 'incoming', delta: 2 }, KNOWN),
        ValidationError,
        'bucket_not_writable',
      );
      errorOf(
        () => applyStockOp(levels, { kind: 'adjust', location: 'wh-1', bucket: 'incoming', delta: -16 }, KNOWN),
        ValidationError,
        'invalid_quantity',
      );
    });
  });
});

describe('sources', () => {
  it('uses a channel’s own links by priority', () => {
    const w = worldOf({ channels: { web: 'active' }, links: { web: ['wh-2', 'wh-1'] } });
    expect(sourceOf(w, 'web')).toEqual({ kind: 'own', channel: 'web', locations: ['wh-2', 'wh-1'] });
    const shuffled: World = {
      ...w,
      links: new Map([
        [
          'web',
          [
            { locationId: 'b', priority: 5 },
            { locationId: 'a', priority: 1 },
          ],
        ],
      ]),
    };
    expect(sourceOf(shuffled, 'web').locations).toEqual(['a', 'b']);
  });

  it('falls back to the master’s pool, up a master → regional → affiliate chain', () => {
    const w = chain();
    expect(sourceOf(w, 'regional')).toEqual({ kind: 'master', channel: 'web', locations: ['wh-1', 'wh-2'] });
    expect(sourceOf(w, 'affiliate')).toEqual({ kind: 'master', channel: 'web', locations: ['wh-1', 'wh-2'] });
  });

  it('takes the nearest pool in the chain', () => {
    const w = chain({ links: { web: ['wh-1'], regional: ['store-1'] } });
    expect(sourceOf(w, 'regional')).toEqual({ kind: 'own', channel: 'regional', locations: ['store-1'] });
    expect(sourceOf(w, 'affiliate')).toEqual({ kind: 'master', channel: 'regional', locations: ['store-1'] });
  });

  it('follows the policy: own never uses the master, master ignores own links', () => {
    const own = chain({ policies: { regional: { source: 'own' } } });
    expect(sourceOf(own, 'regional')).toEqual({ kind: 'none', channel: 'regional', locations: [] });
    const master = chain({ links: { regional: ['store-1'] }, policies: { regional: { source: 'master' } } });
    expect(sourceOf(master, 'regional')).toEqual({ kind: 'master', channel: 'web', locations: ['wh-1', 'wh-2'] });
  });

  it('has no source without links and without a master, or in a cycle of masters', () => {
    expect(sourceOf(worldOf({ channels: { lone: 'active' } }), 'lone').kind).toBe('none');
    const cycle = worldOf({ channels: { a: ['active', 'b'], b: ['active', 'c'], c: ['active', 'a'] } });
    expect(sourceOf(cycle, 'a')).toEqual({ kind: 'none', channel: 'a', locations: [] });
    expect(channelAvailability(cycle, stockOf({}), 'b').rule).toBe('no_source');
  });

  it('gives a channel without a policy the default one', () => {
    expect(policyOf(worldOf({}), 'any')).toEqual({
      source: 'auto',
      allocation: { kind: 'shared' },
      lowStock: 5,
      displayFloor: 0,
      backorder: false,
      maxPerOrder: null,
    });
  });
});

describe('channel availability', () => {
  const stock = stockOf({
    'wh-1': { onHand: 30, reserved: 5 },
    'wh-2': { onHand: 20, damaged: 2, safetyStock: 3 },
    'store-1': { onHand: 99 },
  });

  it('sells the whole pool when shared, and explains it', () => {
    const a = channelAvailability(chain(), stock, 'web');
    expect(a).toMatchObject({
      channel: 'web',
      sku: 'SKU-1',
      available: 40,
      state: 'in_stock',
      rule: 'shared_pool',
      maxPerOrder: null,
      backorder: false,
    });
    expect(a.explanation).toMatchObject({ pool: 40, allocated: 40, allocation: { kind: 'shared' }, exception: null });
    expect(a.explanation.thresholds).toEqual({ lowStock: 5, displayFloor: 0, exempt: false });
    expect(a.explanation.steps).toEqual([
      'source: own pool of 2 locations (wh-1, wh-2): 40 available',
      'allocation shared: the whole pool, 40',
      '40 available: in_stock',
    ]);
  });

  it('sells a master’s pool to its children', () => {
    const a = channelAvailability(chain(), stock, 'affiliate');
    expect(a).toMatchObject({ available: 40, rule: 'shared_pool' });
    expect(a.explanation.source).toEqual({ kind: 'master', channel: 'web', locations: ['wh-1', 'wh-2'] });
    expect(a.explanation.steps[0]).toBe("source: master web's pool of 2 locations (wh-1, wh-2): 40 available");
  });

  it('allocates a quota less what it used, never more than the pool', () => {
    const w = chain({ policies: { regional: { allocation: { kind: 'quota', units: 30 } } } });
    const a = channelAvailability(w, { ...stock, quotaUsed: { regional: 12 } }, 'regional');
    expect(a).toMatchObject({ available: 18, rule: 'quota' });
    expect(a.explanation.steps).toContain('allocation quota 30, 12 used: 18');
    const small = channelAvailability(w, stockOf({ 'wh-1': { onHand: 7 } }), 'regional');
    expect(small).toMatchObject({ available: 7, rule: 'quota' });
    expect(small.explanation.steps).toContain('allocation quota 30, 0 used: 30, limited by the pool: 7');
    expect(channelAvailability(w, { ...stock, quotaUsed: { regional: 31 } }, 'regional')).toMatchObject({
      available: 0,
      state: 'out_of_stock',
      rule: 'quota',
    });
  });

  it('allocates a percentage of the master’s pool, rounded down', () => {
    const w = chain({ policies: { regional: { allocation: { kind: 'percentage', percent: 25 } } } });
    const a = channelAvailability(w, stockOf({ 'wh-1': { onHand: 43 } }), 'regional');
    expect(a).toMatchObject({ available: 10, rule: 'percentage_of_master' });
    expect(a.explanation.steps).toContain('allocation 25% of 43: 10');
  });

  it('shows 0 below the display floor, and shows stock at the floor', () => {
    const w = chain({ policies: { web: { displayFloor: 5 } } });
    const below = channelAvailability(w, stockOf({ 'wh-1': { onHand: 4 } }), 'web');
    expect(below).toMatchObject({ available: 0, state: 'out_of_stock', rule: 'display_floor' });
    expect(below.explanation).toMatchObject({ pool: 4, allocated: 4 });
    expect(below.explanation.steps).toContain('display floor 5 not reached: shown 0');
    expect(channelAvailability(w, stockOf({ 'wh-1': { onHand: 5 } }), 'web')).toMatchObject({
      available: 5,
      state: 'low_stock',
      rule: 'shared_pool',
    });
    expect(channelAvailability(w, stockOf({}), 'web')).toMatchObject({ available: 0, rule: 'shared_pool' });
  });

  it('is low stock at or below the threshold, in stock above it', () => {
    const w = chain({ policies: { web: { lowStock: 10 } } });
    expect(channelAvailability(w, stockOf({ 'wh-1': { onHand: 10 } }), 'web').state).toBe('low_stock');
    expect(channelAvailability(w, stockOf({ 'wh-1': { onHand: 11 } }), 'web').state).toBe('in_stock');
    expect(channelAvailability(w, stockOf({ 'wh-1': { onHand: 1 } }), 'web').explanation.steps).toContain(
      '1 is at or below the low-stock threshold 10: low_stock',
    );
  });

  it('is on backorder at 0 when the policy accepts backorders, and passes maxPerOrder on', () => {
    const w = chain({ policies: { web: { backorder: true, maxPerOrder: 3 } } });
    const a = channelAvailability(w, stockOf({}), 'web');
    expect(a).toMatchObject({ available: 0, state: 'backorder', backorder: true, maxPerOrder: 3, rule: 'shared_pool' });
    expect(channelAvailability(w, stock, 'web')).toMatchObject({ state: 'in_stock', backorder: true });
  });

  it.each(['suspended', 'offboarded', 'draft'])('sells nothing on a %s channel', (state) => {
    const w = chain({ channels: { web: state }, policies: { web: { backorder: true } } });
    const a = channelAvailability(w, stock, 'web');
    expect(a).toMatchObject({ available: 0, state: 'out_of_stock', rule: 'channel_closed', backorder: false });
    expect(a.explanation.steps[0]).toBe(`channel web is ${state}, not selling: shown 0`);
  });

  it.each(['active', 'maintenance', 'onboarding', 'approved'])('sells on a %s channel', (state) => {
    expect(channelAvailability(chain({ channels: { web: state } }), stock, 'web')).toMatchObject({ available: 40, rule: 'shared_pool' });
  });

  it('sells nothing on a channel it does not know', () => {
    expect(channelAvailability(chain(), stock, 'ghost')).toMatchObject({ available: 0, rule: 'channel_closed' });
  });

  it('has nothing to sell without a source', () => {
    const a = channelAvailability(worldOf({ channels: { lone: 'active' } }), stock, 'lone');
    expect(a).toMatchObject({ available: 0, state: 'out_of_stock', rule: 'no_source' });
    expect(a.explanation.source.kind).toBe('none');
  });

  describe('exceptions', () => {
    it('embargoes a SKU on a channel until its end', () => {
      const w = chain({ exceptions: [{ kind: 'embargo', sku: 'SKU-1', channel: 'web', until: NOW + 10 * 60_000 }] });
      const a = channelAvailability(w, stock, 'web');
      expect(a).toMatchObject({ available: 0, rule: 'embargo', backorder: false });
      expect(a.explanation.exception?.id).toBe('ex-1');
      expect(channelAvailability(w, stock, 'regional').rule).toBe('shared_pool');
      expect(channelAvailability(w, { ...stock, sku: 'SKU-2' }, 'web').rule).toBe('shared_pool');
      expect(channelAvailability({ ...w, now: NOW + 10 * 60_000 }, stock, 'web').rule).toBe('shared_pool');
    });

    it('embargoes on every channel when the channel is null', () => {
      const w = chain({ exceptions: [{ kind: 'embargo', sku: 'SKU-1', channel: null }] });
      for (const ch of ['web', 'regional', 'affiliate']) expect(channelAvailability(w, stock, ch).rule).toBe('embargo');
    });

    it('ignores an expired exception and lists it', () => {
      const w = chain({ exceptions: [{ kind: 'embargo', sku: 'SKU-1', expiresAt: NOW }] });
      const a = channelAvailability(w, stock, 'web');
      expect(a).toMatchObject({ available: 40, rule: 'shared_pool' });
      expect(a.explanation.exception).toBeNull();
      expect(a.explanation.steps[0]).toBe('exception ex-1 (embargo) expired at 2025-06-01T12:00:00.000Z: ignored');
    });

    it('reserves a SKU for the master channel: every channel sourced from a master pool gets 0', () => {
      const w = chain({ links: { web: ['wh-1', 'wh-2'], regional: ['store-1'] }, exceptions: [{ kind: 'master_only', sku: 'SKU-1' }] });
      expect(channelAvailability(w, stock, 'web')).toMatchObject({ available: 40, rule: 'shared_pool' });
      expect(channelAvailability(w, stock, 'regional')).toMatchObject({ available: 99, rule: 'shared_pool' });
      const a = channelAvailability(w, stock, 'affiliate');
      expect(a).toMatchObject({ available: 0, rule: 'master_only', state: 'out_of_stock' });
      expect(a.explanation.exception?.kind).toBe('master_only');
      expect(channelAvailability({ ...w, now: NOW + HOUR }, stock, 'affiliate').rule).toBe('shared_pool');
    });

    it('exempts a channel from the thresholds, for one SKU or all', () => {
      const policies = { web: { lowStock: 10, displayFloor: 5 } };
      const few = stockOf({ 'wh-1': { onHand: 3 } });
      expect(channelAvailability(chain({ policies }), few, 'web').rule).toBe('display_floor');
      const w = chain({ policies, exceptions: [{ kind: 'threshold_exempt', sku: null, channel: 'web' }] });
      const a = channelAvailability(w, few, 'web');
      expect(a).toMatchObject({ available: 3, state: 'in_stock', rule: 'shared_pool' });
      expect(a.explanation.thresholds).toEqual({ lowStock: 10, displayFloor: 5, exempt: true });
      expect(a.explanation.exception?.kind).toBe('threshold_exempt');
      expect(channelAvailability(w, few, 'regional').rule).toBe('shared_pool');
      const expired = chain({ policies, exceptions: [{ kind: 'threshold_exempt', channel: 'web', expiresAt: NOW - 1 }] });
      expect(channelAvailability(expired, few, 'web').rule).toBe('display_floor');
    });
  });
});

describe('publishing', () => {
  const w = chain({ channels: { gone: 'offboarded' } });

  it('lists every known channel but the offboarded, by code', () => {
    expect(channelsOf(w)).toEqual(['affiliate', 'regional', 'web']);
  });

  it('is what a channel is told', () => {
    const a = channelAvailability(w, stockOf({ 'wh-1': { onHand: 3 } }), 'web');
    expect(publishedOf(a)).toEqual({ available: 3, state: 'low_stock', rule: 'shared_pool' });
  });

  it('publishes nothing for a SKU no channel ever had', () => {
    expect(availabilityChanges(w, stockOf({}))).toEqual([]);
  });

  it('publishes the channels whose availability changed, and only those', () => {
    const stock = stockOf({ 'wh-1': { onHand: 40 } });
    const first = availabilityChanges(w, stock);
    expect(first.map((a) => [a.channel, a.available])).toEqual([
      ['affiliate', 40],
      ['regional', 40],
      ['web', 40],
    ]);
    const published = Object.fromEntries(first.map((a) => [a.channel, publishedOf(a)]));
    expect(availabilityChanges(w, { ...stock, published })).toEqual([]);
    const quota = chain({ channels: { gone: 'offboarded' }, policies: { regional: { allocation: { kind: 'quota', units: 40 } } } });
    expect(
      availabilityChanges(quota, { ...stock, published, quotaUsed: { regional: 1 } }).map((a) => [a.channel, a.available, a.rule]),
    ).toEqual([['regional', 39, 'quota']]);
  });

  it('publishes the fall to 0 of a channel told before, and a channel that left', () => {
    const was = { available: 4, state: 'low_stock' as const, rule: 'shared_pool' };
    const after = stockOf({}, { published: { web: was, gone: was } });
    expect(availabilityChanges(w, after).map((a) => [a.channel, a.available, a.state, a.rule])).toEqual([
      ['gone', 0, 'out_of_stock', 'channel_closed'],
      ['web', 0, 'out_of_stock', 'shared_pool'],
    ]);
  });

  it('publishes a backorder state even at 0', () => {
    const bo = chain({ policies: { web: { backorder: true } } });
    expect(availabilityChanges(bo, stockOf({})).map((a) => [a.channel, a.state])).toEqual([['web', 'backorder']]);
  });
});

describe('reservations', () => {
  const req = { reservationId: 'r-1', channel: 'web', quantity: 6, expiresAt: NOW + HOUR, reference: 'cart:c-1' };
  const stock = stockOf({ 'wh-1': { onHand: 5, reserved: 1 }, 'wh-2': { onHand: 10 } });

  it('merges lines of the same SKU, sorted by SKU', () => {
    expect(
      mergeLines([
        { sku: 'B', quantity: 1 },
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 3 },
      ]),
    ).toEqual([
      { sku: 'A', quantity: 2 },
      { sku: 'B', quantity: 4 },
    ]);
    errorOf(() => mergeLines([]), ValidationError, 'no_lines');
    errorOf(() => mergeLines([{ sku: 'A', quantity: 0 }]), ValidationError, 'invalid_quantity');
    errorOf(() => mergeLines([{ sku: 'A', quantity: 1.5 }]), ValidationError, 'invalid_quantity');
    errorOf(() => mergeLines([{ sku: '', quantity: 1 }]), ValidationError, 'invalid_sku');
  });

  it('holds units from the source locations by priority, without touching the input', () => {
    const snapshot = structuredClone(stock);
    const r = hold(stock, chain(), req);
    expect(r.hold).toEqual({
      reservationId: 'r-1',
      channel: 'web',
      quantity: 6,
      byLocation: { 'wh-1': 4, 'wh-2': 2 },
      backordered: 0,
      quotaCounted: 0,
      expiresAt: NOW + HOUR,
      reference: 'cart:c-1',
    });
    expect(r.deltas).toEqual([
      { location: 'wh-1', bucket: 'reserved', delta: 4, after: 5 },
      { location: 'wh-2', bucket: 'reserved', delta: 2, after: 2 },
    ]);
    expect(r.stock.holds['r-1']).toEqual(r.hold);
    expect(r.stock.quotaUsed).toEqual({});
    expect(channelAvailability(chain(), r.stock, 'web').available).toBe(8);
    expect(stock).toEqual(snapshot);
  });

  it('holds a child channel’s units in its master’s locations', () => {
    const r = hold(stock, chain(), { ...req, channel: 'affiliate', quantity: 1 });
    expect(r.hold.byLocation).toEqual({ 'wh-1': 1 });
  });

  it('is idempotent: a reservation’s existing hold comes back as is', () => {
    const first = hold(stock, chain(), req);
    const again = hold(first.stock, chain(), { ...req, quantity: 1 });
    expect(again.stock).toBe(first.stock);
    expect(again.hold).toBe(first.hold);
    expect(again.deltas).toEqual([]);
  });

  it('refuses more than the channel may sell', () => {
    const e = errorOf(() => hold(stock, chain(), { ...req, quantity: 15 }), ConflictError, 'insufficient_stock');
    expect(e.details).toMatchObject({ available: 14, requested: 15, rule: 'shared_pool' });
    const closed = errorOf(() => hold(stock, chain({ channels: { web: 'suspended' } }), req), ConflictError, 'insufficient_stock');
    expect(closed.details).toMatchObject({ available: 0, rule: 'channel_closed' });
  });

  it('refuses more than the channel’s maximum per order', () => {
    const e = errorOf(() => hold(stock, chain({ policies: { web: { maxPerOrder: 5 } } }), req), ValidationError, 'max_per_order');
    expect(e.details).toMatchObject({ maxPerOrder: 5, requested: 6 });
    expect(hold(stock, chain({ policies: { web: { maxPerOrder: 6 } } }), req).hold.quantity).toBe(6);
  });

  it('refuses a quantity that is not whole units', () => {
    errorOf(() => hold(stock, chain(), { ...req, quantity: 0 }), ValidationError, 'invalid_quantity');
    errorOf(() => hold(stock, chain(), { ...req, quantity: 2.5 }), ValidationError, 'invalid_quantity');
  });

  it('backorders beyond availability when the policy accepts it', () => {
    const w = chain({ policies: { web: { backorder: true } } });
    const r = hold(stock, w, { ...req, quantity: 20 });
    expect(r.hold).toMatchObject({ quantity: 14, backordered: 6, byLocation: { 'wh-1': 4, 'wh-2': 10 } });
    const none = hold(stockOf({}), w, req);
    expect(none.hold).toMatchObject({ quantity: 0, backordered: 6, byLocation: {} });
    expect(none.deltas).toEqual([]);
  });

  it('holds what merged lines ask for as one hold per SKU', () => {
    const [line] = mergeLines([
      { sku: 'SKU-1', quantity: 4 },
      { sku: 'SKU-1', quantity: 3 },
    ]);
    expect(hold(stock, chain(), { ...req, quantity: line.quantity }).hold).toMatchObject({
      quantity: 7,
      byLocation: { 'wh-1': 4, 'wh-2': 3 },
    });
  });

  it('releases a hold: reserved units back, hold gone; nothing to release is null', () => {
    const held = hold(stock, chain(), req).stock;
    const r = release(held, 'r-1');
    expect(r?.deltas).toEqual([
      { location: 'wh-1', bucket: 'reserved', delta: -4, after: 1 },
      { location: 'wh-2', bucket: 'reserved', delta: -2, after: 0 },
    ]);
    expect(r?.stock.levels).toEqual(stock.levels);
    expect(r?.stock.holds).toEqual({});
    expect(r?.hold.reservationId).toBe('r-1');
    expect(held.holds['r-1']).toBeDefined();
    expect(release(stock, 'r-1')).toBeNull();
  });

  it('commits a hold: on hand and reserved fall together; nothing to commit is null', () => {
    const held = hold(stock, chain(), req).stock;
    const r = commit(held, 'r-1');
    expect(r?.deltas).toEqual([
      { location: 'wh-1', bucket: 'reserved', delta: -4, after: 1 },
      { location: 'wh-1', bucket: 'onHand', delta: -4, after: 1 },
      { location: 'wh-2', bucket: 'reserved', delta: -2, after: 0 },
      { location: 'wh-2', bucket: 'onHand', delta: -2, after: 8 },
    ]);
    expect(r?.stock.holds).toEqual({});
    expect(channelAvailability(chain(), r!.stock, 'web').available).toBe(8);
    expect(commit(stock, 'r-1')).toBeNull();
  });

  it('counts a quota channel’s held units: given back on release, kept on commit', () => {
    const w = chain({ policies: { regional: { allocation: { kind: 'quota', units: 8 } } } });
    const big = stockOf({ 'wh-1': { onHand: 100 } });
    const held = hold(big, w, { ...req, channel: 'regional', quantity: 5 });
    expect(held.hold.quotaCounted).toBe(5);
    expect(held.stock.quotaUsed).toEqual({ regional: 5 });
    expect(channelAvailability(w, held.stock, 'regional').available).toBe(3);
    errorOf(
      () => hold(held.stock, w, { ...req, reservationId: 'r-2', channel: 'regional', quantity: 4 }),
      ConflictError,
      'insufficient_stock',
    );

    const released = release(held.stock, 'r-1')!;
    expect(released.stock.quotaUsed).toEqual({ regional: 0 });
    expect(channelAvailability(w, released.stock, 'regional').available).toBe(8);

    const committed = commit(held.stock, 'r-1')!;
    expect(committed.stock.quotaUsed).toEqual({ regional: 5 });
    expect(committed.stock.levels['wh-1']).toMatchObject({ onHand: 95, reserved: 0 });
    expect(channelAvailability(w, committed.stock, 'regional').available).toBe(3);
    expect(channelAvailability(w, committed.stock, 'web').available).toBe(95);
  });

  it('returns a commit’s shipment: on hand rises where the units left, availability as before the hold', () => {
    const before = channelAvailability(chain(), stock, 'web').available;
    const held = hold(stock, chain(), req);
    const shipped = placementOf(held.hold);
    expect(shipped).toEqual({ byLocation: { 'wh-1': 4, 'wh-2': 2 }, quotaCounted: 0 });
    const committed = commit(held.stock, 'r-1')!.stock;
    const snapshot = structuredClone(committed);
    const r = returnShipped(committed, 'web', shipped);
    expect(r.deltas).toEqual([
      { location: 'wh-1', bucket: 'onHand', delta: 4, after: 5 },
      { location: 'wh-2', bucket: 'onHand', delta: 2, after: 10 },
    ]);
    expect(r.stock.levels).toEqual(stock.levels);
    expect(channelAvailability(chain(), r.stock, 'web').available).toBe(before);
    expect(committed).toEqual(snapshot);
  });

  it('returns only what was shipped: backordered units never left, a location left empty since gets its units back', () => {
    const w = chain({ policies: { web: { backorder: true } } });
    const held = hold(stockOf({ 'wh-1': { onHand: 3 } }), w, { ...req, quantity: 5 });
    expect(held.hold).toMatchObject({ quantity: 3, backordered: 2 });
    const committed = commit(held.stock, 'r-1')!.stock;
    expect(committed.levels['wh-1'].onHand).toBe(0);
    const r = returnShipped(committed, 'web', placementOf(held.hold));
    expect(r.deltas).toEqual([{ location: 'wh-1', bucket: 'onHand', delta: 3, after: 3 }]);
    expect(returnShipped(stockOf({}), 'web', { byLocation: { 'wh-2': 2 }, quotaCounted: 0 }).stock.levels['wh-2']).toEqual(
      level({ onHand: 2 }),
    );
    const nothing = returnShipped(committed, 'web', { byLocation: {}, quotaCounted: 0 });
    expect(nothing.deltas).toEqual([]);
    expect(nothing.stock.levels).toEqual(committed.levels);
    expect(nothing.stock.quotaUsed).toBe(committed.quotaUsed);
  });

  it('gives a returned shipment’s units back to the channel’s quota', () => {
    const w = chain({ policies: { regional: { allocation: { kind: 'quota', units: 8 } } } });
    const held = hold(stockOf({ 'wh-1': { onHand: 100 } }), w, { ...req, channel: 'regional', quantity: 5 });
    const committed = commit(held.stock, 'r-1')!.stock;
    expect(channelAvailability(w, committed, 'regional').available).toBe(3);
    const r = returnShipped(committed, 'regional', placementOf(held.hold));
    expect(r.stock.quotaUsed).toEqual({ regional: 0 });
    expect(r.stock.levels['wh-1']).toMatchObject({ onHand: 100, reserved: 0 });
    expect(channelAvailability(w, r.stock, 'regional').available).toBe(8);
    expect(returnShipped(committed, 'regional', { byLocation: {}, quotaCounted: 50 }).stock.quotaUsed).toEqual({ regional: 0 });
  });

  it('extends a hold’s expiry without moving stock; nothing to extend is null', () => {
    const held = hold(stock, chain(), req).stock;
    const r = extend(held, 'r-1', NOW + 2 * HOUR);
    expect(r?.stock.holds['r-1'].expiresAt).toBe(NOW + 2 * HOUR);
    expect(r?.stock.levels).toEqual(held.levels);
    expect(r?.deltas).toEqual([]);
    expect(held.holds['r-1'].expiresAt).toBe(NOW + HOUR);
    expect(extend(stock, 'r-1', NOW)).toBeNull();
  });

  it('lists the holds expired by now', () => {
    let s = hold(stock, chain(), { ...req, reservationId: 'r-b', quantity: 1, expiresAt: NOW }).stock;
    s = hold(s, chain(), { ...req, reservationId: 'r-a', quantity: 1, expiresAt: NOW - 1 }).stock;
    s = hold(s, chain(), { ...req, reservationId: 'r-c', quantity: 1, expiresAt: NOW + 1 }).stock;
    expect(expiredHolds(s, NOW)).toEqual(['r-a', 'r-b']);
    expect(expiredHolds(s, NOW - 2)).toEqual([]);
  });
});
