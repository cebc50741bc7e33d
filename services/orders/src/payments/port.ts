/**
 * The payment port: what the checkout saga asks of a payment service provider (PSP), whichever it is.
 * The provider is the only outside party orders calls over HTTP; adapters put every call behind a
 * breaker and turn "cannot tell" (unreachable, timed out, breaker open) into PaymentUnavailableError,
 * while a provider's refusal (a decline, a move the payment's state does not allow) is an answer.
 * See README.md in this folder for the adapter point of a real PSP.
 */

/** A payment's state at the provider. Forward order: pending → authorised → captured → refunded; pending|authorised → failed|voided. */
export type PaymentState = 'pending' | 'authorised' | 'captured' | 'voided' | 'refunded' | 'failed';

/** Every payment state, in the forward order's sequence (terminal states last). */
export const PAYMENT_STATES: readonly PaymentState[] = ['pending', 'authorised', 'captured', 'refunded', 'voided', 'failed'];

export interface AuthoriseRequest {
  /** The order id: the provider's idempotency key (authorising the same id twice answers the first result). */
  paymentId: string;
  amountMinor: number;
  currency: string;
  /** The customer's payment method as the channel app tokenised it (the test PSP reads its behaviour from it). */
  methodToken: string;
  reference: string;
}

export interface ProviderAnswer {
  /** The provider's own id of the payment. */
  providerRef: string;
  state: PaymentState;
  /** Why it failed (declined, ...): a machine-readable code, null otherwise. */
  reason: string | null;
}

export interface WebhookEvent {
  /** The provider's event id: webhooks are de-duplicated by it. */
  eventId: string;
  paymentId: string;
  state: PaymentState;
  amountMinor: number;
  occurredAt: number;
}

export interface PaymentProvider {
  readonly name: string;
  /** A decline is an answer with state 'failed' and a reason, never a throw. Throws PaymentUnavailableError when the provider cannot be reached, times out or its breaker is open. */
  authorise(req: AuthoriseRequest): Promise<ProviderAnswer>;
  capture(paymentId: string, amountMinor: number): Promise<ProviderAnswer>;
  void(paymentId: string): Promise<ProviderAnswer>;
  refund(paymentId: string, amountMinor: number): Promise<ProviderAnswer>;
  /** The provider's view of a payment (after a timeout: did the authorisation happen?); null when it never saw it. */
  status(paymentId: string): Promise<ProviderAnswer | null>;
  /** Verifies a webhook's signature and freshness and parses it. Throws ValidationError('webhook_signature_invalid', ..., hint) otherwise. */
  verifyWebhook(rawBody: string, headers: Record<string, string | string[] | undefined>): WebhookEvent;
}

/**
 * The provider could not be asked or did not answer in time (network error, 5xx, timeout, breaker
 * open): whether the call took effect is unknown, so after an authorise the caller asks `status()`.
 */
export class PaymentUnavailableError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'PaymentUnavailableError';
  }
}

/**
 * The provider refused a request it could not answer with a payment state: the payment is unknown to
 * it (`code` 'payment_unknown', from a 404) or the request was malformed (`code` from its 4xx body).
 * Not a sign of the provider's availability (does not count against the breaker), and retrying the
 * same request gets the same refusal.
 */
export class PaymentRejectedError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PaymentRejectedError';
  }
}
