/**
 * The order aggregate: what was bought at which price, its three states, and the saga that placed
 * it. One document per order, written only through the outbox, so every command the saga sends and
 * every status it reports is committed with the state that caused it.
 */
import type { FulfilmentState, OrderState, PaymentState } from './states';

export interface Adjustment {
  promotionId: string;
  code: string | null;
  amountMinor: number;
}

export interface OrderLine {
  sku: string;
  title: string;
  quantity: number;
  unitPriceMinor: number;
  adjustments: Adjustment[];
  /** After the adjustments. */
  totalMinor: number;
  /** The channel the line was put in the cart on (the order's channel may be another). */
  addedOn: string;
}

/** The price snapshot: what the order charges, computed once for the checkout's instant. */
export interface PriceSnapshot {
  currency: string;
  subtotalMinor: number;
  discountMinor: number;
  /** Loyalty points redeemed and what they are worth. */
  points: number;
  pointsMinor: number;
  shippingMinor: number;
  /** Prices include tax as catalog-sync normalised them (taxInclusive); the tax part is not split out then. */
  taxInclusive: boolean;
  totalMinor: number;
  /** ISO instant the promotions were evaluated for. */
  pricedAt: string;
  promotionIds: string[];
  /** Codes the customer entered and the promotion each unlocked (from the usage hold's answer). */
  codes: { code: string; promotionId: string }[];
  campaigns: { campaignId: string; amountMinor: number }[];
  gifts: { sku: string; promotionId: string }[];
  /** What the promotions were evaluated against: the channel's kind and the customer's loyalty tier. */
  channelKind: string;
  tier: string | null;
}

export interface Address {
  name: string;
  line1: string;
  line2?: string | null;
  city: string;
  postalCode: string;
  country: string;
}

export type Remediation = 'retry' | 'pick_another_item' | 'use_another_payment_method' | 'contact_support';

/** Why a checkout did not become an order, as the customer is told: a code, a hint and what to do next. */
export interface Failure {
  status: number;
  code: string;
  message: string;
  hint: string;
  remediation: Remediation;
  /** Quote it to support. */
  reference: string;
  details?: Record<string, unknown>;
}

export type StepName =
  'reserve' | 'hold_usage' | 'authorise' | 'commit_stock' | 'commit_usage' | 'capture' | 'release_usage' | 'release_stock' | 'void';
export type StepState = 'running' | 'done' | 'failed' | 'unknown';

/** One entry of the saga log: a step, its attempts, its deadline and the command it sent. */
export interface SagaStep {
  name: StepName;
  state: StepState;
  commandId: string | null;
  attempts: number;
  startedAt: number;
  deadline: number | null;
  endedAt: number | null;
  /** What answered (held, refused: reason, authorised, timed out...). */
  detail: string | null;
}

export type SagaState = 'running' | 'compensating' | 'confirmed' | 'done' | 'failed';

export interface Saga {
  state: SagaState;
  steps: SagaStep[];
  /** The earliest deadline of a running step (the sweeper's look); null when nothing waits. */
  deadline: number | null;
  failure: Failure | null;
}

export interface Payment {
  state: PaymentState;
  provider: string;
  providerRef: string | null;
  amountMinor: number;
  /** Provider webhook event ids applied (de-duplication; the last 50). */
  webhookEvents: string[];
}

export interface Fulfilment {
  state: FulfilmentState;
  /** The partner's own id of the order, when a partner reported on it. */
  partnerOrderId: string | null;
  lastPartnerStatus: string | null;
}

export interface HistoryEntry {
  at: number;
  field: 'order' | 'payment' | 'fulfilment';
  from: string;
  to: string;
  by: string;
}

export interface Order {
  id: string;
  customerId: string;
  cartId: string;
  cartVersion: number;
  /** The channel the order was placed on: its owner. */
  channel: string;
  /** Who stewards the record (data stewardship): the owning channel's managers. */
  steward: string;
  /** `customer:<id>` or `staff:<id>`. */
  placedBy: string;
  requestHash: string;
  lines: OrderLine[];
  price: PriceSnapshot;
  address: Address;
  shipping: string;
  /** The discount codes the customer entered (the usage hold resolves them to promotions). */
  enteredCodes: string[];
  /** The tokenised payment method (never card data). */
  methodToken: string;
  state: OrderState;
  payment: Payment;
  fulfilment: Fulfilment;
  saga: Saga;
  history: HistoryEntry[];
  correlationId: string;
  createdAt: number;
  updatedAt: number;
  version: number;
}

/** What a saga step or a state change asks of the other services: sent with the write (outbox). */
export type Command =
  | { to: 'inventory'; action: 'reserve' | 'commit' | 'release' | 'return'; commandId: string }
  | { to: 'promotions'; action: 'hold' | 'commit' | 'release'; commandId: string };

/** What an order change leads to: the new order, the commands to send with it, and the payment call to make after it. */
export interface Change {
  order: Order;
  commands: Command[];
  /** The payment provider call the application makes once the change is written. */
  payment: 'authorise' | 'capture' | 'void' | 'refund' | null;
  /** Whether every channel is told (orders.order-status). */
  report: boolean;
}

/** The order's short reference for customers and support. */
export const referenceOf = (orderId: string): string => orderId.slice(-10).toUpperCase();

/** Whether the order asks promotions for anything (codes, campaign budgets, points). */
export const needsUsage = (o: Pick<Order, 'price' | 'enteredCodes'>): boolean =>
  o.enteredCodes.length > 0 || o.price.campaigns.length > 0 || o.price.points > 0;

/** A copy a decision may change freely (the stored order, its saga log, payment, fulfilment and history untouched). */
export const copyOrder = (o: Order): Order => ({
  ...o,
  saga: { ...o.saga, steps: o.saga.steps.map((s) => ({ ...s })) },
  payment: { ...o.payment },
  fulfilment: { ...o.fulfilment },
  history: [...o.history],
});

/** Moves one of the order's three states on the copy `o`, recording who moved it when (staying put records nothing). */
export function moveState(o: Order, field: HistoryEntry['field'], to: string, now: number, by: string): void {
  const from = field === 'order' ? o.state : field === 'payment' ? o.payment.state : o.fulfilment.state;
  if (from === to) return;
  o.history.push({ at: now, field, from, to, by });
  if (field === 'order') o.state = to as OrderState;
  else if (field === 'payment') o.payment.state = to as PaymentState;
  else o.fulfilment.state = to as FulfilmentState;
}
