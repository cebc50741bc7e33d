/**
 * What the `monitor-after-bulk` / `monitor-cpu` rows (bench/monitor-bulk.ts) and the e2e test
 * bulk-while-tracking e2e test (not landed while the monitor misses it) stand on: the five services as processes (e2e/support/stack.ts), five
 * active channels, a seller with N products seeded straight into catalog-sync's database (seeding is
 * set-up, not measured), the bulk sync through POST /bulk-sync in jobs, the high-priority changes made
 * meanwhile (a customer's standing through identity: `identity.customer-status`; a cart write:
 * `cart.cart-changed`), and what the monitor says about them.
 *
 * The monitor runs as in production: SYNC_TRACK_CORRELATION_PREFIX is empty, so it tracks every event,
 * the bulk's included (a bulk job's events carry correlation ids of their own, not the request's: with
 * the e2e prefix the monitor would skip the whole bulk, and nothing here would load it).
 *
 * "Tracked" means what an operator can read: GET /propagation/events?correlationId= answers the
 * event with no expected consumer service lagging (each one's successful ack, applied or skipped_duplicate, is there). The moment is this
 * process's clock when that answer arrived (the services stamp occurredAt with the same machine clock).
 */
import { benchProduct } from '../../catalog-sync/bench/bench-products';
import mongoose from 'mongoose';
import {
  Omnimall,
  until,
  type ChannelCredential,
  type CustomerSession,
  type MonitorEvent,
  type Reply,
} from '../../../e2e/support/omnimall';
import { startStack, type Stack } from '../../../e2e/support/stack';

const KINDS = ['web', 'mobile_app', 'mini_app', 'kiosk', 'web'] as const;

export interface BulkPlatform {
  stack: Stack;
  api: Omnimall;
  admin: { id: string; token: string };
  seller: { id: string; token: string };
  channels: string[];
  /** The writing channel's app key (channels[0]). */
  app: ChannelCredential;
  /** A SKU every channel sells (the cart writes change its quantity). */
  sku: string;
  /** Writes to its cart (one line of `sku` on channels[0]). */
  writer: CustomerSession;
  /** Banned and reinstated in turn. */
  victim: CustomerSession;
}

/** The platform with the monitor tracking everything; channels, seller, a sold SKU and two customers. */
export async function startBulkPlatform(): Promise<BulkPlatform> {
  const stack = await startStack({ env: { SYNC_TRACK_CORRELATION_PREFIX: '' } });
  try {
    const api = new Omnimall(stack);
    const tag = stack.tag;
    const admin = await api.staffLogin(stack.admin.email, stack.admin.password);
    const channels = KINDS.map((k, i) => `${k.replace('_', '')}${i}-${tag}`.slice(0, 32));
    const mgr = await api.createStaff(admin.token, ['channel_manager'], channels);
    const manager = await api.staffLogin(mgr.email, mgr.password);
    for (const [i, code] of channels.entries()) await api.registerChannel(admin.token, code, KINDS[i], manager.id);
    for (const code of channels) await api.activateChannel(admin.token, manager.token, code);
    const s = await api.createStaff(admin.token, ['seller'], channels);
    const seller = await api.staffLogin(s.email, s.password);
    const app = await api.channelKey(admin.token, channels[0]);
    // A product on every channel: assign() waits until catalog-sync knows each channel (bulk requests need that too).
    const sku = `mug-${tag}-350`;
    await api.createProduct(admin.token, `mug-${tag}`, [sku]);
    for (const code of channels) await api.assign(admin.token, code, `mug-${tag}`, [{ sku, amountMinor: 1299 }]);
    await Promise.all([api.identityKnowsChannel(admin.token, channels[0]), api.cartSells(app, sku)]);
    const writer = await api.registerCustomer(app);
    await api.expect(200, 'cart', 'post', '/cart/lines', { token: writer.token, channel: app.code, body: { sku, quantity: 1 } });
    const victim = await api.registerCustomer(app);
    return { stack, api, admin, seller, channels, app, sku, writer, victim };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** Inserts `n` products of the seller into catalog-sync's database (as catalog-bulk-sync seeds); their ids. */
export async function seedProducts(p: BulkPlatform, n: number): Promise<string[]> {
  const client = new mongoose.mongo.MongoClient(process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017');
  await client.connect();
  try {
    const products = client.db(p.stack.services['catalog-sync'].db).collection<{ _id: string }>('products');
    const ids = Array.from({ length: n }, (_, i) => `bulk-${p.stack.tag}-${i}`);
    const now = new Date();
    for (let i = 0; i < n; i += 1000)
      await products.insertMany(ids.slice(i, i + 1000).map((id, j) => benchProduct(id, p.seller.id, i + j, now)));
    return ids;
  } finally {
    await client.close();
  }
}

export interface BulkResult {
  seconds: number;
  jobs: number;
  products: number;
  listed: number;
  failed: number;
  /** Every product synced (false when the budget cut it short). */
  complete: boolean;
}

/**
 * The bulk sync of `ids` to every channel in jobs of `slice` products, one after the other (each
 * submitted, then polled every 20 ms until it succeeded), as catalog-bulk-sync runs it. No job starts
 * after `budgetMs`.
 */
export async function bulkSync(p: BulkPlatform, ids: string[], slice: number, budgetMs: number): Promise<BulkResult> {
  const t0 = Date.now();
  const r: BulkResult = { seconds: 0, jobs: 0, products: 0, listed: 0, failed: 0, complete: false };
  for (let i = 0; i < ids.length; i += slice) {
    if (Date.now() - t0 > budgetMs) break;
    const part = ids.slice(i, i + slice);
    const sub = await p.api.expect(202, 'catalog-sync', 'post', '/bulk-sync', {
      token: p.seller.token,
      body: { channels: p.channels, productIds: part },
    });
    const job = await until(
      `bulk job ${sub.body.id}`,
      async () => {
        const j = (await p.api.expect(200, 'catalog-sync', 'get', `/bulk-sync/jobs/${sub.body.id}`, { token: p.seller.token })).body;
        if (j.state === 'failed') throw new Error(`bulk sync job failed: ${JSON.stringify(j.error)}`);
        return j.state === 'succeeded' ? j : null;
      },
      Math.max(budgetMs - (Date.now() - t0), 0) + 120_000,
      20,
    );
    r.jobs++;
    r.products += part.length;
    r.listed += job.listed;
    r.failed += job.failedCount;
  }
  r.seconds = (Date.now() - t0) / 1000;
  r.complete = r.products === ids.length;
  return r;
}

/** One high-priority change made during the bulk. */
export interface Change {
  kind: 'standing' | 'cart';
  topic: 'identity.customer-status' | 'cart.cart-changed';
  correlationId: string;
  /** The causing request's reply (sentAt / at on this process's clock). */
  reply: Reply;
}

/** Alternately a standing change (ban / reinstate of the victim) and a cart write (the writer's quantity). */
export class HighPriorityChanges {
  private n = 0;
  private banned = false;
  constructor(private readonly p: BulkPlatform) {}

  async next(): Promise<Change> {
    const { api } = this.p;
    const i = this.n++;
    const correlationId = api.newCorrelationId(i % 2 ? 'cart' : 'standing');
    if (i % 2 === 0) {
      const action = this.banned ? 'reinstate' : 'ban';
      const reply = await api.expect(200, 'identity', 'post', `/admin/customers/${this.p.victim.id}/${action}`, {
        token: this.p.admin.token,
        body: { reason: 'bench: standing change during a bulk sync' },
        correlationId,
      });
      this.banned = !this.banned;
      return { kind: 'standing', topic: 'identity.customer-status', correlationId, reply };
    }
    const reply = await api.expect(200, 'cart', 'put', `/cart/lines/${this.p.sku}`, {
      token: this.p.writer.token,
      channel: this.p.app.code,
      body: { quantity: (i % 9) + 1 },
      correlationId,
    });
    return { kind: 'cart', topic: 'cart.cart-changed', correlationId, reply };
  }
}

/** What the monitor showed of a change once every expected consumer service had acknowledged it. */
export interface Tracked {
  change: Change;
  event: MonitorEvent;
  /** This process's clock when the monitor's answer showing it complete arrived. */
  trackedAt: number;
  /** trackedAt − occurredAt: the outside measurement. */
  trackedLagMs: number;
  /** The monitor's own figure: the latest of the expected services' first successful acks, − occurredAt. */
  monitorLagMs: number;
}

/**
 * Per expected service, its first successful ack (applied, or skipped_duplicate: what the monitor
 * counts as done, domain/propagation.ts isSuccess); undefined while it has none.
 */
export function firstAcks(e: MonitorEvent): Map<string, MonitorEvent['acks'][number] | undefined> {
  return new Map(
    e.expected.map((s) => [
      s,
      e.acks
        .filter((a) => a.service === s && (a.outcome === 'applied' || a.outcome === 'skipped_duplicate'))
        .reduce<MonitorEvent['acks'][number] | undefined>((f, a) => (!f || a.appliedAt < f.appliedAt ? a : f), undefined),
    ]),
  );
}

let polling = 0;

/** A change the monitor did not show complete in time, with what it showed last (for the report). */
export interface NotTracked {
  change: Change;
  last: MonitorEvent | undefined;
  /** When polling gave up − occurredAt (− the request's send time when the event was never seen): the lag is more. */
  atLeastMs: number;
}

/**
 * Polls the monitor (by correlation id, every 50 ms, slower while many are polled at once) until it
 * shows the change's event with every expected service's successful ack; NotTracked after `timeoutMs`
 * or once `stop()` says so.
 */
export async function whenTracked(
  p: BulkPlatform,
  change: Change,
  timeoutMs: number,
  stop = (): boolean => false,
): Promise<Tracked | NotTracked> {
  const deadline = Date.now() + timeoutMs;
  let last: MonitorEvent | undefined;
  polling++;
  try {
    while (Date.now() < deadline && !stop()) {
      const r = await p.api.call(
        'sync-monitor',
        'get',
        `/propagation/events?limit=20&correlationId=${encodeURIComponent(change.correlationId)}`,
        {
          token: p.admin.token,
        },
      );
      if (r.status !== 200) throw new Error(`monitor: ${r.status} ${JSON.stringify(r.body)}`);
      const e = (r.body.events as MonitorEvent[]).find((x) => x.topic === change.topic);
      last = e ?? last;
      const acks = e ? [...firstAcks(e).values()] : [];
      if (e && e.expected.length && acks.every(Boolean)) {
        const latest = Math.max(...acks.map((a) => a!.appliedAt));
        return { change, event: e, trackedAt: r.at, trackedLagMs: r.at - e.occurredAt, monitorLagMs: latest - e.occurredAt };
      }
      await new Promise((ok) => setTimeout(ok, 50 * Math.max(1, Math.ceil(polling / 4))));
    }
    return { change, last, atLeastMs: Date.now() - (last?.occurredAt ?? change.reply.sentAt) };
  } finally {
    polling--;
  }
}

export const isTracked = (t: Tracked | NotTracked): t is Tracked => 'trackedAt' in t;

export interface HealthView {
  status: 'current' | 'degraded';
  behindMs: number;
  groups: Array<{ group: string; behindMs: number }>;
  trackedEvents: number;
  openEvents: number;
  snapshot: { at: number | null; bytes: number; events: number };
}

export async function trackingHealth(p: BulkPlatform): Promise<HealthView> {
  return (await p.api.expect(200, 'sync-monitor', 'get', '/tracking/health', { token: p.admin.token })).body as HealthView;
}

/**
 * The high-priority envelope groups and the everyday acks group (the normal-priority group and the
 * bulk work's acks lane, which may fall behind for its own SLA, are left out).
 */
export const prioritised = (h: HealthView): HealthView['groups'] =>
  h.groups.filter((g) => !g.group.includes('track-normal') && !g.group.includes('acks-bulk'));

/** What the monitor's /metrics counts so far: records its groups handled, re-deliveries, escalations. */
export interface MonitorCounters {
  /** Envelopes the monitor's envelope groups applied (tracked events). */
  envelopes: number;
  /** Acks (sync.applied records) its acks group handled. */
  acks: number;
  /** Acks of bulk work (sync.applied.bulk records) its bulk acks group handled. */
  bulkAcks: number;
  /** omnimall_sync_retries_total, by outcome. */
  retries: Record<string, number>;
  escalations: number;
}

export async function monitorConsumed(p: BulkPlatform): Promise<MonitorCounters> {
  const text = await (await fetch(`${p.stack.url('sync-monitor')}/metrics`)).text();
  const out: MonitorCounters = { envelopes: 0, acks: 0, bulkAcks: 0, retries: {}, escalations: 0 };
  for (const line of text.split('\n')) {
    const series = line.slice(0, Math.max(0, line.indexOf('{')));
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (series === 'omnimall_events_consumed_total' && labels.consumer?.startsWith('sync-monitor.')) {
      if (labels.topic === 'sync.applied') out.acks += value;
      else if (labels.topic === 'sync.applied.bulk') out.bulkAcks += value;
      else if (labels.outcome === 'applied') out.envelopes += value;
    } else if (series === 'omnimall_sync_retries_total') out.retries[labels.outcome] = (out.retries[labels.outcome] ?? 0) + value;
    else if (series === 'omnimall_sync_escalations_total') out.escalations += value;
  }
  return out;
}

/** dbStats of the monitor's database, and its collections' document counts. */
export async function monitorDatabase(p: BulkPlatform): Promise<{ dataSize: number; indexSize: number; counts: Record<string, number> }> {
  const client = new mongoose.mongo.MongoClient(process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017');
  await client.connect();
  try {
    const db = client.db(p.stack.services['sync-monitor'].db);
    const stats = await db.command({ dbStats: 1 });
    const counts: Record<string, number> = {};
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray())
      counts[name] = await db.collection(name).countDocuments();
    return { dataSize: Number(stats.dataSize ?? 0), indexSize: Number(stats.indexSize ?? 0), counts };
  } finally {
    await client.close();
  }
}
