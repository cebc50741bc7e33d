/**
 * What the audit tests share: an audit started on its own database and groups, reading only the topics a
 * test names (other suites share the broker), a producer standing in for the services, and tokens.
 */
import { newEvent, ServiceRuntime, type GroupSettings } from '@omnimall/service-kit';
import { bearer, channelPayload, ORDER_STATUS_DEFAULTS, testConfig, testGroups, uniqueName } from '@omnimall/service-kit/testing';
import { auditService, type AuditDeps } from '../src/main';
import type { AuditSettings } from '../src/settings';

export type AuditInstance = Awaited<ReturnType<typeof auditService.start>>;

/** The topics the audit tests write and read. */
export const TEST_TOPICS = new Set([
  'channels.channel-changed',
  'channels.channel-changed.dlq',
  'identity.data-request',
  'orders.order-status',
  'partner.order-status',
  'channels.partner-order-status',
  'platform.exception',
  'sync.escalation',
  'sync.notice',
]);

export async function startAudit(
  opts: { dbName?: string; groups?: GroupSettings; settings?: Partial<AuditSettings>; deps?: AuditDeps } = {},
): Promise<AuditInstance> {
  const svc = await auditService.start({
    config: testConfig('audit', opts.dbName ? { dbName: opts.dbName } : {}),
    groups: opts.groups ?? testGroups(),
    deps: {
      topics: (t) => TEST_TOPICS.has(t),
      ...opts.deps,
      settings: {
        checkpointRecords: 5,
        checkpointMs: 200,
        // the incident tests' webhook receivers listen on 127.0.0.1 over plain http
        webhooks: { allowHttp: true, allowPrivate: ['127.0.0.1/32'] },
        ...opts.settings,
      },
    },
  });
  await svc.readerJoined();
  return svc;
}

/** Publishes like the services would (their real Avro events on the real topics). */
export class Producer {
  private constructor(readonly rt: ServiceRuntime) {}

  static async start(): Promise<Producer> {
    return new Producer(
      await ServiceRuntime.start({
        config: testConfig('audit-sim'),
        produces: [
          'partner.order-status',
          'channels.partner-order-status',
          'channels.channel-changed',
          'identity.data-request',
          'platform.exception',
          'sync.escalation',
          'sync.notice',
          'orders.order-status',
        ],
      }),
    );
  }

  /** A channel's state change; returns the channel code. */
  async channel(code = uniqueName('ch').slice(0, 30)): Promise<string> {
    await this.rt.publisher.publish([
      newEvent(
        'channels.channel-changed',
        { type: 'channel.changed', producer: 'channels', aggregateId: code, aggregateVersion: 1 },
        channelPayload(code),
      ),
    ]);
    return code;
  }

  /** identity's erasure of a customer. */
  async erasure(customerId: string): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'identity.data-request',
        { type: 'data-request.erasure', producer: 'identity', aggregateId: customerId, aggregateVersion: 1 },
        { requestId: uniqueName('req'), customerId, kind: 'erasure', requestedBy: 'staff-1', completedAt: Date.now() },
      ),
    ]);
  }

  /** A refusal the cart answered (what platform.exception carries). */
  async refusal(customerId: string, channel: string): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'platform.exception',
        { type: 'exception.refusal', producer: 'cart', aggregateId: customerId, aggregateVersion: 0, sourceChannel: channel },
        {
          kind: 'refusal',
          code: 'customer_banned',
          status: 403,
          operation: 'PUT /carts/me/items',
          subjectKind: 'customer',
          subjectId: customerId,
          channel,
          actor: customerId,
          actorKind: 'customer',
          detail: 'this customer is banned',
          expectedVersion: null,
          currentVersion: null,
        },
      ),
    ]);
  }

  /** A dead letter as the kit writes one (original bytes, reason headers), or undecodable bytes. */
  async deadLetter(value: Buffer, reason: string): Promise<void> {
    await this.rt.publisher.sendRaw('channels.channel-changed.dlq', [
      {
        key: 'k',
        value,
        headers: {
          'x-dlq-reason': reason,
          'x-source-topic': 'channels.channel-changed',
          'x-source-partition': '0',
          'x-source-offset': '7',
        },
      },
    ]);
  }

  /** sync-monitor's escalation of a late event (opened, then resolved or reconciled); returns the escalation id. */
  async escalation(
    status: 'opened' | 'resolved' | 'reconciled',
    over: { escalationId?: string; channels?: string[]; topic?: string; eventType?: string; ageMs?: number } = {},
  ): Promise<string> {
    const escalationId = over.escalationId ?? uniqueName('esc');
    const lateEventId = `evt-${escalationId}`;
    await this.rt.publisher.publish([
      newEvent(
        'sync.escalation',
        {
          type: `sync.escalation-${status}`,
          producer: 'sync-monitor',
          aggregateId: lateEventId,
          aggregateVersion: status === 'opened' ? 1 : 2,
        },
        {
          escalationId,
          status,
          eventId: lateEventId,
          eventType: over.eventType ?? 'product.changed',
          topic: over.topic ?? 'catalog.product-changed',
          laggingConsumers: ['catalog-sync.products-group'],
          channels: over.channels ?? [],
          rootCause: 'no_ack',
          ageMs: over.ageMs ?? 420_000,
          retries: 3,
        },
      ),
    ]);
    return escalationId;
  }

  /** sync-monitor's notice of a delay or its recovery; returns the notice id. */
  async notice(
    kind: 'propagation_delayed' | 'propagation_recovered',
    escalationId: string,
    over: { noticeId?: string; audience?: 'admin' | 'customer'; channel?: string | null; eventType?: string } = {},
  ): Promise<string> {
    const noticeId = over.noticeId ?? uniqueName('ntc');
    await this.rt.publisher.publish([
      newEvent(
        'sync.notice',
        {
          type: `sync.${kind}`,
          producer: 'sync-monitor',
          aggregateId: escalationId,
          aggregateVersion: kind === 'propagation_delayed' ? 1 : 2,
        },
        {
          noticeId,
          kind,
          audience: over.audience ?? 'customer',
          channel: over.channel === undefined ? null : over.channel,
          escalationId,
          eventId: `evt-${escalationId}`,
          eventType: over.eventType ?? 'product.changed',
          subject: 'Some recent changes are delayed',
          message: 'A recent change is taking longer than usual to appear everywhere.',
          recipientIds: [],
        },
      ),
    ]);
    return noticeId;
  }

  /** A channel's full state after a change (maintenance, blocks...), as the channels service publishes it. */
  async channelState(code: string, over: Parameters<typeof channelPayload>[1] = {}, version = 2): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'channels.channel-changed',
        { type: 'channel.changed', producer: 'channels', aggregateId: code, aggregateVersion: version },
        channelPayload(code, over),
      ),
    ]);
  }

  /** orders' `placed` status of an order (reports' control totals). */
  async placed(orderId: string, channel: string, totalMinor: number, currency = 'EUR'): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'orders.order-status',
        { type: 'order.placed', producer: 'orders', aggregateId: orderId, aggregateVersion: 1, sourceChannel: channel },
        {
          orderId,
          customerId: uniqueName('cus'),
          channel,
          status: 'placed',
          occurredAt: Date.now(),
          totalMinor,
          currency,
          promotionIds: [],
          usageHoldId: null,
          ...ORDER_STATUS_DEFAULTS,
          lines: [],
        },
      ),
    ]);
  }

  /** The same channel event written twice (a producer's retry: one event id at two offsets); returns the code. */
  async channelTwice(code = uniqueName('ch').slice(0, 30)): Promise<string> {
    const event = newEvent(
      'channels.channel-changed',
      { type: 'channel.changed', producer: 'channels', aggregateId: code, aggregateVersion: 1 },
      channelPayload(code),
    );
    await this.rt.publisher.publish([event]);
    await this.rt.publisher.publish([event]);
    return code;
  }

  /** A dead letter of a given channels.channel-changed record (the kit's x-source-* headers naming it). */
  async deadLetterOf(source: { partition: number; offset: string }, reason: string): Promise<void> {
    await this.rt.publisher.sendRaw('channels.channel-changed.dlq', [
      {
        key: 'k',
        value: Buffer.from('copy'),
        headers: {
          'x-dlq-reason': reason,
          'x-source-topic': 'channels.channel-changed',
          'x-source-partition': String(source.partition),
          'x-source-offset': source.offset,
        },
      },
    ]);
  }

  /** A partner's own order status (naming only the partner's customer id); returns its event id. */
  async partnerStatus(partnerCustomerId: string, partnerOrderId: string): Promise<string> {
    const event = newEvent(
      'partner.order-status',
      { type: 'partner.order_status', producer: 'partner-system', aggregateId: partnerOrderId, aggregateVersion: 1 },
      { partnerChannel: 'acme', partnerOrderId, partnerCustomerId, status: 'paid', currency: 'EUR', totalMinor: 100, statusAt: Date.now() },
    );
    await this.rt.publisher.publish([event]);
    return event.value.envelope.eventId;
  }

  /** channels' mapping of a partner status to the global ids (naming the customer and the partner record it came from). */
  async mappedStatus(customerId: string, orderId: string, sourceEventId: string): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'channels.partner-order-status',
        { type: 'partner-order.status', producer: 'channels', aggregateId: orderId, aggregateVersion: 1 },
        {
          orderId,
          customerId,
          channel: 'acme',
          partnerOrderId: `p-${orderId}`,
          status: 'paid',
          currency: 'EUR',
          totalMinor: 100,
          statusAt: Date.now(),
          sourceEventId,
        },
      ),
    ]);
  }

  stop(): Promise<void> {
    return this.rt.stop();
  }
}

export const auditor = async (): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub: 'auditor-1', kind: 'staff', roles: ['compliance_officer'] }),
});
export const adminH = async (): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub: 'admin-1', kind: 'staff', roles: ['admin'] }),
});
export const managerOf = async (channel: string): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub: 'mgr-1', kind: 'staff', roles: ['channel_manager'], channels: [channel] }),
});
export const customerH = async (): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub: 'cus-1', kind: 'customer', channel: 'web' }),
});

export async function getJson<T = Record<string, unknown>>(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as T };
}

export async function postJson<T = Record<string, unknown>>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as T };
}
