/**
 * What the audit tests share: an audit started on its own database and groups, reading only the topics a
 * test names (other suites share the broker), a producer standing in for the services, and tokens.
 */
import { newEvent, ServiceRuntime, type GroupSettings } from '@omnimall/service-kit';
import { bearer, channelPayload, testConfig, testGroups, uniqueName } from '@omnimall/service-kit/testing';
import { auditService, type AuditDeps } from '../src/main';
import type { AuditSettings } from '../src/settings';

export type AuditInstance = Awaited<ReturnType<typeof auditService.start>>;

/** The topics the audit tests write and read. */
export const TEST_TOPICS = new Set([
  'channels.channel-changed',
  'channels.channel-changed.dlq',
  'identity.data-request',
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
    deps: { topics: (t) => TEST_TOPICS.has(t), ...opts.deps, settings: { checkpointRecords: 5, checkpointMs: 200, ...opts.settings } },
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
        produces: ['channels.channel-changed', 'identity.data-request', 'platform.exception', 'sync.escalation'],
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
