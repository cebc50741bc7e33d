import { promotionsFor, type PublishedPromotion } from '@omnimall/pricing';
import { AppError, PreconditionFailedError, WriteConflictError } from '@omnimall/service-kit';
import { applyCommand, customerOfCart, emptyCart, type CartCommand, type CartRecord, type CartState } from '../domain/cart';
import { applyOffers, customerForPricing, withoutOffers, type OfferedCart } from '../domain/offers';
import { writableState } from '../domain/privacy';
import {
  assertChannelReadable,
  assertChannelTrades,
  assertCustomerMayTrade,
  assertDataMayReachChannel,
  assertItemSellable,
  itemId,
  priceCart,
  readOnlyNotice,
  refusalRecorded,
  type ReadOnlyNotice,
  type ChannelView,
  type CustomerView,
  type ItemView,
  type StockView,
} from '../domain/trading';
import { cartChanged } from '../events/out/cart.cart-changed';
import type { CartChange, CartRepository } from '../store';
import type { ProjectionCache } from '../store/projection-cache';

/** Whose cart a request acts on: a logged-in customer, or an anonymous device. */
export interface CartOwner {
  cartId: string;
  customerId: string | null;
}

export interface CartView extends OfferedCart {
  cartId: string;
  customerId: string | null;
  version: number;
  channel: string | null;
  wishlist: string[];
  /** The customer's loyalty points and tier as promotions last published them; null for a device or before any entry. */
  loyalty: { balance: number; tier: string } | null;
  /** Present when the channel takes no change now (maintenance): the cart is read as kept, changes wait. */
  notice?: ReadOnlyNotice;
}

/** The promotion definitions a view prices with (application/promotions.ts PromotionBook). */
export interface PromotionSource {
  published(): Iterable<PublishedPromotion>;
}

/**
 * The use cases behind the HTTP API: view a cart priced for a channel, and change it. Every check
 * reads only local projections, through the process's short-lived gate cache (see
 * store/projection-cache.ts); every change is a compare-and-set through the outbox (the carts
 * repository), so the new state and its CartChanged event are committed together and no concurrent
 * write is lost.
 */
export class CartService {
  constructor(
    private readonly carts: CartRepository,
    private readonly projections: ProjectionCache,
    private readonly promotions: PromotionSource = { published: () => [] },
  ) {}

  private async customer(owner: CartOwner): Promise<CustomerView | null> {
    return owner.customerId ? await this.projections.customers.get(owner.customerId) : null;
  }

  private async items(channel: string, skus: string[]): Promise<Map<string, ItemView>> {
    const found = await this.projections.items.getMany(skus.map((s) => itemId(channel, s)));
    const out = new Map<string, ItemView>();
    for (const item of found.values()) if (item) out.set(item.sku, item);
    return out;
  }

  /**
   * Customer and channel gates for any use of the cart on a channel; a refusal is recorded as evidence
   * (refusalRecorded). A read also passes a channel in maintenance (assertChannelReadable).
   */
  private async gate(owner: CartOwner, code: string | null, use: 'read' | 'change' = 'change'): Promise<ChannelView | null> {
    const [customer, channel] = await Promise.all([this.customer(owner), code ? this.projections.channels.get(code) : null]);
    try {
      assertCustomerMayTrade(customer);
      if (!code) return null;
      const ch = use === 'read' ? assertChannelReadable(code, channel) : assertChannelTrades(code, channel);
      assertDataMayReachChannel(customer, ch);
      return ch;
    } catch (err) {
      throw refusalRecorded(err, owner, code);
    }
  }

  /** The stock of each line's SKU on the line's channel, by itemId (lines inventory published nothing for are left out). */
  private async stockOf(lines: CartState['lines']): Promise<Map<string, StockView>> {
    const found = await this.projections.stock.getMany(lines.map((l) => itemId(l.channel, l.sku)));
    const out = new Map<string, StockView>();
    for (const [id, s] of found) if (s) out.set(id, s);
    return out;
  }

  /**
   * The cart priced for the channel, with the promotions as that channel sees them now (the customer's
   * tier from identity's status, the loyalty balance from promotions' ledger), all from local copies.
   */
  private async render(owner: CartOwner, doc: CartState | null, ch: ChannelView | null): Promise<CartView> {
    const state = doc ?? emptyCart();
    const [items, stock, customer, loyalty] = await Promise.all([
      ch
        ? this.items(
            ch.code,
            state.lines.map((l) => l.sku),
          )
        : new Map<string, ItemView>(),
      this.stockOf(state.lines),
      this.customer(owner),
      owner.customerId ? this.projections.loyalty.get(owner.customerId) : null,
    ]);
    const priced = priceCart(state.lines, ch, items, stock);
    const at = Date.now();
    const offered = ch
      ? applyOffers(
          priced,
          promotionsFor(this.promotions.published(), ch.code, at),
          { code: ch.code, kind: ch.kind ?? '' },
          customerForPricing(customer?.loyaltyTier),
          at,
        )
      : withoutOffers(priced);
    const notice = readOnlyNotice(ch);
    return {
      cartId: owner.cartId,
      customerId: owner.customerId,
      version: state.version,
      channel: ch?.code ?? null,
      wishlist: state.wishlist,
      ...offered,
      loyalty: loyalty ? { balance: loyalty.balance, tier: loyalty.tier } : null,
      ...(notice ? { notice } : {}),
    };
  }

  async view(owner: CartOwner, channel: string | null): Promise<CartView> {
    const [ch, doc] = await Promise.all([this.gate(owner, channel, 'read'), this.carts.content(owner.cartId)]);
    return this.render(owner, doc, ch);
  }

  /**
   * A pushed state (CartChanged) as a session on `channel` sees it now: the body GET /cart answers on
   * that channel at that version (priced, `channel` set, `notice` while the channel is in
   * maintenance), without the gates (the stream passed them when it opened, and a ban or erasure ends
   * it). No channel, or one unknown here, prices nothing (channel null).
   */
  async pushedView(cartId: string, channel: string | null, state: CartState): Promise<CartView> {
    const ch = channel ? await this.projections.channels.get(channel) : null;
    return this.render({ cartId, customerId: customerOfCart(cartId) }, state, ch);
  }

  async currentVersion(owner: CartOwner, channel: string | null): Promise<number> {
    await this.gate(owner, channel, 'read');
    return this.carts.version(owner.cartId);
  }

  /**
   * Applies one command on a channel. `ifMatch` (the version from an ETag) makes the write
   * conditional: it is compared with the version the compare-and-set writes over, so of two writers
   * holding the same view one wins and the other gets 412 cart_version_mismatch. The reply is rendered
   * from the document the write returned (no second read of the cart).
   */
  async change(owner: CartOwner, channel: string, cmd: CartCommand, opts: { ifMatch?: number; correlationId?: string }): Promise<CartView> {
    const needsItem = cmd.kind === 'add' || (cmd.kind === 'set' && cmd.quantity > 0);
    const [ch, item] = await Promise.all([
      this.gate(owner, channel),
      needsItem ? this.projections.items.get(itemId(channel, cmd.sku)) : null,
    ]);
    try {
      if (needsItem) assertItemSellable(cmd.sku, item, ch!);
    } catch (err) {
      throw refusalRecorded(err, owner, channel);
    }
    const doc = await this.transact(owner.cartId, (cur) => {
      let state: CartState;
      try {
        state = writableState(cur);
      } catch (err) {
        throw refusalRecorded(err, owner, channel);
      }
      if (opts.ifMatch !== undefined && opts.ifMatch !== state.version) {
        // recorded by the kit as a collision (every 412), naming the cart and both versions
        throw new PreconditionFailedError(
          'cart_version_mismatch',
          `the cart is at version ${state.version}, not ${opts.ifMatch}`,
          'fetch the cart again (GET /cart) and retry with its ETag in If-Match',
          {
            expected: opts.ifMatch,
            current: state.version,
          },
        ).recorded({ subjectKind: 'cart', subjectId: owner.cartId, channel });
      }
      const decision = applyCommand(state, cmd);
      if (!decision) return null;
      return {
        set: { ...decision.state, customerId: customerOfCart(owner.cartId), updatedAt: Date.now(), erasedAt: null },
        events: [cartChanged(owner.cartId, decision.state, decision.change, { sourceChannel: channel, correlationId: opts.correlationId })],
      };
    });
    return this.render(owner, doc, ch);
  }

  /** The outbox write; a cart that kept changing under this write is a 503 the client may retry, not a 500. */
  private async transact(cartId: string, decide: (current: CartRecord | null) => CartChange | null): Promise<CartRecord | null> {
    try {
      return await this.carts.transact(cartId, decide);
    } catch (err) {
      if (err instanceof WriteConflictError) {
        throw new AppError(503, 'cart_busy', 'the cart is being changed by too many writers at once', 'retry in a moment', { cartId });
      }
      throw err;
    }
  }
}
