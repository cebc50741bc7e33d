import { audienceOf, batchesOf, candidatesOf, NOTICE_BATCH } from '../src/domain/notices';
import { promotionNotices } from '../src/events/out/cart.promotion-notice';
import { applyOffers, customerForPricing } from '../src/domain/offers';
import { parseDefinition, readinessOf, type DefinitionInput } from '../src/domain/promotions';
import { priceCart, type ChannelView, type ItemView } from '../src/domain/trading';

/** The pure promotion rules of the cart: definitions, readiness, offers on a priced cart, who hears of a start. */
const channel = (code: string, state = 'active'): ChannelView => ({
  code,
  kind: 'web',
  state,
  expectedBackAt: null,
  blockReasons: [],
  region: 'EU',
  allowedDataRegions: ['EU'],
});
const item = (sku: string, priceMinor: number, currency = 'EUR'): ItemView => ({
  channel: 'web',
  sku,
  status: 'listed',
  title: sku,
  priceMinor,
  currency,
  barredRegions: [],
});
const rule = {
  level: 'cart',
  priority: 0,
  stacking: 'stack',
  condition: { field: 'line.sku', op: 'eq', value: 'A' },
  reward: { kind: 'percentage', percent: 10 },
  allocation: { kind: 'each_line' },
  code: false,
  campaignId: null,
};
const def = (over: Partial<DefinitionInput> = {}): DefinitionInput => ({
  promotionId: 'p1',
  version: 2,
  name: 'Ten off A',
  rule: JSON.stringify(rule),
  startsAt: 1000,
  endsAt: null,
  channels: ['web'],
  overrides: [],
  exhausted: false,
  withdrawn: false,
  ...over,
});

describe('promotion definitions', () => {
  it("takes the event's id, name, times and channels over the rule's, and checks the rule and override rewards", () => {
    const parsed = parseDefinition(
      def({
        overrides: [
          { channel: 'app', excluded: false, reward: '{"kind":"fixed_amount","amountMinor":5}', startsAt: null, endsAt: null, until: null },
        ],
      }),
    );
    expect(parsed.ok).toBe(true);
    expect(parsed.promotion.published?.promotion).toMatchObject({
      id: 'p1',
      name: 'Ten off A',
      startsAt: 1000,
      endsAt: null,
      channels: ['web'],
    });
    expect(parsed.promotion.published?.overrides[0].reward).toEqual({ kind: 'fixed_amount', amountMinor: 5 });

    const bad = parseDefinition(def({ rule: '{"level":"shelf"}' }));
    expect(bad).toMatchObject({ ok: false, promotion: { published: null, version: 2 } });
    expect(parseDefinition(def({ rule: 'not json' })).ok).toBe(false);
    const badReward = parseDefinition(
      def({
        overrides: [
          { channel: 'app', excluded: false, reward: '{"kind":"percentage","percent":300}', startsAt: null, endsAt: null, until: null },
        ],
      }),
    );
    expect(badReward.ok).toBe(false);
  });

  it('answers readiness per targeted channel, or per known live channel when it names none', () => {
    const known = new Map<string, ChannelView | null>([
      ['web', channel('web')],
      ['old', channel('old', 'retired')],
      ['ghost', null],
    ]);
    expect(readinessOf(['web', 'old', 'ghost'], known, true)).toEqual([
      { channel: 'ghost', state: 'error', reason: 'channel_unknown' },
      { channel: 'old', state: 'error', reason: 'channel_retired' },
      { channel: 'web', state: 'acknowledged', reason: null },
    ]);
    expect(readinessOf(null, known, true)).toEqual([{ channel: 'web', state: 'acknowledged', reason: null }]);
    expect(readinessOf(['web'], known, false)).toEqual([{ channel: 'web', state: 'error', reason: 'rule_invalid' }]);
  });
});

describe('offers on a priced cart', () => {
  const lines = [
    { sku: 'A', quantity: 3, channel: 'web', addedAt: 1 },
    { sku: 'B', quantity: 1, channel: 'web', addedAt: 2 },
    { sku: 'C', quantity: 1, channel: 'web', addedAt: 3 },
  ];
  const items = new Map([
    ['A', item('A', 105)],
    ['B', item('B', 200)],
  ]);
  const promotion = parseDefinition(def()).promotion.published!.promotion;

  it('discounts the available lines for the instant, with per-line offers, totals and the reasons of the rest', () => {
    const priced = priceCart(lines, channel('web'), items);
    const at = 5000;
    const out = applyOffers(
      priced,
      [promotion, { ...promotion, id: 'p2', name: 'Later', startsAt: 9000 }],
      { code: 'web', kind: 'web' },
      null,
      at,
    );
    expect(out.pricedAt).toBe(new Date(at).toISOString());
    expect(out.lines.map((l) => [l.sku, l.offers, l.discountedTotalMinor])).toEqual([
      ['A', [{ promotionId: 'p1', name: 'Ten off A', code: null, amountMinor: 30 }], 285],
      ['B', [], 200],
      ['C', [], null],
    ]);
    expect(out.totals).toEqual([{ currency: 'EUR', subtotalMinor: 515, units: 4, discountMinor: 30, totalMinor: 485 }]);
    expect(out.notApplied).toEqual([{ promotionId: 'p2', reason: 'not_started' }]);
    // before the start nothing applies
    expect(applyOffers(priced, [promotion], { code: 'web', kind: 'web' }, null, 999).totals[0].discountMinor).toBe(0);
  });

  it('knows a customer by the tier identity publishes; a device has none', () => {
    expect(customerForPricing('gold')).toEqual({ tier: 'gold', badges: [], segments: [] });
    expect(customerForPricing(null)).toBeNull();
  });
});

describe('who hears of a promotion start', () => {
  const cart = (customerId: string | null, skus: string[], wishlist: string[] = [], channel = 'web') => ({
    cartId: customerId ?? 'device:d',
    customerId,
    lines: skus.map((sku, i) => ({ sku, quantity: 1, channel, addedAt: i })),
    wishlist,
    version: 1,
    mergedSources: [],
    orderedBy: [],
    pendingMerge: null,
    updatedAt: 0,
    erasedAt: null,
  });

  it('the customers whose lines or wishlist hold a named SKU, with the channels the promotion applies to they could be told on', () => {
    const carts = [cart('c1', ['A', 'B']), cart('c2', [], ['A']), cart('c3', ['B']), cart(null, ['A']), cart('c4', ['A'], [], 'kiosk')];
    expect(candidatesOf(carts, ['A'], ['web', 'app'])).toEqual([
      { customerId: 'c1', channels: ['web'], skus: ['A'] },
      { customerId: 'c2', channels: ['web'], skus: ['A'] },
      { customerId: 'c4', channels: ['web'], skus: ['A'] },
    ]);
    // naming no SKU: every line counts
    expect(candidatesOf([cart('c3', ['B'])], [], [])).toEqual([{ customerId: 'c3', channels: ['web'], skus: ['B'] }]);
    // a matching line's channel first, then the other lines' (latest first)
    const both = { ...cart('c5', ['B', 'A']), lines: [...cart('c5', ['A']).lines, { sku: 'B', quantity: 1, channel: 'app', addedAt: 9 }] };
    expect(candidatesOf([both], ['A'], ['web', 'app'])).toEqual([{ customerId: 'c5', channels: ['web', 'app'], skus: ['A'] }]);
  });

  it('tells each candidate on its first channel with marketing consent, and counts those with none (opt-in)', () => {
    const candidates = [
      { customerId: 'c1', channels: ['web', 'app'], skus: ['A'] },
      { customerId: 'c2', channels: ['web', 'app'], skus: ['A'] },
      { customerId: 'c3', channels: ['web'], skus: ['A'] },
    ];
    const given = new Set(['c1:web', 'c1:app', 'c2:app']);
    expect(audienceOf(candidates, (c, ch) => given.has(`${c}:${ch}`))).toEqual({
      recipients: [
        { customerId: 'c1', channel: 'web', skus: ['A'] },
        { customerId: 'c2', channel: 'app', skus: ['A'] },
      ],
      withoutConsent: 1,
    });
    expect(audienceOf(candidates, () => false)).toEqual({ recipients: [], withoutConsent: 3 });
  });

  it('splits the recipients into records of at most NOTICE_BATCH customers, keyed by promotion, version and batch', () => {
    const recipients = Array.from({ length: 2 * NOTICE_BATCH + 1 }, (_, i) => ({ customerId: `c${i}`, channel: 'web', skus: ['A'] }));
    expect(batchesOf(recipients).map((b) => b.length)).toEqual([NOTICE_BATCH, NOTICE_BATCH, 1]);
    const promotion = { promotionId: 'p1', version: 3, name: 'Spring', startsAt: 1000, endsAt: null, channels: ['web'], skus: ['A'] };
    const events = promotionNotices(promotion, recipients, { correlationId: 'corr-1' });
    expect(events.map((e) => [e.key, e.value.batch, e.value.batches, e.value.customers.length])).toEqual([
      ['p1:3:0', 0, 3, NOTICE_BATCH],
      ['p1:3:1', 1, 3, NOTICE_BATCH],
      ['p1:3:2', 2, 3, 1],
    ]);
    expect(events[2].value.customers).toEqual([{ customerId: `c${2 * NOTICE_BATCH}`, channel: 'web' }]);
    expect(events[0].value.envelope).toMatchObject({ aggregateVersion: 3, correlationId: 'corr-1', producer: 'cart' });
    // nobody to tell: no record
    expect(promotionNotices(promotion, [], {})).toEqual([]);
  });
});
