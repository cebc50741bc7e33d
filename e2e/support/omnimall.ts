/**
 * A small client of the five services' HTTP APIs, as a channel app, an admin and the sync-monitor's
 * reader would use them. Every request carries an `x-correlation-id` starting with the run's tag: the
 * services copy it into the events the request causes, and the monitor tracks only those.
 */
import { randomBytes } from 'node:crypto';
import type { ServiceName, Stack } from './stack';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface Reply<T = any> {
  status: number;
  body: T;
  /** Local clock (Date.now(), the same clock the services stamp events with) just before sending. */
  sentAt: number;
  /** Local clock when the whole response had been read. */
  at: number;
  correlationId: string;
}

/** A channel app's API key (issued by channels to an admin or the channel's manager, shown once). */
export interface ChannelCredential {
  code: string;
  keyId: string;
  apiKey: string;
}

/** A customer logged in through a channel app: the access token is bound to that channel. */
export interface CustomerSession {
  id: string;
  email: string;
  password: string;
  token: string;
  refreshToken: string;
  channel: string;
}

/** An anonymous device of a channel app (identity's POST /devices): its token reaches the device's cart. */
export interface Device {
  deviceId: string;
  deviceToken: string;
  channel: string;
}

export interface CallOptions {
  token?: string;
  /** x-channel-code alone (a staff token's channel, or a header checked against a customer token's). */
  channel?: string;
  /** x-channel-code + x-channel-key: the request comes from that channel's app. */
  credential?: ChannelCredential;
  /** x-device-token: an anonymous device's cart. */
  deviceToken?: string;
  body?: unknown;
  correlationId?: string;
  headers?: Record<string, string>;
  /** Read the status and headers only (an event stream answers 200 and never ends). */
  statusOnly?: boolean;
}

export const sleepUntil = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it answers something truthy or the deadline passes (then throws naming `what`). */
export async function until<T>(
  what: string | (() => string),
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    await sleepUntil(everyMs);
  }
}

/** The body of POST /channels for a channel of `kind` managed by `managerId` (an admin registers it). */
export function channelRegistration(code: string, kind: string, managerId: string, extra: Record<string, unknown> = {}) {
  return {
    code,
    name: `E2E ${kind} ${code}`,
    kind,
    branding: { logoUrl: 'https://cdn.example/logo.svg', colors: { primary: '#112233' }, fonts: { heading: 'Inter', body: 'Inter' } },
    country: 'DE',
    region: 'eu',
    languages: ['en'],
    currencies: ['EUR'],
    manager: { accountId: managerId, roles: ['channel_manager'] },
    allowedDataRegions: ['eu'],
    ...extra,
  };
}

export class Omnimall {
  private seq = 0;
  constructor(readonly stack: Pick<Stack, 'tag' | 'url' | 'admin'>) {}

  newCorrelationId(what: string): string {
    return `${this.stack.tag}-${what}-${++this.seq}-${randomBytes(3).toString('hex')}`;
  }

  async call<T = any>(service: ServiceName, method: string, path: string, o: CallOptions = {}): Promise<Reply<T>> {
    const correlationId = o.correlationId ?? this.newCorrelationId('req');
    const headers: Record<string, string> = { 'x-correlation-id': correlationId, ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.channel) headers['x-channel-code'] = o.channel;
    if (o.credential) Object.assign(headers, { 'x-channel-code': o.credential.code, 'x-channel-key': o.credential.apiKey });
    if (o.deviceToken) headers['x-device-token'] = o.deviceToken;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const sentAt = Date.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 15_000);
    let r: Response;
    let text = '';
    try {
      r = await fetch(`${this.stack.url(service)}${path}`, {
        method: method.toUpperCase(), // fetch sends `patch` as written, and servers answer 400 to it
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: abort.signal,
      });
      if (o.statusOnly && r.ok) abort.abort();
      else text = await r.text();
    } finally {
      clearTimeout(timer);
    }
    const at = Date.now();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: r.status, body, sentAt, at, correlationId };
  }

  /** Calls and insists on `status`; the error names the route and the whole answer. */
  async expect<T = any>(status: number, service: ServiceName, method: string, path: string, o: CallOptions = {}): Promise<Reply<T>> {
    const r = await this.call<T>(service, method, path, o);
    if (r.status !== status)
      throw new Error(`${method.toUpperCase()} ${service}${path}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  }

  // ---- identity ----------------------------------------------------------------------------------

  async staffLogin(email: string, password: string): Promise<{ id: string; token: string }> {
    const r = await this.expect(200, 'identity', 'post', '/auth/staff/login', { body: { email, password } });
    return { id: r.body.staff.id, token: r.body.tokens.accessToken };
  }

  async createStaff(adminToken: string, roles: string[], channels: string[]): Promise<{ id: string; email: string; password: string }> {
    const email = `staff+${randomBytes(4).toString('hex')}@omnimall.test`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const r = await this.expect(201, 'identity', 'post', '/staff', { token: adminToken, body: { email, password, roles, channels } });
    return { id: r.body.id, email, password };
  }

  /**
   * Registers a customer through a channel app (x-channel-code + x-channel-key): the access token is
   * bound to that channel. The email is unique to this call; `displayName` defaults to a fixed name.
   */
  async registerCustomer(
    cred: ChannelCredential,
    opts: { displayName?: string; dataRegion?: string; email?: string } = {},
  ): Promise<CustomerSession> {
    const email = opts.email ?? `customer+${randomBytes(4).toString('hex')}@omnimall.test`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const r = await this.expect(201, 'identity', 'post', '/auth/register', {
      credential: cred,
      body: { email, password, dataRegion: opts.dataRegion ?? 'eu', displayName: opts.displayName ?? 'E2E Customer' },
    });
    return sessionOf(r.body, email, password, cred.code);
  }

  /** Logs a customer in through a channel app: one global account, a token bound to this channel. */
  async login(cred: ChannelCredential, email: string, password: string): Promise<CustomerSession> {
    const r = await this.expect(200, 'identity', 'post', '/auth/login', { credential: cred, body: { email, password } });
    return sessionOf(r.body, email, password, cred.code);
  }

  /** An anonymous device of the channel's app (POST /devices with the channel credential). */
  async device(cred: ChannelCredential): Promise<Device> {
    const r = await this.expect(201, 'identity', 'post', '/devices', { credential: cred });
    return { deviceId: r.body.deviceId, deviceToken: r.body.deviceToken, channel: cred.code };
  }

  /** Until identity has learnt the channel's residency rule from channels.channel-changed. */
  async identityKnowsChannel(staffToken: string, code: string): Promise<void> {
    await until(`identity to learn channel ${code}`, async () => {
      const r = await this.call('identity', 'get', `/channels/${code}/data-regions`, { token: staffToken });
      return r.status === 200 && r.body.source === 'channels';
    });
  }

  // ---- channels ----------------------------------------------------------------------------------

  async registerChannel(
    adminToken: string,
    code: string,
    kind: string,
    managerId: string,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await this.expect(201, 'channels', 'post', '/channels', { token: adminToken, body: channelRegistration(code, kind, managerId, extra) });
  }

  /** Issues an API key for the channel's apps (as an admin or the channel's manager). */
  async channelKey(staffToken: string, code: string): Promise<ChannelCredential> {
    const r = await this.expect(201, 'channels', 'post', `/channels/${code}/credentials`, { token: staffToken });
    return { code, keyId: r.body.keyId, apiKey: r.body.apiKey };
  }

  async transition(
    token: string,
    code: string,
    action: string,
    extra: Record<string, unknown> = {},
    correlationId?: string,
  ): Promise<Reply> {
    return this.expect(200, 'channels', 'post', `/channels/${code}/transitions`, { token, body: { action, ...extra }, correlationId });
  }

  /** draft → pending_approval → approved → onboarding → (checklist) → active, each step by whom the lifecycle requires. */
  async activateChannel(adminToken: string, managerToken: string, code: string): Promise<Reply> {
    await this.transition(managerToken, code, 'submit');
    await this.transition(adminToken, code, 'approve');
    await this.transition(managerToken, code, 'start_onboarding');
    for (const [token, item] of [
      [adminToken, 'approval'],
      [managerToken, 'handoff'],
      [managerToken, 'operational_readiness'],
    ] as const)
      await this.expect(200, 'channels', 'put', `/channels/${code}/checklists/onboarding/${item}`, { token, body: {} });
    const r = await this.transition(adminToken, code, 'activate');
    if (r.body.state !== 'active' || !r.body.commerceAllowed)
      throw new Error(`channel ${code} not open for commerce: ${JSON.stringify(r.body)}`);
    return r;
  }

  // ---- catalog-sync ------------------------------------------------------------------------------

  async createProduct(token: string, id: string, skus: string[]): Promise<void> {
    await this.expect(201, 'catalog-sync', 'post', '/products', {
      token,
      body: {
        id,
        defaultLocale: 'en',
        title: { en: `E2E mug ${id}` },
        description: { en: 'Holds coffee on every channel' },
        category: 'kitchen/mugs',
        variants: skus.map((sku) => ({ sku, price: { amountMinor: 1000, currency: 'EUR' } })),
      },
    });
  }

  /** Assigns with shelf prices; waits until catalog-sync knows the channel (its projection is fed by events). */
  async assign(token: string, code: string, productId: string, prices: Array<{ sku: string; amountMinor: number }>): Promise<void> {
    await until(`catalog-sync to accept an assignment to ${code}`, async () => {
      const r = await this.call('catalog-sync', 'post', `/channels/${code}/assignments`, {
        token,
        body: { productId, skus: null, prices: prices.map((p) => ({ ...p, currency: 'EUR' })) },
      });
      if (r.status === 200) return true;
      if (r.status >= 500) throw new Error(`assignment: ${r.status} ${JSON.stringify(r.body)}`);
      return false;
    });
  }

  // ---- cart --------------------------------------------------------------------------------------

  /**
   * Until the cart sells `sku` on `channel` (the channel and the local item have reached its
   * projections), checked with an anonymous device cart so no customer's cart is touched.
   */
  async cartSells(cred: ChannelCredential, sku: string): Promise<void> {
    const device = await this.device(cred);
    await until(`cart to sell ${sku} on ${cred.code}`, async () => {
      const r = await this.call('cart', 'post', '/cart/lines', {
        deviceToken: device.deviceToken,
        body: { sku, quantity: 1 },
      });
      // Anything but the projections' lag (409 unknown channel, 422 item not sold yet) is worth reporting.
      if (r.status !== 200 && r.status !== 409 && r.status !== 422) throw new Error(`cart answered ${r.status} ${JSON.stringify(r.body)}`);
      return r.status === 200;
    });
  }

  // ---- sync-monitor ------------------------------------------------------------------------------

  /** The tracked events a request caused (newest first), once `ready` says they are complete enough. */
  async monitorEvents(
    adminToken: string,
    correlationId: string,
    ready: (events: MonitorEvent[]) => boolean,
    timeoutMs = 15_000,
  ): Promise<MonitorEvent[]> {
    return until(
      `the sync-monitor to track the events of ${correlationId}`,
      async () => {
        const r = await this.call(
          'sync-monitor',
          'get',
          `/propagation/events?limit=50&correlationId=${encodeURIComponent(correlationId)}`,
          { token: adminToken },
        );
        if (r.status !== 200) throw new Error(`monitor: ${r.status} ${JSON.stringify(r.body)}`);
        return ready(r.body.events) ? (r.body.events as MonitorEvent[]) : null;
      },
      timeoutMs,
      50,
    );
  }

  async monitorEvent(adminToken: string, eventId: string, ready: (e: MonitorEvent) => boolean, timeoutMs = 15_000): Promise<MonitorEvent> {
    return until(
      `the sync-monitor to track event ${eventId}`,
      async () => {
        const r = await this.call('sync-monitor', 'get', `/propagation/events/${eventId}`, { token: adminToken });
        if (r.status === 404) return null;
        if (r.status !== 200) throw new Error(`monitor: ${r.status} ${JSON.stringify(r.body)}`);
        return ready(r.body) ? (r.body as MonitorEvent) : null;
      },
      timeoutMs,
      50,
    );
  }
}

function sessionOf(body: any, email: string, password: string, credentialChannel: string): CustomerSession {
  const channel: string = body.channel ?? credentialChannel;
  if (channel !== credentialChannel) throw new Error(`a login through ${credentialChannel} answered channel ${channel}`);
  return { id: body.customer.id, email, password, token: body.tokens.accessToken, refreshToken: body.tokens.refreshToken, channel };
}

export interface MonitorAck {
  ackId: string;
  service: string;
  group: string;
  channel: string | null;
  appliedAt: number;
  lagMs: number;
  outcome: string;
  attempt: number;
}
export interface MonitorEvent {
  eventId: string;
  topic: string;
  type: string;
  aggregateId: string | null;
  sourceChannel: string | null;
  occurredAt: number;
  state: string;
  expected: string[];
  lagging: string[];
  acks: MonitorAck[];
}

/** The ack of one consumer group (this run's), applied. */
export function ackOf(e: MonitorEvent, groupPrefix: string): MonitorAck | undefined {
  return e.acks.find((a) => a.group.startsWith(groupPrefix) && a.outcome === 'applied');
}

/** The earliest applied ack of the groups whose names start with the prefix. */
export function firstAckOf(e: MonitorEvent, groupPrefix: string): MonitorAck | undefined {
  return e.acks
    .filter((a) => a.group.startsWith(groupPrefix) && a.outcome === 'applied')
    .reduce<MonitorAck | undefined>((first, a) => (!first || a.appliedAt < first.appliedAt ? a : first), undefined);
}

// ---- Server-Sent Events (GET /cart/stream) ---------------------------------------------------------

export interface SseEvent {
  event: string;
  id: string | null;
  data: any;
  /** Local clock when the frame was parsed. */
  receivedAt: number;
}

/**
 * A cart stream as a channel app would hold it. Frames are parsed as they arrive and time-stamped
 * then; `next` awaits the first frame (already received or still to come) matching a predicate.
 */
export class CartStream {
  private readonly frames: SseEvent[] = [];
  private waiters: Array<{ match: (e: SseEvent) => boolean; ok: (e: SseEvent) => void }> = [];
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, token: string, channel: string): Promise<CartStream> {
    const s = new CartStream();
    const r = await fetch(`${url}/cart/stream`, {
      headers: { authorization: `Bearer ${token}`, 'x-channel-code': channel, accept: 'text/event-stream' },
      signal: s.abort.signal,
    });
    if (r.status !== 200 || !r.body) throw new Error(`cart stream: ${r.status} ${await r.text()}`);
    s.done = s.read(r.body);
    await s.next((e) => e.event === 'ready', 10_000);
    return s;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        const receivedAt = Date.now();
        buf += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const raw = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const e: SseEvent = { event: 'message', id: null, data: null, receivedAt };
          const data: string[] = [];
          for (const line of raw.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'event') e.event = value;
            else if (field === 'id') e.id = value;
            else if (field === 'data') data.push(value);
          }
          if (!data.length) continue;
          try {
            e.data = JSON.parse(data.join('\n'));
          } catch {
            e.data = data.join('\n');
          }
          this.frames.push(e);
          this.waiters = this.waiters.filter((w) => (w.match(e) ? (w.ok(e), false) : true));
        }
      }
    } catch {
      // aborted by close()
    }
  }

  get received(): readonly SseEvent[] {
    return this.frames;
  }

  next(match: (e: SseEvent) => boolean, timeoutMs: number): Promise<SseEvent> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.ok !== resolve);
        fail(new Error(`no matching cart stream frame within ${timeoutMs} ms (got ${this.frames.map((f) => f.event).join(', ')})`));
      }, timeoutMs);
      const resolve = (e: SseEvent): void => {
        clearTimeout(timer);
        ok(e);
      };
      this.waiters.push({ match, ok: resolve });
    });
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
