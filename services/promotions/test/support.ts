/**
 * What the promotions tests share: a simulator standing in for channels and cart (it publishes their
 * real events on the real topics), tokens for each kind of caller, a promotions service started on its
 * own database with its own consumer groups, and readers of what it published.
 */
import request from 'supertest';
import { newEvent, ServiceRuntime, type GroupSettings, type PlatformConfig } from '@omnimall/service-kit';
import { bearer, channelPayload, testConfig, testGroups, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import type { ChannelChanged, TopicValues } from '@omnimall/contracts';
import { promotionsService } from '../src/main';
import type { PromotionsSettings } from '../src/settings';

export type PromotionsInstance = Awaited<ReturnType<typeof promotionsService.start>>;

export class Simulator {
  private versions = new Map<string, number>();
  private constructor(readonly rt: ServiceRuntime) {}

  static async start(): Promise<Simulator> {
    return new Simulator(
      await ServiceRuntime.start({ config: testConfig('sim'), produces: ['channels.channel-changed', 'cart.promotion-readiness'] }),
    );
  }

  private next(key: string): number {
    const v = (this.versions.get(key) ?? 0) + 1;
    this.versions.set(key, v);
    return v;
  }

  /** Publishes a channel's state (active unless `over` says otherwise). */
  async channel(code: string, over: Partial<Omit<ChannelChanged, 'envelope'>> = {}): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'channels.channel-changed',
        { type: 'channel.changed', producer: 'channels', aggregateId: code, aggregateVersion: this.next(`ch:${code}`) },
        channelPayload(code, over),
      ),
    ]);
  }

  /** Publishes cart's readiness of one promotion version. */
  async readiness(promotionId: string, version: number, channels: { channel: string; state: 'acknowledged' | 'error'; reason?: string }[]) {
    await this.rt.publisher.publish([
      newEvent(
        'cart.promotion-readiness',
        { type: 'promotion.readiness', producer: 'cart', aggregateId: promotionId, aggregateVersion: version },
        { promotionId, version, channels: channels.map((c) => ({ channel: c.channel, state: c.state, reason: c.reason ?? null })) },
      ),
    ]);
  }

  stop(): Promise<void> {
    return this.rt.stop();
  }
}

/** A promotions instance: its own database unless `dbName` is shared, its own groups unless `groups` is shared. */
export function startTestPromotions(
  opts: { dbName?: string; groups?: GroupSettings; config?: Partial<PlatformConfig>; settings?: Partial<PromotionsSettings> } = {},
): Promise<PromotionsInstance> {
  return promotionsService.start({
    config: testConfig('promotions', { ...(opts.dbName ? { dbName: opts.dbName } : {}), ...opts.config }),
    groups: opts.groups ?? testGroups(),
    deps: { settings: { leadMs: 1000, lifecycleMs: 50, cacheMs: 200, ...opts.settings } },
  });
}

/** Authorization headers of each kind of caller. */
export const staff = async (sub: string, roles: string[], channels: string[] = []): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub, kind: 'staff', roles, channels }),
});
export const customerOn = async (sub: string, channel: string): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub, kind: 'customer', channel }),
});

/** Records of the promotions topics from now on, decoded on demand. */
export class Published {
  private constructor(
    private readonly recorder: TopicRecorder,
    private readonly svc: PromotionsInstance,
  ) {}

  static async start(svc: PromotionsInstance): Promise<Published> {
    const recorder = await new TopicRecorder(testKafka(), [
      'promotions.definition',
      'promotions.promotion-lifecycle',
      'promotions.override-decision',
    ]).start();
    return new Published(recorder, svc);
  }

  /** Every decoded record of `topic` keyed `key` (or starting with it), in arrival order. */
  async of<T extends 'promotions.definition' | 'promotions.promotion-lifecycle' | 'promotions.override-decision'>(
    topic: T,
    key: string,
  ): Promise<TopicValues[T][]> {
    const records = this.recorder.where((r) => r.topic === topic && (r.message.key?.toString() ?? '').startsWith(key));
    return Promise.all(records.map((r) => this.svc.runtime.schemas.decode<TopicValues[T]>(r.message.value!)));
  }

  /** Waits for a record of `topic` keyed `key` that satisfies `pred`. */
  async waitFor<T extends 'promotions.definition' | 'promotions.promotion-lifecycle' | 'promotions.override-decision'>(
    topic: T,
    key: string,
    pred: (v: TopicValues[T]) => boolean,
    what: string,
  ): Promise<TopicValues[T]> {
    return waitFor(async () => (await this.of(topic, key)).find(pred), what);
  }

  stop(): Promise<void> {
    return this.recorder.stop();
  }
}

/** A valid cart promotion: 10 % off every line, on the given channels, from `startsAt`. */
export const tenPercent = (over: Record<string, unknown> = {}) => ({
  name: 'Ten off',
  level: 'cart',
  startsAt: Date.now() - 1000,
  endsAt: null,
  channels: null,
  reward: { kind: 'percentage', percent: 10 },
  ...over,
});

/** Creates a promotion as `admin`; returns its id and version. */
export async function createPromotion(
  svc: PromotionsInstance,
  admin: Record<string, string>,
  body: Record<string, unknown>,
): Promise<{ id: string; version: number }> {
  const res = await request(svc.app).post('/promotions').set(admin).send(body);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id as string, version: res.body.version as number };
}
