import type { PublishedPromotion } from '@omnimall/pricing';
import { AppError } from '@omnimall/service-kit/errors';
import { checkChannel, checkCustomer, priceCheckout, type ChannelView, type ItemView, type PricingInput } from '../src/domain/checkout';
import type { Order } from '../src/domain/order';
import { begin, compensate, onAuthorisation, onProviderState, onReservation, onUsage, overdue, type SagaTimings } from '../src/domain/saga';
import { assertMove, reportedStatus } from '../src/domain/states';

const t: SagaTimings = { stepMs: 1000, paymentMs: 2000, maxAttempts: 2 };

const channel: ChannelView = {
  code: 'web',
  kind: 'web',
  state: 'active',
  blockReasons: [],
  region: 'eu',
  currencies: ['EUR'],
  allowedDataRegions: ['eu'],
  expectedBackAt: null,
};
const item = (over: Partial<ItemView> = {}): ItemView => ({
  status: 'listed',
  title: 'Mug',
  priceMinor: 1000,
  currency: 'EUR',
  taxInclusive: true,
  barredRegions: [],
  ...over,
});

function order(over: Partial<Order> = {}): Order {
  return {
    id: 'ord_1',
    customerId: 'c1',
    cartId: 'c1',
    cartVersion: 3,
    channel: 'web',
    steward: 'channel-manager:web',
    placedBy: 'customer:c1',
    requestHash: 'h',
    lines: [{ sku: 'A', title: 'A', quantity: 1, unitPriceMinor: 1000, adjustments: [], totalMinor: 1000, addedOn: 'app' }],
    price: {
      currency: 'EUR',
      subtotalMinor: 1000,
      discountMinor: 0,
      points: 0,
      pointsMinor: 0,
      shippingMinor: 0,
      taxInclusive: true,
      totalMinor: 1000,
      pricedAt: new Date(0).toISOString(),
      promotionIds: [],
      codes: [],
      campaigns: [],
      gifts: [],
      channelKind: 'web',
      tier: null,
    },
    address: { name: 'A', line1: '1', city: 'B', postalCode: '1', country: 'DE' },
    shipping: 'standard',
    enteredCodes: [],
    methodToken: 'tok',
    state: 'pending',
    payment: { state: 'pending', provider: 'p', providerRef: null, amountMinor: 1000, webhookEvents: [] },
    fulfilment: { state: 'unfulfilled', partnerOrderId: null, lastPartnerStatus: null },
    saga: { state: 'running', steps: [], deadline: null, failure: null },
    history: [],
    correlationId: 'corr',
    createdAt: 0,
    updatedAt: 0,
    version: 0,
    ...over,
  };
}

const steps = (o: Order) => o.saga.steps.map((s) => `${s.name}:${s.state}`);

describe('the checkout saga', () => {
  it('reserves first, then holds usage only when there is some, then authorises', () => {
    const started = begin(order({ enteredCodes: ['SAVE'] }), 100, t);
    expect(started.commands).toEqual([{ to: 'inventory', action: 'reserve', commandId: 'ord_1:reserve:1' }]);
    expect(started.order.saga.deadline).toBe(1100);
    const held = onReservation(started.order, { commandId: 'ord_1:reserve:1', state: 'held', reason: null, hint: null }, 200, t)!;
    expect(held.commands).toEqual([{ to: 'promotions', action: 'hold', commandId: 'ord_1:hold_usage:1' }]);
    const usage = onUsage(held.order, { commandId: 'ord_1:hold_usage:1', state: 'held', reason: null, hint: null }, null, 300, t)!;
    expect(usage.payment).toBe('authorise');
    expect(steps(usage.order)).toEqual(['reserve:done', 'hold_usage:done', 'authorise:running']);

    const plain = begin(order(), 100, t);
    const straight = onReservation(plain.order, { commandId: 'ord_1:reserve:1', state: 'held', reason: null, hint: null }, 200, t)!;
    expect(straight.commands).toEqual([]);
    expect(straight.payment).toBe('authorise');
  });

  it('ignores a reply to a command it does not await; a late reply to an earlier attempt still settles the step', () => {
    const started = begin(order(), 100, t);
    expect(onReservation(started.order, { commandId: 'ord_1:reserve:9', state: 'held', reason: null, hint: null }, 200, t)).toBeNull();
    expect(onReservation(started.order, { commandId: 'ord_2:reserve:1', state: 'held', reason: null, hint: null }, 200, t)).toBeNull();
    const resent = overdue(started.order, 1100, t);
    const second = resent.kind === 'resend' ? resent.change.order : null;
    expect(second!.saga.steps[0]).toMatchObject({ commandId: 'ord_1:reserve:2', attempts: 2 });
    const late = onReservation(second!, { commandId: 'ord_1:reserve:1', state: 'held', reason: null, hint: null }, 1200, t)!;
    expect(steps(late.order)).toEqual(['reserve:done', 'authorise:running']);
    // the reply to the second attempt, arriving after: nothing awaits it any more
    expect(onReservation(late.order, { commandId: 'ord_1:reserve:2', state: 'held', reason: null, hint: null }, 1300, t)).toBeNull();
  });

  it('confirms on authorisation: the order confirmed, every channel told, commits and capture asked for', () => {
    const o = onReservation(
      begin(order(), 0, t).order,
      { commandId: 'ord_1:reserve:1', state: 'held', reason: null, hint: null },
      1,
      t,
    )!.order;
    const c = onAuthorisation(o, { state: 'authorised', providerRef: 'psp-1', reason: null }, 2, t)!;
    expect(c.order).toMatchObject({
      state: 'confirmed',
      payment: { state: 'authorised', providerRef: 'psp-1' },
      saga: { state: 'confirmed' },
    });
    expect(c.report).toBe(true);
    expect(c.payment).toBe('capture');
    expect(c.commands).toEqual([{ to: 'inventory', action: 'commit', commandId: 'ord_1:commit_stock:1' }]);
  });

  it('a decline compensates in reverse and tells the customer what to do; the order ends cancelled once released', () => {
    const o = onReservation(
      begin(order(), 0, t).order,
      { commandId: 'ord_1:reserve:1', state: 'held', reason: null, hint: null },
      1,
      t,
    )!.order;
    const declined = onAuthorisation(o, { state: 'failed', providerRef: null, reason: 'card_declined' }, 2, t)!;
    expect(declined.commands).toEqual([{ to: 'inventory', action: 'release', commandId: 'ord_1:release_stock:1' }]);
    expect(declined.order.saga).toMatchObject({
      state: 'compensating',
      failure: { status: 402, code: 'payment_declined', remediation: 'use_another_payment_method', reference: 'ORD_1' },
    });
    const released = onReservation(
      declined.order,
      { commandId: 'ord_1:release_stock:1', state: 'released', reason: null, hint: null },
      3,
      t,
    )!;
    expect(released.order).toMatchObject({ state: 'cancelled', payment: { state: 'failed' }, saga: { state: 'failed' } });
    expect(released.report).toBe(false);
  });

  it('a refused reservation fails at once with nothing to undo', () => {
    const c = onReservation(
      begin(order(), 0, t).order,
      { commandId: 'ord_1:reserve:1', state: 'refused', reason: 'insufficient_stock', hint: 'fewer' },
      1,
      t,
    )!;
    expect(c.commands).toEqual([]);
    expect(c.order).toMatchObject({
      state: 'cancelled',
      saga: { state: 'failed', failure: { code: 'insufficient_stock', remediation: 'pick_another_item' } },
    });
  });

  it('the sweeper resends an unanswered step, then gives it up and compensates', () => {
    const o = begin(order(), 0, t).order;
    expect(overdue(o, 500, t).kind).toBe('none');
    const again = overdue(o, 1000, t);
    expect(again.kind).toBe('resend');
    const resent = again.kind === 'resend' ? again.change : null;
    expect(resent!.commands).toEqual([{ to: 'inventory', action: 'reserve', commandId: 'ord_1:reserve:2' }]);
    const giveUp = overdue(resent!.order, 5000, t);
    expect(giveUp.kind).toBe('compensate');
    const c = giveUp.kind === 'compensate' ? giveUp.change : null;
    expect(c!.order.saga.failure).toMatchObject({ code: 'checkout_timed_out', remediation: 'retry' });
    expect(c!.commands).toEqual([{ to: 'inventory', action: 'release', commandId: 'ord_1:release_stock:1' }]);
  });

  it('a payment past its deadline is asked of the provider: a timed-out one is voided, one cut by a crash goes on', () => {
    const reserved = onReservation(
      begin(order(), 0, t).order,
      { commandId: 'ord_1:reserve:1', state: 'held', reason: null, hint: null },
      1,
      t,
    )!.order;
    expect(overdue(reserved, 10_000, t)).toEqual({ kind: 'ask_provider', step: 'authorise' });
    // a crash: the step is still running, the provider never saw it → authorise again
    const retried = onProviderState(reserved, 'authorise', null, 10_000, t)!;
    expect(retried.payment).toBe('authorise');
    expect(retried.order.saga.steps.find((s) => s.name === 'authorise')!.attempts).toBe(2);
    // a crash after the provider authorised → confirm
    expect(onProviderState(reserved, 'authorise', { state: 'authorised', providerRef: 'r' }, 10_000, t)!.order.state).toBe('confirmed');
    // a timeout (the step's outcome unknown) → give up, void the late approval, release
    const unknown = onAuthorisation(reserved, 'unavailable', 5, t)!.order;
    const gaveUp = onProviderState(unknown, 'authorise', { state: 'authorised', providerRef: 'r' }, 10_000, t)!;
    expect(gaveUp.payment).toBe('void');
    expect(gaveUp.commands).toEqual([{ to: 'inventory', action: 'release', commandId: 'ord_1:release_stock:1' }]);
    expect(gaveUp.order.saga.failure?.code).toBe('payment_timed_out');
  });

  it('compensates a step of unknown outcome too (undoing what did not happen is harmless)', () => {
    const o = begin(order({ enteredCodes: ['X'] }), 0, t).order;
    const c = compensate(o, { status: 503, code: 'x', message: 'x', hint: 'x', remediation: 'retry' }, 1, t);
    expect(steps(c.order)).toEqual(['reserve:failed', 'release_stock:running']);
  });
});

describe('order states', () => {
  it('refuses a move the table does not list, naming the allowed ones', () => {
    expect(() => assertMove('order', 'cancelled', 'confirmed')).toThrow(
      expect.objectContaining({
        status: 409,
        code: 'transition_refused',
        details: { field: 'order', from: 'cancelled', to: 'confirmed', allowed: [] },
      }),
    );
    expect(() => assertMove('fulfilment', 'unfulfilled', 'returned')).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ allowed: ['partially', 'fulfilled'] }) }),
    );
    expect(() => assertMove('order', 'pending', 'confirmed')).not.toThrow();
  });

  it('reports the most advanced state in the topic’s vocabulary', () => {
    expect(reportedStatus('confirmed', 'authorised', 'unfulfilled')).toBe('placed');
    expect(reportedStatus('confirmed', 'captured', 'unfulfilled')).toBe('paid');
    expect(reportedStatus('confirmed', 'captured', 'partially')).toBe('shipped');
    expect(reportedStatus('completed', 'captured', 'fulfilled')).toBe('delivered');
    expect(reportedStatus('completed', 'refunded', 'returned')).toBe('returned');
    expect(reportedStatus('cancelled', 'refunded', 'unfulfilled')).toBe('cancelled');
  });
});

describe('checkout rules and the price snapshot', () => {
  const input = (over: Partial<PricingInput> = {}): PricingInput => ({
    cart: { cartId: 'c1', customerId: 'c1', version: 1, lines: [{ sku: 'A', quantity: 2, channel: 'app' }] },
    channel,
    customer: { status: 'active', until: null, loyaltyTier: 'gold', dataRegion: 'eu' },
    items: new Map([['A', item()]]),
    promotions: [],
    codes: [],
    points: 0,
    pointValueMinor: 1,
    shippingMinor: 0,
    at: 1000,
    ...over,
  });
  const refusal = (fn: () => unknown): AppError => {
    try {
      fn();
    } catch (err) {
      return err as AppError;
    }
    throw new Error('not refused');
  };

  it('prices at the channel’s own price with its promotions for the instant, points capped at what is left, shipping added', () => {
    const tenOff: PublishedPromotion = {
      promotion: {
        id: 'p1',
        name: 'ten',
        level: 'cart',
        priority: 0,
        stacking: 'stack',
        startsAt: 0,
        endsAt: null,
        channels: null,
        condition: null,
        reward: { kind: 'percentage', percent: 10 },
        allocation: { kind: 'each_line' },
        code: false,
        campaignId: 'camp',
      },
      overrides: [],
      exhausted: false,
    };
    const { price, lines } = priceCheckout(input({ promotions: [tenOff], points: 5000, shippingMinor: 500 }));
    expect(lines[0]).toMatchObject({ sku: 'A', quantity: 2, unitPriceMinor: 1000, totalMinor: 1800, addedOn: 'app' });
    expect(price).toMatchObject({
      subtotalMinor: 2000,
      discountMinor: 200,
      points: 1800,
      pointsMinor: 1800,
      shippingMinor: 500,
      totalMinor: 500,
    });
    expect(price.campaigns).toEqual([{ campaignId: 'camp', amountMinor: 200 }]);
    expect(priceCheckout(input({ promotions: [tenOff], at: -1 })).price.discountMinor).toBe(0); // before its start
  });

  it('refuses lines the channel cannot sell, restricted ones, mixed currencies and an empty cart, each with a remediation', () => {
    expect(refusal(() => priceCheckout(input({ items: new Map() })))).toMatchObject({
      status: 422,
      code: 'item_not_sold_on_channel',
      details: { remediation: 'pick_another_item', lines: [{ sku: 'A', reason: 'not_sold_on_channel' }] },
    });
    expect(refusal(() => priceCheckout(input({ items: new Map([['A', item({ barredRegions: ['eu'] })]]) })))).toMatchObject({
      code: 'item_restricted',
    });
    const two = input({
      cart: {
        cartId: 'c1',
        customerId: 'c1',
        version: 1,
        lines: [
          { sku: 'A', quantity: 1, channel: 'web' },
          { sku: 'B', quantity: 1, channel: 'web' },
        ],
      },
      items: new Map([
        ['A', item()],
        ['B', item({ currency: 'GBP' })],
      ]),
    });
    expect(refusal(() => priceCheckout(two)).code).toBe('mixed_currencies');
    expect(refusal(() => priceCheckout(input({ items: new Map([['A', item({ currency: 'USD' })]]) })))).toMatchObject({
      code: 'currency_not_accepted',
      details: { currency: 'USD', currencies: ['EUR'] },
    });
    expect(refusal(() => priceCheckout(input({ cart: { cartId: 'c1', customerId: 'c1', version: 1, lines: [] } }))).code).toBe(
      'cart_empty',
    );
  });

  it('refuses a channel in maintenance with its expected return, a banned customer, and data that may not reach the channel', () => {
    expect(refusal(() => checkChannel('web', { ...channel, state: 'maintenance', expectedBackAt: 5000 }, null))).toMatchObject({
      status: 409,
      code: 'channel_in_maintenance',
      details: { remediation: 'retry', expectedBackAt: new Date(5000).toISOString() },
    });
    expect(refusal(() => checkCustomer({ status: 'banned', until: null, loyaltyTier: 's', dataRegion: 'eu' }, 0))).toMatchObject({
      status: 403,
      code: 'customer_banned',
    });
    expect(() => checkCustomer({ status: 'suspended', until: 10, loyaltyTier: 's', dataRegion: 'eu' }, 20)).not.toThrow();
    expect(refusal(() => checkChannel('web', channel, { status: 'active', until: null, loyaltyTier: 's', dataRegion: 'us' })).code).toBe(
      'data_region_not_allowed',
    );
  });
});
