import type { Logger, OutgoingEvent } from '@omnimall/service-kit';
import { NotFoundError } from '@omnimall/service-kit/errors';
import { copyOrder, moveState, type Command, type Order } from '../domain/order';
import { assertMove, type FulfilmentState, type PaymentState } from '../domain/states';
import { commandEvent } from '../events/out/commands';
import { orderStatusChanged } from '../events/out/orders.order-status';
import { canMove } from '../payments/states';
import { PaymentUnavailableError, type PaymentProvider, type WebhookEvent } from '../payments/port';
import type { OrderQuery, OrdersStore } from '../store';

export const orderNotFound = (id: string): NotFoundError =>
  new NotFoundError('order_not_found', `no order ${id}`, 'check the order id (GET /orders lists the orders you may see)');

/** Partner statuses (channels.partner-order-status) as fulfilment moves; the others are recorded only. */
const PARTNER_FULFILMENT: Readonly<Record<string, FulfilmentState>> = {
  shipped: 'partially',
  delivered: 'fulfilled',
  returned: 'returned',
};

/**
 * An order's life after its checkout: cancellation, fulfilment (staff or the partner's own reports),
 * returns, and the payment provider's webhooks. Each change is one write of the order with its
 * status for every channel and the commands it needs (stock released or returned to inventory);
 * promotions gives usage and points back on the `cancelled` and `returned` statuses itself.
 */
export class OrderService {
  constructor(
    private readonly store: OrdersStore,
    private readonly provider: PaymentProvider,
    private readonly holdMs: number,
    private readonly logger: Logger,
  ) {}

  async get(id: string): Promise<Order> {
    const o = await this.store.orders.get(id);
    if (!o) throw orderNotFound(id);
    return o;
  }

  list(q: OrderQuery, limit: number): Promise<Order[]> {
    return this.store.orders.find(q, limit);
  }

  /** Cancels a confirmed order not yet fulfilled: its stock goes back (released, or returned if committed), its payment voided or refunded. */
  async cancel(id: string, by: string, reason: string): Promise<Order> {
    return this.change(id, (o, now) => {
      assertMove('order', o.state, 'cancelled');
      if (o.fulfilment.state !== 'unfulfilled') assertMove('fulfilment', o.fulfilment.state, 'returned');
      o.saga.failure = null;
      moveState(o, 'order', 'cancelled', now, by);
      const committed = o.saga.steps.some((s) => s.name === 'commit_stock' && s.state === 'done');
      return [{ to: 'inventory', action: committed ? 'return' : 'release', commandId: `${o.id}:cancel:${o.version}` }];
    }).then((o) => this.settlePayment(o, reason));
  }

  /** Moves the fulfilment (staff, or a partner's report); fulfilled completes the order, returned gives stock and payment back. */
  async fulfil(id: string, to: FulfilmentState, by: string, partnerOrderId: string | null = null): Promise<Order> {
    const o = await this.change(id, (cur, now) => {
      if (cur.state !== 'confirmed' && cur.state !== 'completed') assertMove('order', cur.state, 'confirmed');
      assertMove('fulfilment', cur.fulfilment.state, to);
      moveState(cur, 'fulfilment', to, now, by);
      if (partnerOrderId) cur.fulfilment.partnerOrderId = partnerOrderId;
      if (to === 'fulfilled') moveState(cur, 'order', 'completed', now, by);
      return to === 'returned' ? [{ to: 'inventory', action: 'return', commandId: `${cur.id}:return:${cur.version}` }] : [];
    });
    return to === 'returned' ? this.settlePayment(o, 'returned') : o;
  }

  /** channels.partner-order-status: a partner's report on one of our orders, in global ids; the partner's own id is kept. */
  async partnerStatus(orderId: string, partnerOrderId: string, status: string, partner: string): Promise<void> {
    const o = await this.store.orders.get(orderId);
    if (!o) {
      this.logger.warn('partner status for an unknown order', { orderId, partnerOrderId, status });
      return;
    }
    const to = PARTNER_FULFILMENT[status];
    const by = `partner:${partner}`;
    try {
      if (status === 'cancelled') await this.cancel(orderId, by, 'cancelled by the partner');
      else if (to && to !== o.fulfilment.state) await this.fulfil(orderId, to, by, partnerOrderId);
    } catch (err) {
      // a report the tables refuse (a late or out-of-order status) is kept as the last status only
      this.logger.warn('partner status not applied', { orderId, status, err: String(err) });
    }
    await this.store.orders.transact(orderId, (cur) =>
      cur && (cur.fulfilment.lastPartnerStatus !== status || cur.fulfilment.partnerOrderId !== partnerOrderId)
        ? {
            order: { ...cur, fulfilment: { ...cur.fulfilment, lastPartnerStatus: status, partnerOrderId }, version: cur.version + 1 },
            events: [],
          }
        : null,
    );
  }

  /**
   * A provider webhook, verified: applied once per provider event id, and only when it moves the
   * payment forward (a late `authorised` after `captured` changes nothing). Unknown payments are ignored.
   */
  async webhook(e: WebhookEvent): Promise<'applied' | 'duplicate' | 'ignored'> {
    let outcome: 'applied' | 'duplicate' | 'ignored' = 'ignored';
    await this.store.orders.transact(e.paymentId, (cur) => {
      if (!cur) return null;
      if (cur.payment.webhookEvents.includes(e.eventId)) {
        outcome = 'duplicate';
        return null;
      }
      const o = copyOrder(cur);
      o.payment.webhookEvents = [...cur.payment.webhookEvents, e.eventId].slice(-50);
      // the saga's own answers rule the payment until the order was confirmed (a late approval of a
      // checkout that failed is the saga's to void); after that, a webhook moves it forward only
      const confirmed = cur.saga.state === 'confirmed' || cur.saga.state === 'done';
      const forward = confirmed && canMove(cur.payment.state, e.state);
      outcome = forward ? 'applied' : 'ignored';
      if (forward) moveState(o, 'payment', e.state, e.occurredAt, `provider:${this.provider.name}`);
      o.version += 1;
      o.updatedAt = Date.now();
      return { order: o, events: forward ? [orderStatusChanged(o, Date.now())] : [] };
    });
    return outcome;
  }

  private async settlePayment(o: Order, reason: string): Promise<Order> {
    const call = o.payment.state === 'captured' ? 'refund' : o.payment.state === 'authorised' ? 'void' : null;
    if (!call) return o;
    let to: PaymentState | null = null;
    try {
      const a = call === 'refund' ? await this.provider.refund(o.id, o.payment.amountMinor) : await this.provider.void(o.id);
      to = a.state;
    } catch (err) {
      if (!(err instanceof PaymentUnavailableError)) throw err;
      // the provider's webhook, or a retry by staff, settles it
      this.logger.warn('payment not settled on cancellation', { orderId: o.id, call, reason });
      return o;
    }
    return this.change(o.id, (cur, now) => {
      if (to && canMove(cur.payment.state, to)) moveState(cur, 'payment', to, now, `provider:${this.provider.name}`);
      return [];
    });
  }

  /** One write of the order: `decide` mutates a copy and names the commands; every channel is told. */
  private async change(id: string, decide: (o: Order, now: number) => Command[]): Promise<Order> {
    const written = await this.store.orders.transact(id, (cur) => {
      if (!cur) throw orderNotFound(id);
      const now = Date.now();
      const o = copyOrder(cur);
      const commands = decide(o, now);
      o.version += 1;
      o.updatedAt = now;
      const events: OutgoingEvent[] = commands.map((c) => commandEvent(o, c, this.holdMs, now));
      events.push(orderStatusChanged(o, now));
      return { order: o, events };
    });
    return written!;
  }
}
