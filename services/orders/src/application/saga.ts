import { EventEmitter } from 'node:events';
import { mapLimit, type Logger, type OutgoingEvent } from '@omnimall/service-kit';
import { priceCheckout } from '../domain/checkout';
import type { Change, Order } from '../domain/order';
import {
  onAuthorisation,
  onCapture,
  onProviderState,
  onReservation,
  onUsage,
  onVoid,
  overdue,
  type PaymentAnswer,
  type Reply,
  type SagaTimings,
} from '../domain/saga';
import { commandEvent } from '../events/out/commands';
import { orderStatusChanged } from '../events/out/orders.order-status';
import { PaymentUnavailableError, type PaymentProvider } from '../payments/port';
import type { OrdersStore } from '../store';
import type { PromotionBook } from './promotion-book';
import type { PublishedPromotion } from '@omnimall/pricing';

export interface SagaSettings extends SagaTimings {
  /** How long inventory and promotions hold for a checkout (the commands' expiresAt). */
  holdMs: number;
  pointValueMinor: number;
}

/**
 * Runs the checkout sagas: every move is one write of the order with the commands and status it
 * leads to (the outbox), then the payment call it asks for, if any. Replies from inventory and
 * promotions, the provider's answers and the sweeper all go through `apply`, a compare-and-set on the
 * order, so a reply handled twice, on two instances or after a crash, moves the saga once.
 */
export class SagaRunner {
  private readonly moved = new EventEmitter();

  constructor(
    private readonly store: OrdersStore,
    private readonly provider: PaymentProvider,
    private readonly settings: SagaSettings,
    private readonly logger: Logger,
    private readonly book: PromotionBook,
  ) {
    this.moved.setMaxListeners(0);
  }

  /** Writes what `step` decides on the current order, then makes the payment call it asks for. */
  async apply(id: string, step: (o: Order) => Change | null, assumeNew = false): Promise<Order | null> {
    let made: Change | null = null;
    const now = Date.now();
    const written = await this.store.orders.transact(
      id,
      (cur) => {
        made = cur || assumeNew ? step(cur as Order) : null;
        return made ? { order: made.order, events: this.eventsOf(made, now) } : null;
      },
      assumeNew,
    );
    const change = made as Change | null;
    if (!change || !written) return written;
    this.moved.emit(id, written);
    if (written.state === 'cancelled' && written.saga.state === 'failed' && change.order.history.at(-1)?.by === 'saga')
      await this.store.claims.release(written.cartId, written.cartVersion, written.id);
    if (change.payment) void this.pay(id, change.payment);
    return written;
  }

  private eventsOf(c: Change, now: number): OutgoingEvent[] {
    const events: OutgoingEvent[] = c.commands.map((cmd) => commandEvent(c.order, cmd, this.settings.holdMs, now));
    if (c.report) events.push(orderStatusChanged(c.order, now));
    return events;
  }

  /** Resolves with the order once `done` says so, or as it stands after `ms`. */
  async waitFor(id: string, done: (o: Order) => boolean, ms: number): Promise<Order | null> {
    const now = await this.store.orders.get(id);
    if (!now || done(now)) return now;
    return new Promise((resolve) => {
      const listener = (o: Order): void => {
        if (!done(o)) return;
        cleanup();
        resolve(o);
      };
      // this instance hears its own moves at once; another instance may move the order (its replies are
      // consumed there): look now and then, seldom enough that waiting checkouts never load the database
      const poll = setInterval(() => {
        void this.store.orders.get(id).then((o) => o && listener(o));
      }, 1000);
      const timer = setTimeout(() => {
        cleanup();
        void this.store.orders.get(id).then(resolve);
      }, ms);
      const cleanup = (): void => {
        clearInterval(poll);
        clearTimeout(timer);
        this.moved.off(id, listener);
      };
      this.moved.on(id, listener);
    });
  }

  /** inventory.reservation: the answer to one of the saga's reservation commands (the reservation id is the order id). */
  async reservationAnswered(orderId: string, r: Reply): Promise<void> {
    const t = this.settings;
    await this.apply(orderId, (o) => onReservation(o, r, Date.now(), t));
  }

  /** promotions.usage: the answer to one of the saga's usage commands; a hold that resolved codes reprices the order with them. */
  async usageAnswered(orderId: string, r: Reply, codePromotions: { code: string; promotionId: string }[]): Promise<void> {
    const t = this.settings;
    const book = codePromotions.length
      ? await this.book.published(
          Date.now(),
          codePromotions.map((c) => c.promotionId),
        )
      : [];
    await this.apply(orderId, (o) => onUsage(o, r, codePromotions.length ? this.reprice(o, codePromotions, book) : null, Date.now(), t));
  }

  /** The order priced again for its own instant, at its own unit prices, with the codes the hold resolved. */
  private reprice(o: Order, codes: { code: string; promotionId: string }[], book: PublishedPromotion[]): Order['price'] {
    const items = new Map(
      o.lines.map((l) => [
        l.sku,
        {
          status: 'listed' as const,
          title: l.title,
          priceMinor: l.unitPriceMinor,
          currency: o.price.currency,
          taxInclusive: o.price.taxInclusive,
          barredRegions: [],
        },
      ]),
    );
    const priced = priceCheckout({
      cart: {
        cartId: o.cartId,
        customerId: o.customerId,
        version: o.cartVersion,
        lines: o.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, channel: l.addedOn })),
      },
      channel: {
        code: o.channel,
        kind: o.price.channelKind,
        state: 'active',
        blockReasons: [],
        region: '',
        currencies: [],
        allowedDataRegions: [],
        expectedBackAt: null,
      },
      customer: o.price.tier ? { status: 'active', until: null, loyaltyTier: o.price.tier, dataRegion: '' } : null,
      items,
      promotions: book,
      codes,
      points: o.price.points,
      pointValueMinor: this.settings.pointValueMinor,
      shippingMinor: o.price.shippingMinor,
      at: Date.parse(o.price.pricedAt),
    });
    return { ...priced.price, campaigns: o.price.campaigns };
  }

  /** Makes a payment call the saga asked for and applies its answer. */
  private async pay(id: string, call: NonNullable<Change['payment']>): Promise<void> {
    const t = this.settings;
    try {
      const o = await this.store.orders.get(id);
      if (!o) return;
      let answer: PaymentAnswer;
      try {
        const a =
          call === 'authorise'
            ? await this.provider.authorise({
                paymentId: o.id,
                amountMinor: o.payment.amountMinor,
                currency: o.price.currency,
                methodToken: o.methodToken,
                reference: o.id,
              })
            : call === 'capture'
              ? await this.provider.capture(o.id, o.payment.amountMinor)
              : call === 'void'
                ? await this.provider.void(o.id)
                : await this.provider.refund(o.id, o.payment.amountMinor);
        answer = { state: a.state, providerRef: a.providerRef, reason: a.reason };
      } catch (err) {
        if (!(err instanceof PaymentUnavailableError)) throw err;
        answer = 'unavailable';
      }
      const now = Date.now();
      const step =
        call === 'authorise'
          ? (cur: Order) => onAuthorisation(cur, answer, now, t)
          : call === 'capture'
            ? (cur: Order) => onCapture(cur, answer, now, t)
            : call === 'void'
              ? (cur: Order) => onVoid(cur, answer, now, t)
              : () => null;
      await this.apply(id, step);
    } catch (err) {
      // the sweeper takes the saga on at its deadline
      this.logger.warn('payment call failed', { orderId: id, call, err: String(err) });
    }
  }

  /** One sweep: every saga past its deadline is resent, compensated, or its payment asked of the provider. */
  async sweep(now: number, limit = 100): Promise<number> {
    const ids = await this.store.orders.overdue(now, limit);
    // several at once: under load each takes database round trips (and a provider call), one by one a
    // backlog of late sagas would wait minutes for its turn
    await mapLimit(ids, 8, async (id) => {
      try {
        await this.sweepOne(id, now);
      } catch (err) {
        this.logger.warn('saga sweep failed for an order', { orderId: id, err: String(err) });
      }
    });
    return ids.length;
  }

  private async sweepOne(id: string, now: number): Promise<void> {
    const t = this.settings;
    const o = await this.store.orders.get(id);
    if (!o) return;
    const next = overdue(o, now, t);
    if (next.kind === 'none') return;
    if (next.kind !== 'ask_provider') {
      // decided on the order as read: another instance's move in between makes it moot
      await this.apply(id, (cur) => (cur.version === o.version ? next.change : null));
      return;
    }
    let seen: Parameters<typeof onProviderState>[2];
    try {
      const s = await this.provider.status(id);
      seen = s ? { state: s.state, providerRef: s.providerRef } : null;
    } catch (err) {
      if (!(err instanceof PaymentUnavailableError)) throw err;
      seen = 'unavailable';
    }
    await this.apply(id, (cur) => (cur.version === o.version ? onProviderState(cur, next.step, seen, Date.now(), t) : null));
  }
}
