/**
 * The HTTP adapter of the payment port: a PSP's REST API (README.md in this folder) called with
 * fetch, every call through one circuit breaker. A refusal the PSP answers with a payment state
 * (402 declined, 409 not allowed from the payment's state) is an answer; one without (the PSP's own
 * 404 payment_unknown, 400 bad request) is a PaymentRejectedError, or null from status() for the
 * unknown payment; neither counts against the breaker. A 5xx, 408, 425, 429, a bare 404, a malformed
 * answer, a network error, a timeout or the open breaker is a PaymentUnavailableError: whether the
 * call took effect is unknown.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createBreaker, type BreakerOptions, type ServiceMetrics } from '@omnimall/service-kit';
import { ValidationError } from '@omnimall/service-kit/errors';
import {
  PaymentRejectedError,
  PaymentUnavailableError,
  type AuthoriseRequest,
  type PaymentProvider,
  type ProviderAnswer,
  type WebhookEvent,
} from './port';
import { SIGNATURE_HEADER, answerSchema, refusalSchema, webhookEventSchema } from './wire';

/** How far a webhook's signature time may be from now (either way) unless the provider is told otherwise. */
export const DEFAULT_WEBHOOK_TOLERANCE_MS = 5 * 60_000;

export interface HttpPaymentProviderOptions {
  /** The provider's name: the breaker is `payments-<name>`. */
  name: string;
  /** The PSP's API root, e.g. https://psp.example/v1 (the routes are appended to it). */
  baseUrl: string;
  /** The secret the PSP signs its webhooks with. */
  secret: string;
  /** Each call's time limit; a call still unanswered then is a PaymentUnavailableError. */
  timeoutMs: number;
  metrics: ServiceMetrics;
  /** How far a webhook's signature time may be from now (default 5 min). */
  toleranceMs?: number;
  /** The breaker's tuning (the kit's defaults otherwise: 50 % errors over at least 5 calls, retried after 5 s). */
  breaker?: Pick<BreakerOptions, 'errorThresholdPercentage' | 'resetTimeoutMs' | 'volumeThreshold'>;
}

/** The `psp-signature` header value for a webhook body sent at `at` (unix ms). */
export function signWebhook(secret: string, rawBody: string, at: number): string {
  return `t=${at},v1=${hmacHex(secret, at, rawBody)}`;
}

function hmacHex(secret: string, at: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${at}.${rawBody}`).digest('hex');
}

function signatureRefused(message: string, hint: string): ValidationError {
  return new ValidationError('webhook_signature_invalid', message, hint);
}

const SIGNATURE_HINT = `send the provider's webhook unchanged, with its ${SIGNATURE_HEADER} header (t=<unix ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">), signed with the webhook secret configured for this provider`;

/** The header's value whatever its case; a repeated header is refused (one signature per delivery). */
function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  let found: string | string[] | undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name && v !== undefined) found = v;
  if (Array.isArray(found)) {
    if (found.length !== 1) throw signatureRefused(`the webhook carries ${found.length} ${name} headers`, SIGNATURE_HINT);
    return found[0];
  }
  return found;
}

/**
 * Checks a `psp-signature` header against the raw body: some v1 (several when the PSP rotates its
 * secret) is the HMAC of "<t>.<rawBody>" (compared in constant time) and t is within `toleranceMs`
 * of `now`. Throws ValidationError('webhook_signature_invalid') otherwise.
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: string,
  header: string | undefined,
  toleranceMs: number,
  now = Date.now(),
): void {
  if (!header) throw signatureRefused(`the webhook has no ${SIGNATURE_HEADER} header`, SIGNATURE_HINT);
  let at: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,15}$/.test(value)) at = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (at === undefined || signatures.length === 0) {
    throw signatureRefused(`the webhook's ${SIGNATURE_HEADER} header has no valid t= and v1= parts`, SIGNATURE_HINT);
  }
  const expected = Buffer.from(hmacHex(secret, at, rawBody), 'hex');
  // Every candidate is compared (no early exit), each in constant time.
  let matched = false;
  for (const s of signatures) matched = timingSafeEqual(s, expected) || matched;
  if (!matched) throw signatureRefused("the webhook's signature does not match its body", SIGNATURE_HINT);
  if (Math.abs(now - at) > toleranceMs) {
    throw signatureRefused(
      `the webhook was signed ${Math.round((now - at) / 1000)} s from now, more than the ${Math.round(toleranceMs / 1000)} s allowed`,
      'a delivery is accepted only shortly after it was signed (replays are refused): the provider signs each delivery when it sends it, and both clocks must be right',
    );
  }
}

/** One request to the PSP. */
interface PspCall {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  idempotencyKey?: string;
}

/** What a call came back with, when it says something about the payment (anything else throws inside the breaker). */
type PspReply =
  { kind: 'answer'; status: number; answer: ProviderAnswer } | { kind: 'refused'; status: number; code: string; message: string };

/** Statuses that say the provider is unwell or overloaded, not that it refused this request. */
const UNAVAILABLE_4XX = new Set([408, 425, 429]);

export class HttpPaymentProvider implements PaymentProvider {
  readonly name: string;
  private readonly baseUrl: string;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly toleranceMs: number;
  private readonly breaker: ReturnType<typeof createBreaker<[PspCall], PspReply>>;

  constructor(opts: HttpPaymentProviderOptions) {
    this.name = opts.name;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.secret = opts.secret;
    this.timeoutMs = opts.timeoutMs;
    this.toleranceMs = opts.toleranceMs ?? DEFAULT_WEBHOOK_TOLERANCE_MS;
    this.breaker = createBreaker(`payments-${opts.name}`, (call: PspCall) => this.send(call), opts.metrics, {
      ...opts.breaker,
      timeoutMs: opts.timeoutMs,
    });
  }

  async authorise(req: AuthoriseRequest): Promise<ProviderAnswer> {
    const body = {
      paymentId: req.paymentId,
      amountMinor: req.amountMinor,
      currency: req.currency,
      methodToken: req.methodToken,
      reference: req.reference,
    };
    return this.answer(await this.call({ method: 'POST', path: '/payments/authorise', body, idempotencyKey: req.paymentId }));
  }

  async capture(paymentId: string, amountMinor: number): Promise<ProviderAnswer> {
    return this.answer(await this.call({ method: 'POST', path: `${paymentPath(paymentId)}/capture`, body: { amountMinor } }));
  }

  async void(paymentId: string): Promise<ProviderAnswer> {
    return this.answer(await this.call({ method: 'POST', path: `${paymentPath(paymentId)}/void`, body: {} }));
  }

  async refund(paymentId: string, amountMinor: number): Promise<ProviderAnswer> {
    return this.answer(await this.call({ method: 'POST', path: `${paymentPath(paymentId)}/refund`, body: { amountMinor } }));
  }

  async status(paymentId: string): Promise<ProviderAnswer | null> {
    const reply = await this.call({ method: 'GET', path: paymentPath(paymentId) });
    if (reply.kind === 'refused' && reply.status === 404) return null;
    return this.answer(reply);
  }

  verifyWebhook(rawBody: string, headers: Record<string, string | string[] | undefined>): WebhookEvent {
    verifyWebhookSignature(this.secret, rawBody, headerValue(headers, SIGNATURE_HEADER), this.toleranceMs);
    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      json = undefined;
    }
    const parsed = webhookEventSchema.safeParse(json);
    if (!parsed.success) {
      throw new ValidationError(
        'webhook_payload_invalid',
        "the webhook's signature is valid but its body is not a payment event",
        'the body must be JSON {eventId, paymentId, state, amountMinor, occurredAt}; check the provider adapter matches the PSP API version',
        { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
      );
    }
    return parsed.data;
  }

  /** Stops the breaker's timers (at shutdown); calls after this are PaymentUnavailableError. */
  close(): void {
    this.breaker.shutdown();
  }

  private answer(reply: PspReply): ProviderAnswer {
    if (reply.kind === 'answer') return reply.answer;
    throw new PaymentRejectedError(
      reply.status,
      reply.code,
      `payment provider ${this.name} refused the request (${reply.status}): ${reply.message}`,
    );
  }

  private async call(call: PspCall): Promise<PspReply> {
    try {
      return await this.breaker.fire(call);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const why =
        code === 'EOPENBREAKER'
          ? 'its circuit is open after repeated failures'
          : code === 'ETIMEDOUT' || (err as Error).name === 'TimeoutError'
            ? `it did not answer within ${this.timeoutMs} ms`
            : `${(err as Error).message}`;
      throw new PaymentUnavailableError(`payment provider ${this.name} is unavailable for ${call.method} ${call.path}: ${why}`, err);
    }
  }

  /** The call itself (inside the breaker): throws for everything that says the provider is unavailable. */
  private async send(call: PspCall): Promise<PspReply> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.idempotencyKey) headers['idempotency-key'] = call.idempotencyKey;
    const res = await fetch(`${this.baseUrl}${call.path}`, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    const ok = res.status >= 200 && res.status < 300;
    const refused = res.status >= 400 && res.status < 500 && !UNAVAILABLE_4XX.has(res.status);
    if (!ok && !refused) throw new Error(`it answered HTTP ${res.status}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const answer = answerSchema.safeParse(json);
    if (answer.success) return { kind: 'answer', status: res.status, answer: answer.data };
    if (ok) throw new Error(`its HTTP ${res.status} answer is not a payment state`);
    const refusal = refusalSchema.safeParse(json);
    if (res.status === 404) {
      // Only the PSP's own "unknown payment" is one: a bare 404 (a wrong base URL, a proxy) must not
      // make status() answer "never saw it" and let a late approval go unvoided.
      if (refusal.success && refusal.data.code === 'payment_unknown') {
        return { kind: 'refused', status: 404, code: 'payment_unknown', message: 'the provider does not know this payment' };
      }
      throw new Error('it answered HTTP 404 without naming the payment unknown (is the base URL right?)');
    }
    return {
      kind: 'refused',
      status: res.status,
      code: refusal.success ? refusal.data.code : `http_${res.status}`,
      message: refusal.success ? (refusal.data.message ?? refusal.data.code) : text.slice(0, 200),
    };
  }
}

function paymentPath(paymentId: string): string {
  return `/payments/${encodeURIComponent(paymentId)}`;
}
