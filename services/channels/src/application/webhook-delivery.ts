/**
 * Delivery of events to channels' webhook endpoints.
 *
 * Each (event, endpoint) pair is one document in `deliveries`, inserted with a deterministic id
 * (a replayed event inserts nothing new), so what is to be delivered survives a crash. A worker
 * polls the due ones and posts them, per endpoint in creation order, through that endpoint's
 * opossum circuit breaker, signed with HMAC-SHA256 over `${timestamp}.${body}`. A failure
 * reschedules with exponential backoff; while the breaker is open the endpoint is not called at all
 * and its deliveries simply wait. Success (or giving up after maxAttempts) is written together with
 * a channels.partner-delivery ack through the outbox.
 *
 * Every attempt resolves the endpoint's host again, refuses non-public addresses and connects to the
 * address it checked, without following redirects (the kit's http/webhook-post.ts); what a failed
 * attempt records is neutral (`unreachable`, `address_refused`, `redirect_not_followed`,
 * `endpoint answered <status>`). A deactivated or vanished endpoint gets nothing more: its pending
 * deliveries end at once as failed with `endpoint_deactivated` (with their acks), whether the
 * deactivation happened here (`endpointDeactivated`) or on another instance (seen by the next pass).
 *
 * Secrets at rest: an event's `sealedData` (a password reset's token and e-mail, an erasure notice's
 * partner customer id) is never stored in clear. The stored `body` lacks it; `sealed` holds the whole
 * body as an AES-256-GCM box under the delivery key (domain/sealed.ts), opened only to post, and
 * removed by the same write that ends the delivery (delivered, failed for good, endpoint
 * deactivated). A box that no longer opens (the key changed) ends its delivery as failed
 * (`secret_unreadable`) instead of being retried for ever.
 */
import http from 'node:http';
import https from 'node:https';
import type CircuitBreaker from 'opossum';
import { LRUCache } from 'lru-cache';
import { createBreaker, DeliveryFailure, postToWebhook, type Resolver, type ServiceRuntime } from '@omnimall/service-kit';
import { backoffMs, deliveryBody, receives, type DeliverableEvent, type Delivery, type Endpoint } from '../domain/delivery';
import { open, seal } from '../domain/sealed';
import { SIGNATURE_HEADER, signatureHeader } from '../domain/signature';
import { deliveryEnded } from '../events/out/channels.partner-delivery';
import type { DeliveryRepository, EndpointRepository } from '../store';

export interface DeliveryOptions {
  pollIntervalMs?: number;
  /** How often a pass also queries the store for pending deliveries this instance does not know (default 30 s). */
  scanIntervalMs?: number;
  requestTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  maxAttempts?: number;
  breakerResetMs?: number;
  breakerVolumeThreshold?: number;
}

/** Where deliveries may go (WEBHOOK_ALLOW_PRIVATE, settings.ts) and how hosts are resolved. */
export interface DeliveryTargets {
  /** CIDR ranges accepted although not public (local tests only). */
  allowPrivate: readonly string[];
  /** Default: the system resolver. */
  resolve?: Resolver;
}

/** What a pending delivery of a deactivated or vanished endpoint ends with. */
export const ENDPOINT_DEACTIVATED = 'endpoint_deactivated';
/** What a delivery whose sealed part no longer opens (the delivery key changed) ends with. */
export const SECRET_UNREADABLE = 'secret_unreadable';

const ENDPOINT_CACHE_MS = 1000;

/** How often the worker looks for due deliveries when nothing kicks it (ms). */
export const DEFAULT_POLL_INTERVAL_MS = 1000;

/** What the worker needs of the running service. */
export type DeliveryRuntime = Pick<ServiceRuntime, 'locks' | 'logger' | 'metrics'>;

const ACTIVE = 'active';

export class WebhookDelivery {
  private readonly breakers = new Map<string, CircuitBreaker<[Endpoint, Delivery], number>>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  /** Pending deliveries this instance queued, tried or found: the passes' work list. */
  private readonly due = new Map<string, { at: number; endpointId: string; createdAt: number }>();
  private lastScan = 0;
  private readonly opts: Required<DeliveryOptions>;
  /** Connections are kept alive per instance; each was opened to a checked address. */
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  /**
   * Active endpoints by channel, read from the store at most once per ENDPOINT_CACHE_MS: every
   * delivered event asks, and endpoints change rarely. This instance's own changes refresh it at
   * once (forgetEndpoints); another instance's show within ENDPOINT_CACHE_MS.
   */
  private readonly endpointCache = new LRUCache<typeof ACTIVE, Promise<Map<string, Endpoint[]>>>({
    max: 1,
    ttl: ENDPOINT_CACHE_MS,
    allowStale: false,
  });

  constructor(
    private readonly rt: DeliveryRuntime,
    private readonly store: { endpoints: EndpointRepository; deliveries: DeliveryRepository },
    opts: DeliveryOptions = {},
    private readonly targets: DeliveryTargets,
    /** The delivery key (DELIVERY_SECRET_KEY) sealing the secret parts of stored bodies. */
    private readonly deliveryKey: Buffer,
  ) {
    this.opts = {
      pollIntervalMs: opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      scanIntervalMs: opts.scanIntervalMs ?? 30_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 5000,
      backoffBaseMs: opts.backoffBaseMs ?? 500,
      backoffMaxMs: opts.backoffMaxMs ?? 60_000,
      maxAttempts: opts.maxAttempts ?? 50,
      breakerResetMs: opts.breakerResetMs ?? 10_000,
      breakerVolumeThreshold: opts.breakerVolumeThreshold ?? 3,
    };
  }

  /** Active endpoints by channel (cached, see endpointCache). */
  activeEndpoints(): Promise<Map<string, Endpoint[]>> {
    const cached = this.endpointCache.get(ACTIVE);
    if (cached) return cached;
    const byChannel = this.store.endpoints.active().then((all) => {
      const out = new Map<string, Endpoint[]>();
      for (const ep of all) out.set(ep.channel, [...(out.get(ep.channel) ?? []), ep]);
      return out;
    });
    this.endpointCache.set(ACTIVE, byChannel);
    byChannel.catch(() => {
      if (this.endpointCache.peek(ACTIVE) === byChannel) this.endpointCache.delete(ACTIVE);
    });
    return byChannel;
  }

  forgetEndpoints(): void {
    this.endpointCache.delete(ACTIVE);
  }

  /**
   * The endpoint was deactivated: no new deliveries for it, and its pending ones end now (failed,
   * `endpoint_deactivated`, each with its ack) instead of being retried.
   */
  async endpointDeactivated(endpointId: string): Promise<void> {
    this.forgetEndpoints();
    this.breakers.get(endpointId)?.shutdown();
    this.breakers.delete(endpointId);
    for (const id of await this.store.deliveries.pendingOf(endpointId)) await this.end(id);
  }

  /** Queues the event for every active endpoint of its channel subscribed to its type. Idempotent per event. */
  async enqueue(ev: DeliverableEvent): Promise<number> {
    const endpoints = (await this.activeEndpoints()).get(ev.channel) ?? [];
    let queued = 0;
    for (const ep of endpoints.filter((e) => receives(e, ev.eventType))) {
      const id = `${ev.sourceEventId}:${ep._id}`;
      const now = new Date();
      const inserted = await this.store.deliveries.insert({
        _id: id,
        channel: ev.channel,
        endpointId: ep._id,
        eventType: ev.eventType,
        sourceEventId: ev.sourceEventId,
        sourceOccurredAt: new Date(ev.occurredAt),
        body: deliveryBody(id, ev, ev.data),
        sealed: ev.sealedData ? seal(this.deliveryKey, deliveryBody(id, ev, { ...ev.data, ...ev.sealedData }), id) : null,
        subjects: [...(ev.subjects ?? [])],
        status: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
        httpStatus: null,
        createdAt: now,
        completedAt: null,
      });
      if (!inserted) continue;
      this.due.set(id, { at: now.getTime(), endpointId: ep._id, createdAt: now.getTime() });
      queued++;
    }
    if (queued) this.kick();
    return queued;
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.opts.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    for (const b of this.breakers.values()) b.shutdown();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** Runs a pass now (or right after the current one). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  breakerState(endpointId: string): 'closed' | 'open' | 'halfOpen' {
    const b = this.breakers.get(endpointId);
    if (!b) return 'closed';
    return b.opened ? 'open' : b.halfOpen ? 'halfOpen' : 'closed';
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.stopped || this.running) return;
      this.running = this.pass()
        .catch((err: unknown) => {
          this.rt.logger.warn('delivery pass failed', { err: String(err) });
        })
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const now = this.again;
          this.again = false;
          const untilDue = Math.max(0, this.nextDue() - Date.now());
          this.schedule(now ? 0 : Math.min(this.opts.pollIntervalMs, untilDue));
        });
    }, ms);
  }

  /** Each endpoint's pending deliveries, oldest first (the order they must go in). */
  private queues(): Map<string, Array<{ id: string; at: number; createdAt: number }>> {
    const out = new Map<string, Array<{ id: string; at: number; createdAt: number }>>();
    for (const [id, e] of this.due) {
      const q = out.get(e.endpointId) ?? [];
      q.push({ id, at: e.at, createdAt: e.createdAt });
      out.set(e.endpointId, q);
    }
    for (const q of out.values()) q.sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : 1));
    return out;
  }

  /** When the next delivery may go: the earliest due time among the endpoints' oldest deliveries. */
  private nextDue(): number {
    let next = Infinity;
    for (const q of this.queues().values()) next = Math.min(next, q[0].at);
    return next;
  }

  /**
   * One pass: endpoints in parallel, each endpoint's deliveries oldest first, stopping at the first
   * that is not due or fails (order holds). The work list is what this instance queued or tried;
   * every `scanIntervalMs` the store is queried too, for what another instance or a crash left. On
   * FerretDB that query reads the whole collection, delivered ones included, so not every pass.
   */
  async pass(): Promise<void> {
    const now = Date.now();
    if (now - this.lastScan >= this.opts.scanIntervalMs) {
      this.lastScan = now;
      for (const d of await this.store.deliveries.pending())
        if (!this.due.has(d._id))
          this.due.set(d._id, { at: d.nextAttemptAt.getTime(), endpointId: d.endpointId, createdAt: d.createdAt.getTime() });
    }
    const ready = [...this.queues()].filter(([, q]) => q[0].at <= now);
    await Promise.all(
      ready.map(async ([endpointId, queue]) => {
        const ep = await this.store.endpoints.get(endpointId);
        for (const { id } of queue) {
          if (this.stopped || (this.due.get(id)?.at ?? 0) > Date.now()) return;
          if (!ep || !ep.active) {
            await this.end(id); // the endpoint is gone or switched off: nothing more goes to it
            continue;
          }
          if (!(await this.attempt(ep, id))) return;
        }
      }),
    );
  }

  private setDue(id: string, at: number): void {
    const e = this.due.get(id);
    if (e) e.at = at;
  }

  private breakerFor(ep: Endpoint): CircuitBreaker<[Endpoint, Delivery], number> {
    let b = this.breakers.get(ep._id);
    if (!b) {
      b = createBreaker(`webhook:${ep._id}`, (e: Endpoint, d: Delivery) => this.post(e, d), this.rt.metrics, {
        timeoutMs: this.opts.requestTimeoutMs,
        resetTimeoutMs: this.opts.breakerResetMs,
        volumeThreshold: this.opts.breakerVolumeThreshold,
        errorThresholdPercentage: 50,
        // The partner refusing one request (3xx, 4xx) or a refused address says nothing about its availability.
        isClientError: (err) =>
          err instanceof DeliveryFailure &&
          (err.message === 'address_refused' ||
            (err.httpStatus !== null && err.httpStatus >= 300 && err.httpStatus < 500 && err.httpStatus !== 408 && err.httpStatus !== 429)),
      });
      this.breakers.set(ep._id, b);
    }
    return b;
  }

  /** The body to send: the sealed one opened when there is one (throws when it does not open). */
  private bodyToSend(d: Delivery): string {
    return d.sealed ? open(this.deliveryKey, d.sealed, d._id) : d.body;
  }

  private post(ep: Endpoint, d: Delivery): Promise<number> {
    const body = this.bodyToSend(d);
    return postToWebhook(new URL(ep.url), {
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signatureHeader(ep.secret, body),
        'x-omnimall-delivery': d._id,
        'x-omnimall-event': d.eventType,
      },
      body,
      timeoutMs: this.opts.requestTimeoutMs,
      allowPrivate: this.targets.allowPrivate,
      resolve: this.targets.resolve,
      agents: this.agents,
    });
  }

  /**
   * Ends a pending delivery now, as failed with `error` (with its ack, its sealed part removed): its
   * endpoint is deactivated or gone, or what it would send may not be sent any more.
   */
  async end(id: string, error: string = ENDPOINT_DEACTIVATED): Promise<void> {
    await this.rt.locks.run(this.store.deliveries.lockKey(id), async () => {
      const cur = await this.store.deliveries.get(id);
      if (cur?.status === 'pending') await this.finish(cur, { status: 'failed', attempts: cur.attempts, httpStatus: null, error });
    });
    this.due.delete(id);
  }

  /** Tries one delivery; true when it was delivered (or already done elsewhere). */
  private async attempt(ep: Endpoint, id: string): Promise<boolean> {
    const breaker = this.breakerFor(ep);
    if (breaker.opened) {
      // Wait for the half-open trial; nothing is lost, the delivery stays pending.
      this.setDue(id, Date.now() + Math.min(this.opts.breakerResetMs, this.opts.pollIntervalMs));
      return false;
    }
    return this.rt.locks.run(this.store.deliveries.lockKey(id), async () => {
      const cur = await this.store.deliveries.get(id);
      if (!cur || cur.status !== 'pending') {
        this.due.delete(id); // done here or by another instance
        return !!cur;
      }
      if (cur.nextAttemptAt.getTime() > Date.now()) {
        this.setDue(id, cur.nextAttemptAt.getTime());
        return false;
      }
      const attempts = cur.attempts + 1;
      try {
        this.bodyToSend(cur);
      } catch (err) {
        this.rt.logger.error('sealed delivery body does not open (was DELIVERY_SECRET_KEY changed?)', { deliveryId: id, err: String(err) });
        await this.finish(cur, { status: 'failed', attempts: cur.attempts, httpStatus: null, error: SECRET_UNREADABLE });
        this.due.delete(id);
        return true; // ended: the endpoint's next delivery may go
      }
      try {
        const status = await breaker.fire(ep, cur);
        await this.finish(cur, { status: 'delivered', attempts, httpStatus: status, error: null });
        this.due.delete(id);
        return true;
      } catch (err) {
        // Recorded and shown to the channel: the neutral reason only (timeouts, refusals and
        // breaker rejections are all `unreachable`); the detail is for the log.
        const failure = err instanceof DeliveryFailure ? err : null;
        const httpStatus = failure?.httpStatus ?? null;
        const error = failure?.message ?? 'unreachable';
        this.rt.logger.debug('webhook delivery attempt failed', { deliveryId: id, error, detail: failure?.detail ?? String(err) });
        if (attempts >= this.opts.maxAttempts) {
          await this.finish(cur, { status: 'failed', attempts, httpStatus, error });
          this.due.delete(id);
        } else {
          const nextAttemptAt = new Date(Date.now() + backoffMs(attempts, this.opts.backoffBaseMs, this.opts.backoffMaxMs));
          await this.store.deliveries.reschedule(cur._id, { attempts, nextAttemptAt, lastError: error, httpStatus });
          this.setDue(id, nextAttemptAt.getTime());
        }
        return false;
      }
    });
  }

  /** Writes the outcome with its ack event (runs inside the delivery's lock, so it updates directly). */
  private async finish(
    d: Delivery,
    r: { status: 'delivered' | 'failed'; attempts: number; httpStatus: number | null; error: string | null },
  ): Promise<void> {
    const completedAt = new Date();
    await this.store.deliveries.complete(
      d._id,
      { status: r.status, attempts: r.attempts, httpStatus: r.httpStatus, lastError: r.error, completedAt },
      deliveryEnded(d, { ...r, completedAt }),
    );
  }
}
