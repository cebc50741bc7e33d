/**
 * The built-in test PSP: a real HTTP server on 127.0.0.1 speaking the REST API the HTTP adapter
 * calls (README.md in this folder), told what to do by the payment method token:
 *   tok_approve  authorised (so is any token not listed here);
 *   tok_decline  402, state failed, reason card_declined;
 *   tok_timeout  recorded as authorised (a late approval) but answered only after `hangMs` or at close;
 *   tok_twice    authorised, and each of its webhooks is delivered twice with the same event id.
 * Payments move only one step along PAYMENT_TRANSITIONS (409 invalid_state otherwise); after every
 * state change a signed webhook is POSTed to the webhook URL when one is set (fire and forget).
 * For tests and local runs only: payments live in memory.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { signWebhook } from './http-provider';
import type { PaymentState, ProviderAnswer, WebhookEvent } from './port';
import { isStep } from './states';
import { SIGNATURE_HEADER, amountBodySchema, authoriseBodySchema } from './wire';

/** The method tokens the test PSP reads its behaviour from. */
export const TEST_PSP_TOKENS = {
  approve: 'tok_approve',
  decline: 'tok_decline',
  timeout: 'tok_timeout',
  twice: 'tok_twice',
} as const;

/** How long a tok_timeout authorisation waits before answering unless told otherwise. */
export const DEFAULT_HANG_MS = 30_000;

const MAX_BODY_BYTES = 64 * 1024;

export interface TestPspPayment {
  providerRef: string;
  paymentId: string;
  state: PaymentState;
  /** The authorised amount. */
  amountMinor: number;
  currency: string;
  methodToken: string;
  reference: string;
  capturedMinor: number;
  refundedMinor: number;
  /** Why it failed (card_declined), null otherwise. */
  reason: string | null;
}

export interface TestPsp {
  /** The API root to give HttpPaymentProvider as baseUrl. */
  url: string;
  setWebhookUrl(url: string): void;
  /** A snapshot of every payment it holds, by payment id. */
  payments(): ReadonlyMap<string, TestPspPayment>;
  /** Answers the requests still hanging, stops webhook deliveries under way and closes the server. */
  close(): Promise<void>;
}

export interface TestPspOptions {
  /** The secret its webhooks are signed with (the adapter's `secret`). */
  secret: string;
  webhookUrl?: string;
  /** How long tok_timeout authorisations hang (default 30 s). */
  hangMs?: number;
}

type Operation = 'capture' | 'void' | 'refund';
const OPERATION_STATE: Record<Operation, PaymentState> = { capture: 'captured', void: 'voided', refund: 'refunded' };

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export async function startTestPsp(opts: TestPspOptions): Promise<TestPsp> {
  const hangMs = opts.hangMs ?? DEFAULT_HANG_MS;
  let webhookUrl = opts.webhookUrl;
  const payments = new Map<string, TestPspPayment>();
  /** Answers held back (tok_timeout), each given at its timer or at close. */
  const hanging = new Set<{ timer: NodeJS.Timeout; answer: () => void }>();
  const deliveries = new AbortController();
  const inFlight = new Set<Promise<void>>();

  const answerOf = (p: TestPspPayment): ProviderAnswer => ({ providerRef: p.providerRef, state: p.state, reason: p.reason });

  const deliver = (raw: string): void => {
    if (!webhookUrl || deliveries.signal.aborted) return;
    const sent = fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(opts.secret, raw, Date.now()) },
      body: raw,
      signal: deliveries.signal,
    })
      .then((res) => res.arrayBuffer())
      .then(
        () => undefined,
        () => undefined, // fire and forget: a receiver that is down or refuses misses the event
      );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };

  /** The webhook for a payment's new state (twice, with the same event id, for tok_twice). */
  const announce = (p: TestPspPayment, amountMinor: number): void => {
    const event: WebhookEvent = {
      eventId: `evt_${randomUUID()}`,
      paymentId: p.paymentId,
      state: p.state,
      amountMinor,
      occurredAt: Date.now(),
    };
    const raw = JSON.stringify(event);
    deliver(raw);
    if (p.methodToken === TEST_PSP_TOKENS.twice) deliver(raw);
  };

  const authorise = (body: unknown, res: ServerResponse): void => {
    const req = parse(authoriseBodySchema, body);
    const known = payments.get(req.paymentId);
    if (known) return send(res, known.state === 'failed' ? 402 : 200, answerOf(known));
    const declined = req.methodToken === TEST_PSP_TOKENS.decline;
    const p: TestPspPayment = {
      providerRef: `psp_${randomUUID()}`,
      paymentId: req.paymentId,
      state: declined ? 'failed' : 'authorised',
      amountMinor: req.amountMinor,
      currency: req.currency,
      methodToken: req.methodToken,
      reference: req.reference,
      capturedMinor: 0,
      refundedMinor: 0,
      reason: declined ? 'card_declined' : null,
    };
    payments.set(p.paymentId, p);
    announce(p, p.amountMinor);
    if (declined) return send(res, 402, answerOf(p));
    if (req.methodToken !== TEST_PSP_TOKENS.timeout) return send(res, 200, answerOf(p));
    const held: { timer: NodeJS.Timeout; answer: () => void } = {
      timer: setTimeout(() => held.answer(), hangMs).unref(),
      answer: () => {
        clearTimeout(held.timer);
        hanging.delete(held);
        send(res, 200, answerOf(p));
      },
    };
    hanging.add(held);
  };

  const operate = (paymentId: string, op: Operation, body: unknown, res: ServerResponse): void => {
    const p = known(paymentId);
    const to = OPERATION_STATE[op];
    if (!isStep(p.state, to)) return send(res, 409, { providerRef: p.providerRef, state: p.state, reason: 'invalid_state' });
    if (op === 'capture') {
      const { amountMinor } = parse(amountBodySchema, body);
      if (amountMinor > p.amountMinor) {
        throw new HttpRefusal(
          400,
          'invalid_amount',
          `${amountMinor} is more than the ${p.amountMinor} authorised`,
          'capture at most the authorised amount',
        );
      }
      p.capturedMinor = amountMinor;
      p.state = to;
      announce(p, amountMinor);
    } else if (op === 'refund') {
      const { amountMinor } = parse(amountBodySchema, body);
      if (amountMinor > p.capturedMinor) {
        throw new HttpRefusal(
          400,
          'invalid_amount',
          `${amountMinor} is more than the ${p.capturedMinor} captured`,
          'refund at most the captured amount',
        );
      }
      p.refundedMinor = amountMinor;
      p.state = to;
      announce(p, amountMinor);
    } else {
      p.state = to;
      announce(p, p.amountMinor);
    }
    send(res, 200, answerOf(p));
  };

  const known = (paymentId: string): TestPspPayment => {
    const p = payments.get(paymentId);
    if (!p)
      throw new HttpRefusal(404, 'payment_unknown', `no payment ${paymentId}`, 'authorise the payment first (POST /payments/authorise)');
    return p;
  };

  const route = (req: IncomingMessage, res: ServerResponse, body: unknown): void => {
    const path = new URL(req.url ?? '/', 'http://psp').pathname;
    if (req.method === 'POST' && path === '/payments/authorise') return authorise(body, res);
    const op = /^\/payments\/([^/]+)\/(capture|void|refund)$/.exec(path);
    if (req.method === 'POST' && op) return operate(decodeId(op[1]), op[2] as Operation, body, res);
    const one = /^\/payments\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && one) return send(res, 200, answerOf(known(decodeId(one[1]))));
    throw new HttpRefusal(404, 'route_unknown', `no route ${req.method} ${path}`, 'see services/orders/src/payments/README.md for the API');
  };

  const server = createServer((req, res) => {
    readJson(req)
      .then((body) => route(req, res, body))
      .catch((err: unknown) => {
        if (err instanceof HttpRefusal) send(res, err.status, { code: err.code, message: err.message, hint: err.hint });
        else send(res, 500, { code: 'internal', message: String(err), hint: 'a bug in the test PSP' });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    setWebhookUrl(url: string) {
      webhookUrl = url;
    },
    payments: () => new Map([...payments].map(([id, p]) => [id, { ...p }])),
    async close() {
      for (const held of [...hanging]) held.answer();
      deliveries.abort();
      await Promise.all([...inFlight]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function decodeId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpRefusal(
      400,
      'invalid_request',
      'the payment id in the path is not valid percent-encoding',
      'encode the payment id with encodeURIComponent',
    );
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const raw = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) });
  res.end(raw);
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  throw new HttpRefusal(
    400,
    'invalid_request',
    r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    'send the fields the API names, with amounts as positive integers in minor units',
  );
}

/** The request's JSON body ({} when empty). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HttpRefusal(413, 'body_too_large', `the body is over ${MAX_BODY_BYTES} bytes`, 'send a smaller body');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpRefusal(400, 'invalid_json', 'the body is not JSON', 'send a JSON body with content-type application/json');
  }
}
