import { applyCommand, emptyCart, MAX_LINE_QUANTITY, mergeCarts, type CartRecord, type CartState } from '../src/domain/cart';
import { DAY_MS, deviceCartsMergedInto, eraseCart, retentionCutoff, writableState } from '../src/domain/privacy';
import {
  assertChannelReadable,
  assertChannelTrades,
  assertCustomerMayTrade,
  assertDataMayReachChannel,
  assertItemSellable,
  priceCart,
  readOnlyNotice,
  type ChannelView,
  type CustomerView,
  type ItemView,
} from '../src/domain/trading';
import { standingClosure, ticketExpiresAt } from '../src/domain/streams';
import { cartSettings } from '../src/settings';

const line = (sku: string, quantity: number, channel = 'web', addedAt = 1) => ({ sku, quantity, channel, addedAt });
const channel: ChannelView = {
  code: 'web',
  kind: 'web',
  state: 'active',
  expectedBackAt: null,
  blockReasons: [],
  region: 'EU',
  allowedDataRegions: ['EU'],
};
const item = (sku: string, over: Partial<ItemView> = {}): ItemView => ({
  channel: 'web',
  sku,
  status: 'listed',
  title: sku,
  priceMinor: 250,
  currency: 'EUR',
  barredRegions: [],
  ...over,
});

describe('cart commands', () => {
  it('adds a line with its channel and time, then sums units and keeps the first channel', () => {
    const a = applyCommand(emptyCart(), { kind: 'add', sku: 'A', quantity: 2, channel: 'app', at: 5 })!;
    expect(a).toEqual({ change: 'line_added', state: { lines: [line('A', 2, 'app', 5)], wishlist: [], version: 1 } });
    const b = applyCommand(a.state, { kind: 'add', sku: 'A', quantity: 3, channel: 'web', at: 9 })!;
    expect(b.change).toBe('line_updated');
    expect(b.state.lines).toEqual([line('A', 5, 'app', 5)]);
    expect(b.state.version).toBe(2);
  });

  it('refuses to exceed the per-line cap with line_quantity_cap', () => {
    const s: CartState = { lines: [line('A', MAX_LINE_QUANTITY - 1)], wishlist: [], version: 1 };
    expect(() => applyCommand(s, { kind: 'add', sku: 'A', quantity: 2, channel: 'web', at: 1 })).toThrow(
      expect.objectContaining({ code: 'line_quantity_cap', status: 422 }),
    );
  });

  it('set to 0 removes; removing or wishing twice changes nothing', () => {
    const s: CartState = { lines: [line('A', 1)], wishlist: ['W'], version: 3 };
    expect(applyCommand(s, { kind: 'set', sku: 'A', quantity: 0, channel: 'web', at: 1 })).toMatchObject({
      change: 'line_removed',
      state: { lines: [], version: 4 },
    });
    expect(applyCommand(s, { kind: 'remove', sku: 'B' })).toBeNull();
    expect(applyCommand(s, { kind: 'wish', sku: 'W' })).toBeNull();
    expect(applyCommand(s, { kind: 'unwish', sku: 'W' })).toMatchObject({ change: 'wishlist_changed', state: { wishlist: [] } });
    expect(applyCommand(s, { kind: 'clear' })).toMatchObject({ change: 'cleared', state: { lines: [], wishlist: [], version: 4 } });
    expect(applyCommand(emptyCart(), { kind: 'clear' })).toBeNull();
  });
});

describe('merge rule', () => {
  it('sums quantities up to the cap, keeps target lines first, appends new ones, unites wishlists', () => {
    const target = { lines: [line('A', 60, 'web', 1), line('B', 1, 'web', 2)], wishlist: ['W1', 'W2'] };
    const source = { lines: [line('A', 50, 'app', 3), line('C', 4, 'app', 4)], wishlist: ['W2', 'W3'] };
    expect(mergeCarts(target, source)).toEqual({
      lines: [line('A', MAX_LINE_QUANTITY, 'web', 1), line('B', 1, 'web', 2), line('C', 4, 'app', 4)],
      wishlist: ['W1', 'W2', 'W3'],
      dropped: [],
    });
  });
});

describe('trading rules', () => {
  it('refuses banned, current suspensions and erased customers; a lapsed suspension passes', () => {
    const c = { customerId: 'c', reason: 'fraud', until: null, dataRegion: 'EU', loyaltyTier: 'basic' };
    expect(() => assertCustomerMayTrade({ ...c, status: 'banned' })).toThrow(
      expect.objectContaining({ code: 'customer_banned', status: 403 }),
    );
    expect(() => assertCustomerMayTrade({ ...c, status: 'suspended', until: Date.now() + 60000 })).toThrow(
      expect.objectContaining({ code: 'customer_suspended' }),
    );
    expect(() => assertCustomerMayTrade({ ...c, status: 'erased' })).toThrow(expect.objectContaining({ code: 'customer_erased' }));
    expect(() => assertCustomerMayTrade({ ...c, status: 'suspended', until: Date.now() - 1 })).not.toThrow();
    expect(() => assertCustomerMayTrade(null)).not.toThrow();
  });

  it('names the channel state and when it is expected back', () => {
    const back = Date.UTC(2030, 0, 1);
    try {
      assertChannelTrades('web', { ...channel, state: 'maintenance', expectedBackAt: back });
      throw new Error('not refused');
    } catch (err) {
      expect(err).toMatchObject({
        status: 409,
        code: 'channel_not_active',
        details: { state: 'maintenance', expectedBackAt: '2030-01-01T00:00:00.000Z' },
      });
      expect((err as Error).message).toMatch(/maintenance.*2030-01-01/);
    }
    expect(() => assertChannelTrades('web', { ...channel, blockReasons: ['outdated_branding'] })).toThrow(
      expect.objectContaining({ code: 'channel_blocked' }),
    );
    expect(() => assertChannelTrades('web', null)).toThrow(
      expect.objectContaining({ status: 404, code: 'channel_not_found', details: { channel: 'web' } }),
    );
  });

  it('reads a cart on a channel in maintenance (with a notice that changes wait), and on no other channel that does not trade', () => {
    const back = Date.UTC(2030, 0, 1);
    const maint = { ...channel, state: 'maintenance', expectedBackAt: back };
    expect(assertChannelReadable('web', maint)).toBe(maint);
    expect(readOnlyNotice(maint)).toMatchObject({
      code: 'channel_not_active',
      state: 'maintenance',
      expectedBackAt: '2030-01-01T00:00:00.000Z',
      hint: expect.stringContaining('after 2030-01-01T00:00:00.000Z'),
    });
    expect(readOnlyNotice(channel)).toBeNull();
    expect(() => assertChannelReadable('web', { ...channel, state: 'sunset' })).toThrow(
      expect.objectContaining({ code: 'channel_not_active' }),
    );
    expect(() => assertChannelReadable('web', { ...channel, blockReasons: ['outdated_branding'] })).toThrow(
      expect.objectContaining({ code: 'channel_blocked' }),
    );
    expect(() => assertChannelReadable('web', null)).toThrow(expect.objectContaining({ status: 404, code: 'channel_not_found' }));
  });

  it('keeps personal data out of channels that may not receive its region, and barred items out of their markets', () => {
    expect(() =>
      assertDataMayReachChannel(
        { customerId: 'c', status: 'active', reason: null, until: null, dataRegion: 'US', loyaltyTier: 'basic' },
        channel,
      ),
    ).toThrow(expect.objectContaining({ code: 'data_region_not_allowed', status: 403 }));
    expect(() => assertItemSellable('A', item('A', { barredRegions: ['EU'] }), channel)).toThrow(
      expect.objectContaining({ code: 'item_barred_in_region', status: 451 }),
    );
    expect(() => assertItemSellable('A', null, channel)).toThrow(
      expect.objectContaining({ code: 'item_not_sold_on_channel', status: 422 }),
    );
  });

  it('prices available lines and flags, without dropping, the ones the channel cannot sell', () => {
    const items = new Map([
      ['A', item('A')],
      ['B', item('B', { status: 'withdrawn' })],
      ['C', item('C', { barredRegions: ['EU'] })],
    ]);
    const priced = priceCart([line('A', 3), line('B', 1), line('C', 1), line('D', 1)], channel, items);
    expect(priced.lines.map((l) => [l.sku, l.available, l.reason, l.lineTotalMinor])).toEqual([
      ['A', true, null, 750],
      ['B', false, 'withdrawn_on_channel', null],
      ['C', false, 'barred_in_region', null],
      ['D', false, 'not_listed_on_channel', null],
    ]);
    expect(priced.totals).toEqual([{ currency: 'EUR', subtotalMinor: 750, units: 3 }]);
    expect(priced.unavailableLines).toBe(3);
  });
});

describe('live stream rules', () => {
  const customer = (over: Partial<CustomerView> = {}): CustomerView => ({
    customerId: 'c1',
    status: 'active',
    reason: null,
    until: null,
    dataRegion: 'EU',
    loyaltyTier: 'basic',
    ...over,
  });

  it('ends a stream exactly when the customer gate would refuse it', () => {
    expect(standingClosure(customer())).toBeNull();
    expect(standingClosure(customer({ status: 'banned', reason: 'fraud' }))).toMatchObject({
      code: 'customer_banned',
      hint: expect.any(String),
      details: { reason: 'fraud' },
    });
    expect(standingClosure(customer({ status: 'suspended', until: 2000 }), 1000)).toMatchObject({ code: 'customer_suspended' });
    expect(standingClosure(customer({ status: 'suspended', until: 2000 }), 3000)).toBeNull();
    expect(standingClosure(customer({ status: 'erased' }))).toMatchObject({ code: 'customer_erased' });
  });

  it('lets a ticket live its ttl, never past the token it was issued for', () => {
    expect(ticketExpiresAt(1000, null, 30_000)).toBe(31_000);
    expect(ticketExpiresAt(1000, 90_000, 30_000)).toBe(31_000);
    expect(ticketExpiresAt(1000, 5000, 30_000)).toBe(5000);
  });

  it('reads the stream limits and the ticket lifetime from the environment, and refuses nonsense', () => {
    expect(cartSettings({})).toMatchObject({ maxStreamsPerCart: 5, maxStreams: 10_000, ticketTtlMs: 30_000 });
    expect(cartSettings({ CART_MAX_STREAMS_PER_CUSTOMER: '2', CART_MAX_STREAMS: '50', CART_STREAM_TICKET_TTL_MS: '5000' })).toMatchObject({
      maxStreamsPerCart: 2,
      maxStreams: 50,
      ticketTtlMs: 5000,
    });
    expect(() => cartSettings({ CART_MAX_STREAMS_PER_CUSTOMER: '0' })).toThrow(/CART_MAX_STREAMS_PER_CUSTOMER/);
    expect(() => cartSettings({ CART_MAX_STREAMS: 'many' })).toThrow(/CART_MAX_STREAMS/);
    expect(() => cartSettings({ CART_STREAM_TICKET_TTL_MS: '10' })).toThrow(/CART_STREAM_TICKET_TTL_MS/);
  });
});

describe('privacy rules', () => {
  const record = (over: Partial<CartRecord> = {}): CartRecord => ({
    cartId: 'c1',
    customerId: 'c1',
    lines: [line('A', 2)],
    wishlist: ['W'],
    version: 7,
    mergedSources: [
      { source: 'device:d1', version: 2 },
      { source: 'c0', version: 3 },
    ],
    orderedBy: [],
    pendingMerge: null,
    updatedAt: 1,
    erasedAt: null,
    ...over,
  });

  it('erases a cart to an empty, marked tombstone, announcing it only when something was there', () => {
    const e = eraseCart(record(), 50)!;
    expect(e).toEqual({
      set: { lines: [], wishlist: [], version: 8, mergedSources: [], orderedBy: [], pendingMerge: null, erasedAt: 50, updatedAt: 50 },
      state: { lines: [], wishlist: [], version: 8 },
      announce: true,
    });
    expect(eraseCart(null, 50)).toMatchObject({ set: { version: 0, erasedAt: 50 }, announce: false });
    expect(eraseCart(record({ lines: [], wishlist: [] }), 50)).toMatchObject({ set: { version: 7, mergedSources: [] }, announce: false });
    expect(eraseCart(record({ lines: [], wishlist: [], mergedSources: [], erasedAt: 40 }), 50)).toBeNull();
  });

  it('names the device carts merged into a cart, not the customers merged into it', () => {
    expect(deviceCartsMergedInto(record())).toEqual(['device:d1']);
    expect(deviceCartsMergedInto(null)).toEqual([]);
  });

  it('refuses writes to an erased customer cart; an erased device cart starts afresh at its version', () => {
    expect(writableState(null)).toEqual(emptyCart());
    expect(writableState(record())).toMatchObject({ version: 7, lines: [line('A', 2)] });
    expect(() => writableState(record({ erasedAt: 5 }))).toThrow(expect.objectContaining({ code: 'customer_erased', status: 403 }));
    expect(writableState(record({ cartId: 'device:d1', customerId: null, erasedAt: 5 }))).toEqual({ lines: [], wishlist: [], version: 7 });
  });

  it('keeps device carts CART_DEVICE_CART_RETENTION_DAYS (30 by default) after they were last touched', () => {
    expect(cartSettings({}).deviceCartRetentionDays).toBe(30);
    expect(cartSettings({ CART_DEVICE_CART_RETENTION_DAYS: '7' }).deviceCartRetentionDays).toBe(7);
    expect(() => cartSettings({ CART_DEVICE_CART_RETENTION_DAYS: '0' })).toThrow(/CART_DEVICE_CART_RETENTION_DAYS/);
    expect(retentionCutoff(40 * DAY_MS, 30)).toBe(10 * DAY_MS);
  });
});
