/**
 * The per-channel incident feed: recorded escalations, notices and channel changes become entries
 * (listener of the evidence log), admins and channel managers write known limitations, business users
 * read their channel's feed (JSON or the dashboard page) and subscribe webhooks, and a worker delivers
 * each new or changed entry to the subscriptions of its channel, signed, retried with backoff.
 *
 * A subscription URL is the caller's, so it is held to the kit's webhook rules (SSRF): https unless
 * the policy allows http, no credentials, and a host that resolves to public addresses only (the
 * allow-list of WEBHOOK_ALLOW_PRIVATE apart), checked when subscribing and again at every delivery,
 * which connects to the address it checked and follows no redirect. What a failed delivery records is
 * neutral (`unreachable`, `address_refused`, `redirect_not_followed`, `endpoint answered <status>`);
 * the detail goes to the log.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { assertTargetAllowed, DeliveryFailure, postToWebhook, type Logger, type Resolver } from '@omnimall/service-kit';
import { ConflictError, NotFoundError, ValidationError } from '@omnimall/service-kit/errors';
import { STRICT_WEBHOOK_POLICY, validateWebhookUrl, type WebhookPolicy } from '@omnimall/service-kit/http/webhook-target';
import {
  ALL_CHANNELS,
  backoffMs,
  deliveredTo,
  FEED_TOPICS,
  feedChanges,
  limitationEntry,
  merge,
  refOf,
  resolved,
  type EntryStatus,
  type FeedEntry,
  type FeedRecord,
  type LimitationInput,
} from '../domain/incidents';
import type { Delivery, IncidentRepository, WebhookSubscription } from '../store/incidents';

export interface IncidentOptions {
  /** How long one webhook POST may take. */
  timeoutMs: number;
  /** The wait before the first retry (doubling after each failure, at most maxBackoffMs). */
  backoffMs: number;
  maxBackoffMs: number;
  /** Attempts before a delivery is given up (status failed). */
  maxAttempts: number;
  /** Deliveries attempted at once per pass. */
  batch: number;
  /** How long a claimed delivery is reserved for the instance attempting it. */
  leaseMs: number;
  /** Webhook subscriptions per channel. */
  maxSubscriptions: number;
  /** Where subscriptions may point (WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOW_PRIVATE; strict by default). */
  webhooks: WebhookPolicy;
  /** How webhook hosts are resolved, when subscribing and at each delivery (default: the system resolver). */
  resolve?: Resolver;
}

export const INCIDENT_DEFAULTS: IncidentOptions = {
  timeoutMs: 5000,
  backoffMs: 1000,
  maxBackoffMs: 10 * 60_000,
  maxAttempts: 8,
  batch: 20,
  leaseMs: 30_000,
  maxSubscriptions: 20,
  webhooks: STRICT_WEBHOOK_POLICY,
};

/** A subscription as shown to its channel's users: never its secret. */
export type PublicSubscription = Omit<WebhookSubscription, 'secret'>;
const publicOf = ({ secret: _secret, ...rest }: WebhookSubscription): PublicSubscription => rest;

/** The `X-Omnimall-Signature` of a body: `sha256=<hex HMAC-SHA256 of the body with the subscription's secret>`. */
export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

const FEED = new Set<string>(FEED_TOPICS);

export interface DeliveryPass {
  delivered: number;
  retried: number;
  failed: number;
}

export class IncidentFeed {
  private readonly opts: IncidentOptions;
  /** Without keep-alive: deliveries are rare, and no idle socket outlives a pass. */
  private readonly agents = { http: new http.Agent(), https: new https.Agent() };

  constructor(
    private readonly repo: IncidentRepository,
    private readonly logger: Pick<Logger, 'warn'>,
    options: Partial<IncidentOptions> = {},
  ) {
    this.opts = { ...INCIDENT_DEFAULTS, ...options };
  }

  /** The evidence log's listener: each escalation, notice and channel change, in order, applied once. */
  async onRecorded(records: readonly FeedRecord[]): Promise<void> {
    for (const r of records) {
      if (!FEED.has(r.topic) || !r.payload) continue;
      try {
        await this.apply(r);
      } catch (err) {
        // the log goes on; the feed misses this record (the evidence keeps it)
        this.logger.warn('incident feed: record not applied', { topic: r.topic, index: r.index, err: String(err) });
      }
    }
  }

  /** Applies one record; returns the entries it created or changed (none for a replay). */
  async apply(r: FeedRecord): Promise<FeedEntry[]> {
    const ref = refOf(r);
    if (ref === null) return [];
    const open = await this.repo.openByRef(ref);
    const changed: FeedEntry[] = [];
    for (const e of feedChanges(r, open)) {
      const saved = await this.save(e);
      if (saved) changed.push(saved);
    }
    return changed;
  }

  /** Stores an entry if it changes what is stored, and enqueues its delivery to every subscription of its channel. */
  private async save(incoming: FeedEntry, now = Date.now()): Promise<FeedEntry | null> {
    const entry = merge(await this.repo.getEntry(incoming.id), incoming);
    if (!entry) return null;
    await this.repo.putEntry(entry);
    const body = JSON.stringify(entry);
    for (const sub of (await this.repo.subscribersOf(entry.channel)).filter((s) => deliveredTo(entry, s.channel)))
      await this.repo.enqueue({
        id: `dlv_${createHash('sha256').update(`${sub.id}\n${body}`).digest('hex').slice(0, 32)}`,
        subscriptionId: sub.id,
        entryId: entry.id,
        body,
        status: 'pending',
        attempts: 0,
        nextAt: now,
        createdAt: now,
      });
    return entry;
  }

  /** A channel's feed: its entries and the platform-wide ones, open first, then the newest change first. */
  feed(channel: string, opts: { status?: EntryStatus; limit: number }): Promise<FeedEntry[]> {
    return this.repo.entries(channel === ALL_CHANNELS ? [ALL_CHANNELS] : [channel, ALL_CHANNELS], opts);
  }

  async openLimitation(channel: string, input: LimitationInput, by: string, now = Date.now()): Promise<FeedEntry> {
    if (input.until !== undefined && input.until <= now)
      throw new ValidationError('until_past', 'until is in the past', 'give a future epoch-ms time, or leave until out', {
        until: input.until,
      });
    const entry = limitationEntry(`lim_${randomUUID()}`, channel, input, by, now);
    await this.save(entry, now);
    return entry;
  }

  async closeLimitation(channel: string, id: string, by: string, now = Date.now()): Promise<FeedEntry> {
    const e = await this.repo.getEntry(id);
    if (!e || e.kind !== 'limitation' || e.channel !== channel)
      throw new NotFoundError(
        'limitation_not_found',
        `no limitation ${id} on ${channel}`,
        `list the feed with GET /audit/channels/${channel}/incidents`,
      );
    if (e.status === 'resolved') throw new ConflictError('limitation_closed', `limitation ${id} is closed already`, 'nothing to do');
    const closed = resolved(e, Math.max(now, e.updatedAt), { api: `POST /audit/channels/${channel}/limitations/${id}/close`, by });
    await this.save(closed, now);
    return closed;
  }

  /** Closes the limitations whose announced end has passed. */
  async closeExpired(now = Date.now()): Promise<number> {
    const expired = await this.repo.expiredLimitations(now);
    for (const e of expired) await this.save(resolved(e, e.until ?? now, { api: 'until reached', by: 'audit' }), now);
    return expired.length;
  }

  async subscribe(channel: string, url: string, secret: string, by: string, now = Date.now()): Promise<PublicSubscription> {
    // 400 validation_failed, 422 webhook_https_required / webhook_target_refused / webhook_host_unresolvable
    const target = validateWebhookUrl(url, this.opts.webhooks);
    await assertTargetAllowed(target, this.opts.webhooks.allowPrivate, this.opts.resolve);
    const existing = await this.repo.subscriptions(channel);
    if (existing.length >= this.opts.maxSubscriptions)
      throw new ConflictError(
        'too_many_webhooks',
        `${channel} has ${existing.length} webhook subscriptions already`,
        'remove one with DELETE /audit/channels/:channel/webhooks/:id first',
      );
    const sub: WebhookSubscription = { id: `whk_${randomUUID()}`, channel, url, secret, createdBy: by, createdAt: now };
    await this.repo.addSubscription(sub);
    return publicOf(sub);
  }

  async subscriptions(channel: string): Promise<PublicSubscription[]> {
    return (await this.repo.subscriptions(channel)).map(publicOf);
  }

  /** One subscription of a channel (no secret), or 404. */
  async subscription(channel: string, id: string): Promise<PublicSubscription> {
    const sub = await this.repo.subscription(id);
    if (!sub || sub.channel !== channel)
      throw new NotFoundError(
        'webhook_not_found',
        `no webhook ${id} on ${channel}`,
        `list them with GET /audit/channels/${channel}/webhooks`,
      );
    return publicOf(sub);
  }

  async unsubscribe(channel: string, id: string): Promise<void> {
    await this.subscription(channel, id);
    await this.repo.removeSubscription(id);
    await this.repo.cancelDeliveries(id);
  }

  /** A subscription's latest deliveries (attempts, last status), without their bodies. */
  async deliveries(channel: string, id: string, limit: number): Promise<Array<Omit<Delivery, 'body'>>> {
    await this.subscription(channel, id);
    return (await this.repo.deliveries(id, limit)).map(({ body: _body, ...rest }) => rest);
  }

  /** One pass of the delivery worker: expired limitations closed, then due deliveries attempted. */
  async deliverDue(now = Date.now()): Promise<DeliveryPass> {
    await this.closeExpired(now);
    const claimed: Delivery[] = [];
    for (let i = 0; i < this.opts.batch; i++) {
      const d = await this.repo.claimDue(now, now + this.opts.leaseMs);
      if (!d) break;
      claimed.push(d);
    }
    // one subscriber's deliveries in the order they were made (an opening before its resolution), subscribers side by side
    const bySubscription = new Map<string, Delivery[]>();
    for (const d of claimed) bySubscription.set(d.subscriptionId, [...(bySubscription.get(d.subscriptionId) ?? []), d]);
    const outcomes: Array<'delivered' | 'retried' | 'failed' | 'cancelled'> = [];
    await Promise.all(
      [...bySubscription.values()].map(async (queue) => {
        for (const d of queue) outcomes.push(await this.attempt(d));
      }),
    );
    return {
      delivered: outcomes.filter((o) => o === 'delivered').length,
      retried: outcomes.filter((o) => o === 'retried').length,
      failed: outcomes.filter((o) => o === 'failed').length,
    };
  }

  private async attempt(d: Delivery): Promise<'delivered' | 'retried' | 'failed' | 'cancelled'> {
    const sub = await this.repo.subscription(d.subscriptionId);
    if (!sub) {
      await this.repo.updateDelivery(d.id, { status: 'cancelled' });
      return 'cancelled';
    }
    const at = Date.now();
    let status = 0;
    let error: string | undefined;
    let detail: string | undefined;
    try {
      // the host resolved and checked again (DNS may have changed since the subscription), the
      // connection pinned to the checked address, no redirect followed
      status = await postToWebhook(new URL(sub.url), {
        headers: {
          'content-type': 'application/json',
          'user-agent': 'omnimall-audit-incidents',
          'x-omnimall-signature': signature(d.body, sub.secret),
          'x-omnimall-delivery': d.id,
          'x-omnimall-channel': sub.channel,
        },
        body: d.body,
        timeoutMs: this.opts.timeoutMs,
        allowPrivate: this.opts.webhooks.allowPrivate,
        resolve: this.opts.resolve,
        agents: this.agents,
      });
    } catch (err) {
      const failure = err instanceof DeliveryFailure ? err : new DeliveryFailure('unreachable', null, String(err));
      status = failure.httpStatus ?? 0;
      error = failure.message;
      detail = failure.detail;
    }
    const attempts = d.attempts + 1;
    const base = { attempts, lastAttemptAt: at, lastStatus: status };
    if (!error) {
      await this.repo.updateDelivery(d.id, { ...base, status: 'delivered', deliveredAt: Date.now() });
      return 'delivered';
    }
    if (attempts >= this.opts.maxAttempts) {
      await this.repo.updateDelivery(d.id, { ...base, lastError: error, status: 'failed' });
      this.logger.warn('incident webhook given up', { delivery: d.id, subscription: sub.id, attempts, error, detail });
      return 'failed';
    }
    await this.repo.updateDelivery(d.id, {
      ...base,
      lastError: error,
      nextAt: Date.now() + backoffMs(attempts, this.opts.backoffMs, this.opts.maxBackoffMs),
    });
    return 'retried';
  }
}
