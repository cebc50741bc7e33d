/**
 * What the cart tests (and benchmarks) share: a simulator standing in for identity, channels,
 * catalog-sync and inventory (it publishes their real events on the real topics), and a cart started on its own
 * database with its own consumer groups.
 */
import { get as httpGet, type ClientRequest } from 'node:http';
import { newEvent, ServiceRuntime, type GroupSettings, type PlatformConfig } from '@omnimall/service-kit';
import { channelPayload, testConfig, testGroups, testTokens, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type {
  ChannelChanged,
  ChannelOverride,
  CustomerStatusChanged,
  LocalItemChanged,
  LoyaltyEntry,
  PromotionLifecycle,
  StockLevelChanged,
} from '@omnimall/contracts';
import type { Condition, Reward } from '@omnimall/pricing';
import { itemId } from '../src/domain/trading';
import { cartService } from '../src/main';
import type { CartSettings } from '../src/settings';

/** A running cart as tests see it: the kit's RunningService with what the cart exposes. */
export type CartInstance = Awaited<ReturnType<typeof cartService.start>>;

type Payload<T> = Omit<T, 'envelope'>;

export class Simulator {
  private versions = new Map<string, number>();
  private constructor(readonly rt: ServiceRuntime) {}

  static async start(): Promise<Simulator> {
    const rt = await ServiceRuntime.start({
      config: testConfig('sim'),
      produces: [
        'identity.customer-status',
        'identity.consent-changed',
        'identity.identity-linked',
        'identity.customer-merged',
        'identity.data-request',
        'channels.channel-changed',
        'catalog.local-item',
        'inventory.stock-level',
      ],
    });
    return new Simulator(rt);
  }

  /** The next aggregateVersion of one aggregate (or an explicit one, to replay or reorder). */
  private version(key: string, explicit?: number): number {
    const v = explicit ?? (this.versions.get(key) ?? 0) + 1;
    this.versions.set(key, Math.max(v, this.versions.get(key) ?? 0));
    return v;
  }

  async channel(code: string, over: Partial<Payload<ChannelChanged>> = {}, version?: number): Promise<number> {
    const v = this.version(`ch:${code}`, version);
    await this.rt.publisher.publish([
      newEvent(
        'channels.channel-changed',
        { type: 'channel.changed', producer: 'channels', aggregateId: code, aggregateVersion: v },
        channelPayload(code, over),
      ),
    ]);
    return v;
  }

  async item(channel: string, sku: string, over: Partial<Payload<LocalItemChanged>> = {}, version?: number): Promise<number> {
    const v = this.version(`item:${channel}:${sku}`, version);
    await this.rt.publisher.publish([
      newEvent(
        'catalog.local-item',
        {
          type: 'local-item.changed',
          producer: 'catalog-sync',
          aggregateId: itemId(channel, sku),
          aggregateVersion: v,
          sourceChannel: channel,
        },
        {
          channel,
          sku,
          productId: `p-${sku}`,
          status: 'listed',
          title: `Item ${sku}`,
          priceMinor: 1000,
          currency: 'EUR',
          taxInclusive: true,
          barredRegions: [],
          masterVersion: 1,
          sellerId: 'seller-1',
          ...over,
        },
      ),
    ]);
    return v;
  }

  /** Publishes a channel's stock level of an SKU and returns the exact event (publish it again to replay it). */
  async stock(channel: string, sku: string, over: Partial<Payload<StockLevelChanged>> = {}, version?: number) {
    const event = newEvent(
      'inventory.stock-level',
      {
        type: 'stock.level_changed',
        producer: 'inventory',
        aggregateId: itemId(channel, sku),
        aggregateVersion: this.version(`stock:${channel}:${sku}`, version),
        sourceChannel: channel,
      },
      { channel, sku, availableQuantity: 10, status: 'in_stock', location: null, rule: 'shared_pool', sellerId: 'seller-1', ...over },
    );
    await this.rt.publisher.publish([event]);
    return event;
  }

  async customer(customerId: string, over: Partial<Payload<CustomerStatusChanged>> = {}, version?: number): Promise<number> {
    const v = this.version(`cu:${customerId}`, version);
    await this.rt.publisher.publish([
      newEvent(
        'identity.customer-status',
        { type: 'customer.status-changed', producer: 'identity', aggregateId: customerId, aggregateVersion: v },
        {
          customerId,
          status: 'active',
          reason: null,
          until: null,
          loyaltyTier: 'basic',
          verified: false,
          dataRegion: 'EU',
          change: 'registered',
          ...over,
        },
      ),
    ]);
    return v;
  }

  /**
   * Publishes a customer's consents on one channel (ConsentChanged, full state: marketing as given, the
   * others withheld) and returns the exact event (publish it again to replay it).
   */
  async consent(customerId: string, channel: string, marketing: boolean, changedAt = Date.now()) {
    const event = newEvent(
      'identity.consent-changed',
      {
        type: 'customer.consent_changed',
        producer: 'identity',
        aggregateId: customerId,
        aggregateVersion: this.version(`cu:${customerId}`),
        sourceChannel: channel,
      },
      { customerId, channel, marketing, analytics: false, personalisation: false, source: 'settings_page', changedAt },
    );
    await this.rt.publisher.publish([event]);
    return event;
  }

  /** Publishes an IdentityLinked and returns the exact event, so a test can publish it again (a replay). */
  linkedEvent(customerId: string, deviceId: string, channel: string) {
    return newEvent(
      'identity.identity-linked',
      {
        type: 'identity.linked',
        producer: 'identity',
        aggregateId: customerId,
        aggregateVersion: this.version(`cu-link:${customerId}`),
        sourceChannel: channel,
      },
      { customerId, identityType: 'device', externalId: deviceId, channel },
    );
  }

  mergedEvent(sourceCustomerId: string, targetCustomerId: string) {
    return newEvent(
      'identity.customer-merged',
      {
        type: 'customer.merged',
        producer: 'identity',
        aggregateId: targetCustomerId,
        aggregateVersion: this.version(`cu-merge:${targetCustomerId}`),
      },
      { sourceCustomerId, targetCustomerId, mergedBy: 'admin-1' },
    );
  }

  /** A DataSubjectRequest as identity publishes it once the request is carried out (publish it to deliver). */
  dataRequestEvent(customerId: string, kind: 'erasure' | 'export' = 'erasure') {
    return newEvent(
      'identity.data-request',
      {
        type: `customer.${kind}`,
        producer: 'identity',
        aggregateId: customerId,
        aggregateVersion: this.version(`cu-dsr:${customerId}`),
      },
      { requestId: uniqueName('dsr'), customerId, kind, requestedBy: 'admin-1', completedAt: Date.now() },
    );
  }

  stop(): Promise<void> {
    return this.rt.stop();
  }
}

/** What a test says of a promotion; the rest of its definition is fixed (cart level, stack, each line, no code). */
export interface PromotionSpec {
  startsAt: number;
  endsAt?: number | null;
  channels: string[] | null;
  reward: Reward;
  /** The SKUs its condition names (line.sku in); with `condition`, both must hold. */
  skus?: string[];
  condition?: Condition;
  level?: 'catalogue' | 'cart';
  overrides?: ChannelOverride[];
}

/** Stands in for the promotions service: its definition, lifecycle and loyalty events on the real topics. */
export class PromotionsSimulator {
  /** The promotions defined and not withdrawn yet, with their spec and version. */
  readonly live = new Map<string, { spec: PromotionSpec; version: number }>();
  private constructor(readonly rt: ServiceRuntime) {}

  static async start(): Promise<PromotionsSimulator> {
    const rt = await ServiceRuntime.start({
      config: testConfig('promotions-sim'),
      produces: ['promotions.definition', 'promotions.promotion-lifecycle', 'promotions.loyalty-entry'],
    });
    return new PromotionsSimulator(rt);
  }

  /** The PromotionDefinition of a spec (publish it with `publish`). */
  definitionEvent(id: string, spec: PromotionSpec, version = 1, withdrawn = false) {
    const conditions: Condition[] = [
      ...(spec.skus ? [{ field: 'line.sku' as const, op: 'in' as const, value: spec.skus }] : []),
      ...(spec.condition ? [spec.condition] : []),
    ];
    const rule = {
      level: spec.level ?? 'cart',
      priority: 0,
      stacking: 'stack',
      condition: conditions.length === 0 ? null : conditions.length === 1 ? conditions[0] : { all: conditions },
      reward: spec.reward,
      allocation: { kind: 'each_line' },
      code: false,
      campaignId: null,
    };
    return newEvent(
      'promotions.definition',
      { type: 'promotion.defined', producer: 'promotions', aggregateId: id, aggregateVersion: version },
      {
        promotionId: id,
        version,
        name: `promo ${id}`,
        rule: JSON.stringify(rule),
        startsAt: spec.startsAt,
        endsAt: spec.endsAt ?? null,
        channels: spec.channels,
        overrides: spec.overrides ?? [],
        exhausted: false,
        withdrawn,
      },
    );
  }

  /** Publishes a new promotion's definition (version 1); returns its id. */
  async define(spec: PromotionSpec): Promise<string> {
    const id = uniqueName('promo');
    await this.publish(this.definitionEvent(id, spec));
    this.live.set(id, { spec, version: 1 });
    return id;
  }

  /** Withdraws every live promotion (the next version, withdrawn); returns their ids and withdrawn versions. */
  async withdrawAll(): Promise<[string, number][]> {
    const out: [string, number][] = [];
    for (const [id, { spec, version }] of this.live) {
      await this.publish(this.definitionEvent(id, spec, version + 1, true));
      out.push([id, version + 1]);
    }
    this.live.clear();
    return out;
  }

  /** A `started` lifecycle event, published; returns it (publish it again to replay it). */
  async started(id: string, version: number, channels: string[], skus: string[], notReady: string[] = []) {
    const payload: Omit<PromotionLifecycle, 'envelope'> = {
      promotionId: id,
      name: `promo ${id}`,
      phase: 'started',
      channels,
      startsAt: Date.now(),
      endsAt: null,
      version,
      notReady,
      skus,
    };
    const event = newEvent(
      'promotions.promotion-lifecycle',
      { type: 'promotion.started', producer: 'promotions', aggregateId: id, aggregateVersion: version },
      payload,
    );
    await this.publish(event);
    return event;
  }

  /** One loyalty ledger entry of a customer, at the ledger's `version`. */
  async loyalty(customerId: string, after: { balance: number; tier: string }, version: number): Promise<void> {
    const payload: Omit<LoyaltyEntry, 'envelope'> = {
      customerId,
      entryId: uniqueName('entry'),
      kind: 'earn',
      points: after.balance,
      balance: after.balance,
      held: 0,
      tier: after.tier,
      source: 'order:o-1',
      channel: null,
    };
    await this.publish(
      newEvent(
        'promotions.loyalty-entry',
        { type: 'loyalty.entry', producer: 'promotions', aggregateId: customerId, aggregateVersion: version },
        payload,
      ),
    );
  }

  async publish(event: Parameters<ServiceRuntime['publisher']['publish']>[0][number]): Promise<void> {
    await this.rt.publisher.publish([event]);
  }

  stop(): Promise<void> {
    return this.rt.stop();
  }
}

/**
 * A cart instance for tests: its own database unless `dbName` is shared, its own consumer groups
 * (from the end of each topic) unless `groups` is shared (two instances in one group: pass the same
 * testGroups() to both).
 */
export async function startTestCart(
  opts: {
    dbName?: string;
    groups?: GroupSettings;
    config?: Partial<PlatformConfig>;
    gateCacheMs?: number;
    settings?: Partial<CartSettings>;
  } = {},
): Promise<CartInstance> {
  return cartService.start({
    config: testConfig('cart', { ...(opts.dbName ? { dbName: opts.dbName } : {}), ...opts.config }),
    groups: opts.groups ?? testGroups(),
    deps: { gateCacheMs: opts.gateCacheMs, settings: opts.settings },
  });
}

/** A collection of the cart's database, for a test that writes behind the service's back (a crash's leftovers, a stray change). */
export function rawCollection(cart: CartInstance, name: 'carts' | 'customers' | 'channels' | 'local_items' | 'stream_tickets') {
  return cart.runtime.db.collection<{ _id: string; [field: string]: unknown }>(name);
}

/** Waits until the cart's consent projection holds a customer's consent on a channel changed at `changedAt` (or later). */
export const consentKept = (cart: CartInstance, customerId: string, channel: string, changedAt: number) =>
  waitFor(
    async () => ((await cart.store.consents.get(customerId, channel))?.changedAt ?? 0) >= changedAt,
    `${customerId}'s consent on ${channel}`,
  );

/** Waits until the cart's projections hold at least these versions. */
export async function projected(
  cart: CartInstance,
  what: { channel?: [string, number]; item?: [string, string, number]; customer?: [string, number]; stock?: [string, string, number] },
): Promise<void> {
  const { store } = cart;
  const at = async (table: { get(id: string): Promise<{ version: number } | null> }, id: string, version: number) =>
    waitFor(async () => ((await table.get(id))?.version ?? 0) >= version, `${id} v${version} projected`);
  if (what.channel) await at(store.channels, what.channel[0], what.channel[1]);
  if (what.item) await at(store.items, itemId(what.item[0], what.item[1]), what.item[2]);
  if (what.customer) await at(store.customers, what.customer[0], what.customer[1]);
  if (what.stock) await at(store.stock, itemId(what.stock[0], what.stock[1]), what.stock[2]);
}

export interface SseEvent {
  event: string;
  id?: string;
  data: Record<string, unknown>;
  receivedAt: number;
}

/** A minimal SSE client on node:http: collects the parsed events of one stream, and when the server ended it. */
export class SseClient {
  readonly events: SseEvent[] = [];
  /** When the server ended the stream (local clock); undefined while it is open. */
  endedAt?: number;
  private req?: ClientRequest;
  private listeners: ((e: SseEvent) => void)[] = [];

  static open(baseUrl: string, headers: Record<string, string>, query = ''): Promise<SseClient> {
    const client = new SseClient();
    return new Promise((resolve, reject) => {
      client.req = httpGet(
        `${baseUrl}/cart/stream${query}`,
        { headers: { accept: 'text/event-stream', ...headers }, agent: false },
        (res) => {
          if (res.statusCode !== 200) {
            let body = '';
            res.on('data', (d) => (body += String(d)));
            res.on('end', () => reject(new Error(`stream answered ${res.statusCode}: ${body}`)));
            return;
          }
          res.setEncoding('utf8');
          res.on('end', () => (client.endedAt = Date.now()));
          let buf = '';
          res.on('data', (chunk: string) => {
            buf += chunk;
            let at: number;
            while ((at = buf.indexOf('\n\n')) >= 0) {
              const frame = buf.slice(0, at);
              buf = buf.slice(at + 2);
              const e: Partial<SseEvent> = { event: 'message', receivedAt: Date.now() };
              let data = '';
              for (const line of frame.split('\n')) {
                if (line.startsWith('event: ')) e.event = line.slice(7);
                else if (line.startsWith('id: ')) e.id = line.slice(4);
                else if (line.startsWith('data: ')) data += line.slice(6);
              }
              if (!data) continue;
              e.data = JSON.parse(data) as Record<string, unknown>;
              client.events.push(e as SseEvent);
              client.listeners.forEach((l) => l(e as SseEvent));
              if (e.event === 'ready') resolve(client);
            }
          });
        },
      );
      client.req.on('error', reject);
    });
  }

  onEvent(fn: (e: SseEvent) => void): void {
    this.listeners.push(fn);
  }

  /** The first event named `name`, if any. */
  find(name: string): SseEvent | undefined {
    return this.events.find((e) => e.event === name);
  }

  changes(): SseEvent[] {
    return this.events.filter((e) => e.event === 'cart-changed');
  }

  close(): void {
    this.req?.destroy();
  }
}

/** POST /cart/stream-tickets with these headers: the raw answer (status, body, headers). */
export async function requestTicket(baseUrl: string, headers: Record<string, string>, query = ''): Promise<Response> {
  return fetch(`${baseUrl}/cart/stream-tickets${query}`, { method: 'POST', headers });
}

/** A stream ticket for these headers (the test fails if none is issued). */
export async function ticketFor(
  baseUrl: string,
  headers: Record<string, string>,
): Promise<{ ticket: string; expiresAt: string; cartId: string; channel: string | null }> {
  const r = await requestTicket(baseUrl, headers);
  if (r.status !== 201) throw new Error(`no ticket: ${r.status} ${await r.text()}`);
  return (await r.json()) as { ticket: string; expiresAt: string; cartId: string; channel: string | null };
}

/**
 * A customer's bearer token as identity issues it at a login through `channel`'s app (its `channel`
 * claim; null: bound to no channel), with a session id when `sid` is given.
 */
export async function customerToken(
  sub: string,
  channel: string | null,
  opts: { sid?: string; ttlSeconds?: number } = {},
): Promise<string> {
  const { signer } = await testTokens();
  const token = await signer.sign(
    { sub, kind: 'customer', roles: [], channels: [], channel, ...(opts.sid ? { sid: opts.sid } : {}) },
    opts.ttlSeconds,
  );
  return `Bearer ${token}`;
}

/** The headers of a customer logged in on a channel: a token bound to it, and x-channel-code confirming it. */
export async function asCustomer(sub: string, channel: string, opts: { sid?: string } = {}): Promise<Record<string, string>> {
  return { authorization: await customerToken(sub, channel, opts), 'x-channel-code': channel };
}

/** The headers of an anonymous device of a channel: the device token identity issues (POST /devices). */
export async function asDevice(deviceId: string, channel: string, ttlSeconds = 3600): Promise<Record<string, string>> {
  const { signer } = await testTokens();
  return { 'x-device-token': await signer.signDevice({ deviceId, channel }, ttlSeconds) };
}
