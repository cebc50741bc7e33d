/**
 * The payment port's HTTP adapter against the built-in test PSP, both over real HTTP on 127.0.0.1
 * (no Kafka or database needed): answers, declines, idempotent authorisation, timeouts and the
 * late approval behind them, the forward-only operations, the breaker, and signed webhooks received
 * by a local listener.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceMetrics } from '@omnimall/service-kit';
import { ValidationError } from '@omnimall/service-kit/errors';
import { waitFor } from '@omnimall/service-kit/testing';
import { HttpPaymentProvider, signWebhook, type HttpPaymentProviderOptions } from '../src/payments/http-provider';
import { PaymentRejectedError, PaymentUnavailableError, type AuthoriseRequest, type WebhookEvent } from '../src/payments/port';
import { startTestPsp, type TestPsp } from '../src/payments/test-psp';

const SECRET = 'whsec_orders_test';

const providers: HttpPaymentProvider[] = [];
const closers: Array<() => Promise<void>> = [];
let seq = 0;

/** An adapter with its own metrics (so its breaker gauge is its own), closed after the suite. */
function adapter(baseUrl: string, extra: Partial<HttpPaymentProviderOptions> = {}) {
  const metrics = new ServiceMetrics('orders-test');
  const name = `psp${++seq}`;
  const provider = new HttpPaymentProvider({ name, baseUrl, secret: SECRET, timeoutMs: 2000, metrics, ...extra });
  providers.push(provider);
  const breakerState = async () => (await metrics.breakerState.get()).values.find((v) => v.labels.breaker === `payments-${name}`)?.value;
  return { provider, breakerState };
}

async function psp(opts: { hangMs?: number; webhookUrl?: string } = {}): Promise<TestPsp> {
  const started = await startTestPsp({ secret: SECRET, ...opts });
  closers.push(() => started.close());
  return started;
}

function authRequest(methodToken: string, amountMinor = 4990): AuthoriseRequest {
  const paymentId = `ord_${randomUUID()}`;
  return { paymentId, amountMinor, currency: 'EUR', methodToken, reference: `order ${paymentId}` };
}

/** A plain HTTP server on 127.0.0.1 answering with `handle`, closed after the suite. */
async function listen(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** What `fn` throws, when it is a ValidationError (fails the test otherwise). */
function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

afterAll(async () => {
  for (const p of providers) p.close();
  for (const close of closers.reverse()) await close();
});

describe('HttpPaymentProvider against the test PSP', () => {
  let server: TestPsp;
  let provider: HttpPaymentProvider;
  let breakerState: () => Promise<number | undefined>;

  beforeAll(async () => {
    server = await psp();
    ({ provider, breakerState } = adapter(server.url));
  });

  it('approves: an authorised answer with the provider reference, and status() agrees', async () => {
    const req = authRequest('tok_approve');
    const answer = await provider.authorise(req);
    expect(answer).toEqual({ providerRef: expect.stringMatching(/^psp_/), state: 'authorised', reason: null });
    expect(await provider.status(req.paymentId)).toEqual(answer);
    expect(server.payments().get(req.paymentId)).toMatchObject({ state: 'authorised', amountMinor: 4990, currency: 'EUR' });
  });

  it('a token it does not know is approved too', async () => {
    expect(await provider.authorise(authRequest('tok_visa_4242'))).toMatchObject({ state: 'authorised', reason: null });
  });

  it('a decline is an answer (state failed, reason card_declined), not a throw', async () => {
    const req = authRequest('tok_decline');
    const answer = await provider.authorise(req);
    expect(answer).toEqual({ providerRef: expect.stringMatching(/^psp_/), state: 'failed', reason: 'card_declined' });
    expect(await provider.status(req.paymentId)).toEqual(answer);
  });

  it('authorising the same payment id twice makes one payment and answers the first result', async () => {
    const before = server.payments().size;
    const req = authRequest('tok_approve');
    const first = await provider.authorise(req);
    // The retry even names another method: the payment id is the idempotency key.
    const second = await provider.authorise({ ...req, methodToken: 'tok_decline' });
    expect(second).toEqual(first);
    expect(server.payments().size).toBe(before + 1);

    const declined = authRequest('tok_decline');
    const refusedFirst = await provider.authorise(declined);
    expect(await provider.authorise({ ...declined, methodToken: 'tok_approve' })).toEqual(refusedFirst);
  });

  it('captures then refunds (forward), and refuses moves back or out of a final state with the current state', async () => {
    const req = authRequest('tok_approve', 10_000);
    const { providerRef } = await provider.authorise(req);
    expect(await provider.capture(req.paymentId, 10_000)).toEqual({ providerRef, state: 'captured', reason: null });
    expect(await provider.void(req.paymentId)).toEqual({ providerRef, state: 'captured', reason: 'invalid_state' });
    expect(await provider.refund(req.paymentId, 2_500)).toEqual({ providerRef, state: 'refunded', reason: null });
    expect(await provider.capture(req.paymentId, 10_000)).toEqual({ providerRef, state: 'refunded', reason: 'invalid_state' });
    expect(server.payments().get(req.paymentId)).toMatchObject({ state: 'refunded', capturedMinor: 10_000, refundedMinor: 2_500 });
    expect(await provider.status(req.paymentId)).toEqual({ providerRef, state: 'refunded', reason: null });
  });

  it('voids an authorisation; a voided or declined payment cannot be captured or refunded', async () => {
    const req = authRequest('tok_approve');
    const { providerRef } = await provider.authorise(req);
    expect(await provider.refund(req.paymentId, 100)).toEqual({ providerRef, state: 'authorised', reason: 'invalid_state' });
    expect(await provider.void(req.paymentId)).toEqual({ providerRef, state: 'voided', reason: null });
    expect(await provider.capture(req.paymentId, 100)).toEqual({ providerRef, state: 'voided', reason: 'invalid_state' });
    expect(await provider.void(req.paymentId)).toEqual({ providerRef, state: 'voided', reason: 'invalid_state' });

    const declined = authRequest('tok_decline');
    await provider.authorise(declined);
    expect(await provider.capture(declined.paymentId, 100)).toMatchObject({ state: 'failed', reason: 'invalid_state' });
    expect(server.payments().get(declined.paymentId)?.state).toBe('failed');
  });

  it('a refusal without a state is a PaymentRejectedError with the code; an unknown payment has no status', async () => {
    const unknown = `ord_${randomUUID()}`;
    expect(await provider.status(unknown)).toBeNull();
    await expect(provider.capture(unknown, 100)).rejects.toMatchObject({
      name: 'PaymentRejectedError',
      httpStatus: 404,
      code: 'payment_unknown',
    });

    const req = authRequest('tok_approve', 500);
    await provider.authorise(req);
    const over = provider.capture(req.paymentId, 501);
    await expect(over).rejects.toBeInstanceOf(PaymentRejectedError);
    await expect(over).rejects.toMatchObject({ httpStatus: 400, code: 'invalid_amount' });
    await expect(provider.authorise({ ...authRequest('tok_approve'), amountMinor: -1 })).rejects.toMatchObject({
      httpStatus: 400,
      code: 'invalid_request',
    });
    expect(server.payments().get(req.paymentId)?.state).toBe('authorised');
  });

  it('declines and refusals do not count against the breaker', async () => {
    for (let i = 0; i < 8; i++) expect((await provider.authorise(authRequest('tok_decline'))).state).toBe('failed');
    await expect(provider.capture(`ord_${randomUUID()}`, 1)).rejects.toBeInstanceOf(PaymentRejectedError);
    expect(await breakerState()).toBe(0);
    expect((await provider.authorise(authRequest('tok_approve'))).state).toBe('authorised');
  });

  it('encodes payment ids in paths', async () => {
    const req = { ...authRequest('tok_approve'), paymentId: `ord/${randomUUID()}?x=1#y` };
    const { providerRef } = await provider.authorise(req);
    expect(await provider.capture(req.paymentId, req.amountMinor)).toEqual({ providerRef, state: 'captured', reason: null });
    expect(server.payments().get(req.paymentId)?.state).toBe('captured');
  });
});

describe('timeouts and the breaker', () => {
  it('a timed-out authorisation is PaymentUnavailableError; status() then shows the late approval', async () => {
    const hanging = await psp({ hangMs: 20_000 });
    const { provider } = adapter(hanging.url, { timeoutMs: 200 });
    const req = authRequest('tok_timeout');
    const started = Date.now();
    const err = await provider.authorise(req).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PaymentUnavailableError);
    expect((err as Error).message).toMatch(/did not answer within 200 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await provider.status(req.paymentId)).toMatchObject({ state: 'authorised', reason: null });

    // close() answers the request still hanging instead of waiting out hangMs.
    const closing = Date.now();
    await hanging.close();
    expect(Date.now() - closing).toBeLessThan(5_000);
  });

  it('opens after repeated timeouts: later calls fail fast without reaching the PSP, and it closes again once the PSP answers', async () => {
    const hanging = await psp({ hangMs: 20_000 });
    const { provider, breakerState } = adapter(hanging.url, { timeoutMs: 150, breaker: { resetTimeoutMs: 500 } });
    for (let i = 0; i < 5; i++)
      await expect(provider.authorise(authRequest('tok_timeout'))).rejects.toBeInstanceOf(PaymentUnavailableError);
    expect(await breakerState()).toBe(2);

    const req = authRequest('tok_approve');
    const started = Date.now();
    const err = await provider.authorise(req).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PaymentUnavailableError);
    expect((err as Error).message).toMatch(/circuit is open/);
    expect(Date.now() - started).toBeLessThan(150); // under the 150 ms a call reaching the hanging PSP takes
    expect(hanging.payments().has(req.paymentId)).toBe(false);

    await waitFor(async () => (await breakerState()) === 1, 'the breaker half-open after its reset timeout', 5_000);
    expect(await provider.authorise(req)).toMatchObject({ state: 'authorised' });
    expect(await breakerState()).toBe(0);
  });

  it('opens when the PSP is down (connection refused)', async () => {
    const gone = await startTestPsp({ secret: SECRET });
    await gone.close();
    const { provider, breakerState } = adapter(gone.url);
    for (let i = 0; i < 5; i++) {
      const err = await provider.status(`ord_${i}`).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PaymentUnavailableError);
      expect((err as Error).message).not.toMatch(/circuit is open/);
    }
    expect(await breakerState()).toBe(2);
    await expect(provider.void('ord_1')).rejects.toThrow(/circuit is open/);
  });

  it('a 5xx, a non-answer or a bare 404 (a wrong base URL) is PaymentUnavailableError, never "unknown payment"', async () => {
    const url = await listen((req, _body, res) => {
      if (req.url === '/api/payments/ord_404') res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      else if (req.url === '/api/payments/ord_ok') res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      else res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":"maintenance"}');
    });
    const { provider } = adapter(`${url}/api/`);
    await expect(provider.status('ord_404')).rejects.toThrow(/404 without naming the payment unknown/);
    await expect(provider.status('ord_ok')).rejects.toThrow(/not a payment state/);
    await expect(provider.capture('ord_503', 100)).rejects.toThrow(/HTTP 503/);
    await expect(provider.status('ord_404')).rejects.toBeInstanceOf(PaymentUnavailableError);
  });
});

describe('webhooks', () => {
  const received: Array<{ raw: string; headers: IncomingHttpHeaders }> = [];
  let server: TestPsp;
  let provider: HttpPaymentProvider;

  const deliveriesFor = (paymentId: string) => received.filter((d) => (JSON.parse(d.raw) as WebhookEvent).paymentId === paymentId);

  beforeAll(async () => {
    const url = await listen((req, raw, res) => {
      received.push({ raw, headers: req.headers });
      res.writeHead(204).end();
    });
    server = await psp();
    server.setWebhookUrl(`${url}/psp-webhooks`);
    ({ provider } = adapter(server.url));
  });

  it('each state change is delivered signed, with its own event id', async () => {
    const req = authRequest('tok_approve', 7_000);
    await provider.authorise(req);
    await provider.capture(req.paymentId, 6_000);
    const got = await waitFor(() => deliveriesFor(req.paymentId).length >= 2 && deliveriesFor(req.paymentId), 'two webhooks');
    const events = got.map((d) => provider.verifyWebhook(d.raw, d.headers));
    expect(events.map((e) => [e.state, e.amountMinor]).sort()).toEqual([
      ['authorised', 7_000],
      ['captured', 6_000],
    ]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(2);
    for (const e of events) expect(e.occurredAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a decline is announced too', async () => {
    const req = authRequest('tok_decline');
    await provider.authorise(req);
    const [d] = await waitFor(() => deliveriesFor(req.paymentId), 'the failed webhook');
    expect(provider.verifyWebhook(d.raw, d.headers)).toMatchObject({ paymentId: req.paymentId, state: 'failed' });
  });

  it('tok_twice delivers each webhook twice with the same event id', async () => {
    const req = authRequest('tok_twice');
    await provider.authorise(req);
    await provider.void(req.paymentId);
    const got = await waitFor(() => deliveriesFor(req.paymentId).length >= 4 && deliveriesFor(req.paymentId), 'four deliveries');
    const events = got.map((d) => provider.verifyWebhook(d.raw, d.headers));
    const byId = new Map<string, WebhookEvent[]>();
    for (const e of events) byId.set(e.eventId, [...(byId.get(e.eventId) ?? []), e]);
    expect(byId.size).toBe(2);
    for (const same of byId.values()) {
      expect(same).toHaveLength(2);
      expect(same[1]).toEqual(same[0]);
    }
    expect([...byId.values()].map((s) => s[0].state).sort()).toEqual(['authorised', 'voided']);
  });

  it('verifyWebhook accepts a fresh valid signature (header name in any case) and parses the event', () => {
    const event: WebhookEvent = { eventId: 'evt_1', paymentId: 'ord_1', state: 'captured', amountMinor: 100, occurredAt: Date.now() };
    const raw = JSON.stringify(event);
    expect(provider.verifyWebhook(raw, { 'psp-signature': signWebhook(SECRET, raw, Date.now()) })).toEqual(event);
    expect(provider.verifyWebhook(raw, { 'PSP-Signature': signWebhook(SECRET, raw, Date.now() - 60_000) })).toEqual(event);
    // A PSP rotating its secret sends one v1 per secret: one matching is enough.
    const at = Date.now(); // one instant for both: the header carries one t
    const rotated = `${signWebhook('old-secret', raw, at)},v1=${signWebhook(SECRET, raw, at).split('v1=')[1]}`;
    expect(provider.verifyWebhook(raw, { 'psp-signature': rotated }).eventId).toBe('evt_1');
  });

  it('verifyWebhook refuses a bad signature, a tampered body, a missing or garbled header and a stale or future timestamp', () => {
    const raw = JSON.stringify({ eventId: 'evt_2', paymentId: 'ord_2', state: 'authorised', amountMinor: 100, occurredAt: Date.now() });
    const now = Date.now();
    const refusals = [
      refusal(() => provider.verifyWebhook(raw, { 'psp-signature': signWebhook('another-secret', raw, now) })),
      refusal(() => provider.verifyWebhook(raw.replace('100', '1'), { 'psp-signature': signWebhook(SECRET, raw, now) })),
      refusal(() => provider.verifyWebhook(raw, {})),
      refusal(() => provider.verifyWebhook(raw, { 'psp-signature': 'garbage' })),
      refusal(() => provider.verifyWebhook(raw, { 'psp-signature': `t=${now},v1=zz` })),
      refusal(() => provider.verifyWebhook(raw, { 'psp-signature': [signWebhook(SECRET, raw, now), signWebhook(SECRET, raw, now)] })),
      refusal(() => provider.verifyWebhook(raw, { 'psp-signature': signWebhook(SECRET, raw, now - 6 * 60_000) })),
      refusal(() => provider.verifyWebhook(raw, { 'psp-signature': signWebhook(SECRET, raw, now + 6 * 60_000) })),
    ];
    for (const r of refusals) {
      expect(r.status).toBe(400);
      expect(r.code).toBe('webhook_signature_invalid');
      expect(r.hint.length).toBeGreaterThan(0);
    }
    expect(refusals[6].message).toMatch(/more than the 300 s allowed/);
  });

  it('a tighter tolerance refuses what the default accepts', () => {
    const { provider: strict } = adapter(server.url, { toleranceMs: 1_000 });
    const raw = JSON.stringify({ eventId: 'evt_3', paymentId: 'ord_3', state: 'authorised', amountMinor: 100, occurredAt: Date.now() });
    const header = { 'psp-signature': signWebhook(SECRET, raw, Date.now() - 10_000) };
    expect(provider.verifyWebhook(raw, header).eventId).toBe('evt_3');
    expect(refusal(() => strict.verifyWebhook(raw, header)).code).toBe('webhook_signature_invalid');
  });

  it('a validly signed body that is not a payment event is refused as webhook_payload_invalid', () => {
    for (const raw of [
      'not json',
      JSON.stringify({ eventId: 'evt_4', paymentId: 'ord_4', state: 'settled', amountMinor: 1, occurredAt: 1 }),
    ]) {
      const r = refusal(() => provider.verifyWebhook(raw, { 'psp-signature': signWebhook(SECRET, raw, Date.now()) }));
      expect([r.status, r.code]).toEqual([400, 'webhook_payload_invalid']);
    }
  });
});
