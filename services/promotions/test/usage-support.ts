/**
 * What the usage and loyalty tests share: a stand-in for the orders service (its usage commands and
 * order statuses on the real topics), a recorder of promotions' usage, ledger and tier answers, and
 * an HTTP client that resends on 503 write_contention with the same Idempotency-Key, as clients do.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { ORDER_STATUS_DEFAULTS, testConfig, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import type { TopicValues } from '@omnimall/contracts';
import type { PromotionsInstance } from './support';

type Answer = 'promotions.usage' | 'promotions.loyalty-entry' | 'promotions.tier-changed';

export class Orders {
  private constructor(
    readonly rt: ServiceRuntime,
    private readonly recorder: TopicRecorder,
  ) {}

  static async start(): Promise<Orders> {
    const [rt, recorder] = await Promise.all([
      ServiceRuntime.start({ config: testConfig('orders-sim'), produces: ['promotions.usage-command', 'orders.order-status'] }),
      new TopicRecorder(testKafka(), ['promotions.usage', 'promotions.loyalty-entry', 'promotions.tier-changed']).start(),
    ]);
    return new Orders(rt, recorder);
  }

  /** Sends a usage command; returns its id. */
  async command(
    action: 'hold' | 'commit' | 'release' | 'revert',
    holdId: string,
    over: Partial<Omit<TopicValues['promotions.usage-command'], 'envelope'>> = {},
  ): Promise<string> {
    const commandId = randomUUID();
    await this.rt.publisher.publish([
      newEvent(
        'promotions.usage-command',
        { type: `usage.${action}`, producer: 'orders', aggregateId: holdId, aggregateVersion: 1 },
        {
          commandId,
          action,
          holdId,
          customerId: 'c-none',
          channel: 'web',
          reference: `order:${holdId}`,
          codes: [],
          campaigns: [],
          points: 0,
          expiresAt: Date.now() + 60_000,
          ...over,
        },
      ),
    ]);
    return commandId;
  }

  /** Publishes an order's status. */
  async status(o: Partial<Omit<TopicValues['orders.order-status'], 'envelope'>> & { orderId: string; customerId: string }): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'orders.order-status',
        { type: 'order.status', producer: 'orders', aggregateId: o.orderId, aggregateVersion: 1 },
        {
          channel: 'web',
          status: 'paid',
          occurredAt: Date.now(),
          totalMinor: null,
          currency: 'EUR',
          promotionIds: [],
          usageHoldId: null,
          ...ORDER_STATUS_DEFAULTS,
          lines: [],
          ...o,
        },
      ),
    ]);
  }

  /** Every decoded record of `topic` keyed `key`, in arrival order. */
  async of<T extends Answer>(svc: PromotionsInstance, topic: T, key: string): Promise<TopicValues[T][]> {
    const records = this.recorder.where((r) => r.topic === topic && r.message.key?.toString() === key);
    return Promise.all(records.map((r) => svc.runtime.schemas.decode<TopicValues[T]>(r.message.value!)));
  }

  /** Waits for a record of `topic` keyed `key` that satisfies `pred`. */
  waitFor<T extends Answer>(svc: PromotionsInstance, topic: T, key: string, pred: (v: TopicValues[T]) => boolean, what: string) {
    return waitFor(async () => (await this.of(svc, topic, key)).find(pred), what);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.rt.stop(), this.recorder.stop()]);
  }
}

/** A POST resent on 503 (write_contention) with the same headers and body, at most 20 times. */
export async function post(
  svc: PromotionsInstance,
  path: string,
  headers: Record<string, string>,
  body: object = {},
): Promise<request.Response> {
  for (let i = 0; ; i++) {
    const res = await request(svc.app).post(path).set(headers).send(body);
    if (res.status !== 503 || i >= 20) return res;
  }
}
