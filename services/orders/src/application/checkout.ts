import { idempotentId, requestHash } from '@omnimall/service-kit';
import { ConflictError, UnprocessableError } from '@omnimall/service-kit/errors';
import { checkChannel, checkCustomer, CheckoutRefusal, priceCheckout, type ItemView } from '../domain/checkout';
import type { Address, Order } from '../domain/order';
import { begin, decided } from '../domain/saga';
import type { OrdersStore } from '../store';
import type { PromotionBook } from './promotion-book';
import type { SagaRunner, SagaSettings } from './saga';

export interface CheckoutRequest {
  customerId: string;
  channel: string;
  /** `customer:<id>` or `staff:<id>`. */
  placedBy: string;
  idempotencyKey: string;
  /** The cart version the customer saw; a cart that moved since is refused (409 cart_changed). */
  cartVersion: number | null;
  address: Address;
  shipping: string;
  codes: string[];
  points: number;
  methodToken: string;
  correlationId: string;
}

export interface CheckoutSettings {
  /** Shipping choices and their price (minor units). */
  shipping: Record<string, number>;
  /** How long POST /checkouts waits for the saga to decide before answering 202. */
  waitMs: number;
}

/** What a checkout request led to: the order, and whether this request created it. */
export interface CheckoutOutcome {
  order: Order;
  created: boolean;
}

/**
 * Checkouts: the customer's global cart, as orders holds it, ordered on the request's channel. The
 * order id is derived from the customer and the Idempotency-Key, so a retry finds its order (another
 * body under the same key: 422); a cart version is ordered once (cartOrders), so two devices checking
 * out the same cart make one order. Everything the checkout needs is local (projections): nothing is
 * asked of another service before the saga's first command.
 */
export class CheckoutService {
  constructor(
    private readonly store: OrdersStore,
    private readonly saga: SagaRunner,
    private readonly settings: CheckoutSettings & SagaSettings,
    private readonly book: PromotionBook,
  ) {}

  async checkout(req: CheckoutRequest): Promise<CheckoutOutcome> {
    const id = idempotentId('ord_', req.customerId, req.idempotencyKey);
    const hash = requestHash({ ...req, idempotencyKey: undefined, correlationId: undefined, placedBy: undefined });
    const seen = await this.store.orders.get(id);
    if (seen) return { order: this.replayed(seen, hash), created: false };

    const now = Date.now();
    const p = this.store.projections;
    const [customer, channel, cart] = await Promise.all([
      p.customers.get(req.customerId),
      p.channels.get(req.channel),
      p.carts.get(req.customerId),
    ]);
    checkCustomer(customer?.value ?? null, now);
    const ch = checkChannel(req.channel, channel?.value ?? null, customer?.value ?? null);
    if (!cart || !cart.value.lines.length)
      throw new CheckoutRefusal(422, 'cart_empty', 'the cart is empty', 'add items to the cart, then check out', 'pick_another_item');
    if (req.cartVersion !== null && req.cartVersion !== cart.value.version)
      throw new CheckoutRefusal(
        409,
        'cart_changed',
        `the cart is at version ${cart.value.version}, not ${req.cartVersion}`,
        'reload the cart, check it and check out again',
        'retry',
        { cartVersion: cart.value.version },
      );
    const shippingMinor = this.settings.shipping[req.shipping];
    if (shippingMinor === undefined)
      throw new UnprocessableError(
        'shipping_unknown',
        `no shipping choice ${req.shipping}`,
        `choose one of: ${Object.keys(this.settings.shipping).join(', ')}`,
      );
    const listings = await p.items.readMany(cart.value.lines.map((l) => `${req.channel}:${l.sku}`));
    const items = new Map<string, ItemView>([...listings].map(([key, v]) => [key.slice(req.channel.length + 1), v.value]));
    const book = await this.book.published(now);
    const priced = priceCheckout({
      cart: cart.value,
      channel: ch,
      customer: customer?.value ?? null,
      items,
      promotions: book,
      codes: [],
      points: req.points,
      pointValueMinor: this.settings.pointValueMinor,
      shippingMinor,
      at: now,
    });

    const holder = await this.store.claims.claim(cart.value.cartId, cart.value.version, id);
    if (holder !== id)
      throw new ConflictError(
        'cart_already_ordered',
        `this version of the cart is already being ordered (order ${holder})`,
        'follow that order, or change the cart and check out again',
        { orderId: holder },
      );
    const order: Order = {
      id,
      customerId: req.customerId,
      cartId: cart.value.cartId,
      cartVersion: cart.value.version,
      channel: req.channel,
      steward: `channel-manager:${req.channel}`,
      placedBy: req.placedBy,
      requestHash: hash,
      lines: priced.lines,
      price: priced.price,
      address: req.address,
      shipping: req.shipping,
      enteredCodes: [...new Set(req.codes.map((c) => c.trim().toUpperCase()))],
      methodToken: req.methodToken,
      state: 'pending',
      payment: { state: 'pending', provider: 'default', providerRef: null, amountMinor: priced.price.totalMinor, webhookEvents: [] },
      fulfilment: { state: 'unfulfilled', partnerOrderId: null, lastPartnerStatus: null },
      saga: { state: 'running', steps: [], deadline: null, failure: null },
      history: [],
      correlationId: req.correlationId,
      createdAt: now,
      updatedAt: now,
      version: 0,
    };
    let created = false;
    const written = await this.saga.apply(
      id,
      (cur) => {
        created = !cur;
        return cur ? null : begin(order, now, this.settings);
      },
      true,
    );
    const stored = written ?? (await this.store.orders.get(id))!;
    return { order: created ? stored : this.replayed(stored, hash), created };
  }

  /** The same key again: the same body gets its order, another body is refused. */
  private replayed(o: Order, hash: string): Order {
    if (o.requestHash !== hash)
      throw new UnprocessableError(
        'idempotency_key_reused',
        'this Idempotency-Key was used for another checkout',
        'use a new Idempotency-Key for a new checkout; send the same body to get the first result',
        { orderId: o.id },
      );
    return o;
  }

  /** Waits (at most the configured time) for the saga to decide: confirmed or failed. */
  decided(id: string): Promise<Order | null> {
    return this.saga.waitFor(id, decided, this.settings.waitMs);
  }
}
