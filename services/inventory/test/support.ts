/**
 * What the inventory tests (and benchmarks) share: a simulator standing in for channels and
 * catalog-sync (it publishes their real events on the real topics), tokens for each kind of caller,
 * and an inventory started on its own database with its own consumer groups.
 */
import { newEvent, ServiceRuntime, type GroupSettings, type PlatformConfig } from '@omnimall/service-kit';
import { bearer, channelPayload, testConfig, testGroups, waitFor } from '@omnimall/service-kit/testing';
import type { ChannelChanged } from '@omnimall/contracts';
import { inventoryService } from '../src/main';
import type { InventorySettings } from '../src/settings';

export type InventoryInstance = Awaited<ReturnType<typeof inventoryService.start>>;

export class Simulator {
  private versions = new Map<string, number>();
  private constructor(readonly rt: ServiceRuntime) {}

  static async start(): Promise<Simulator> {
    return new Simulator(
      await ServiceRuntime.start({
        config: testConfig('sim'),
        produces: ['channels.channel-changed', 'catalog.local-item', 'inventory.reservation-command'],
      }),
    );
  }

  private next(key: string): number {
    const v = (this.versions.get(key) ?? 0) + 1;
    this.versions.set(key, v);
    return v;
  }

  /** Publishes a channel's state (active, standing alone unless `masterChannel`); returns its version. */
  async channel(code: string, over: Partial<Omit<ChannelChanged, 'envelope'>> = {}): Promise<number> {
    const v = this.next(`ch:${code}`);
    await this.rt.publisher.publish([
      newEvent(
        'channels.channel-changed',
        { type: 'channel.changed', producer: 'channels', aggregateId: code, aggregateVersion: v },
        channelPayload(code, over),
      ),
    ]);
    return v;
  }

  /** Publishes a listing of `sku` on `channel` sold by `sellerId`. */
  async item(channel: string, sku: string, sellerId: string): Promise<void> {
    await this.rt.publisher.publish([
      newEvent(
        'catalog.local-item',
        {
          type: 'local-item.changed',
          producer: 'catalog-sync',
          aggregateId: `${channel}:${sku}`,
          aggregateVersion: this.next(`it:${channel}:${sku}`),
        },
        {
          channel,
          sku,
          productId: `p-${sku}`,
          status: 'listed',
          title: sku,
          priceMinor: 1000,
          currency: 'EUR',
          taxInclusive: true,
          barredRegions: [],
          masterVersion: 1,
          sellerId,
        },
      ),
    ]);
  }

  stop(): Promise<void> {
    return this.rt.stop();
  }
}

/** An inventory instance: its own database unless `dbName` is shared, its own groups unless `groups` is shared. */
export function startTestInventory(
  opts: { dbName?: string; groups?: GroupSettings; config?: Partial<PlatformConfig>; settings?: Partial<InventorySettings> } = {},
): Promise<InventoryInstance> {
  return inventoryService.start({
    config: testConfig('inventory', { ...(opts.dbName ? { dbName: opts.dbName } : {}), ...opts.config }),
    groups: opts.groups ?? testGroups(),
    deps: { settings: { sweepMs: 100, importPollMs: 100, ...opts.settings } },
  });
}

/** Authorization headers of each kind of caller. */
export const staff = async (sub: string, roles: string[], channels: string[] = []): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub, kind: 'staff', roles, channels }),
});
export const customerOn = async (sub: string, channel: string): Promise<Record<string, string>> => ({
  authorization: await bearer({ sub, kind: 'customer', channel }),
});

/** Waits until the inventory's projection knows the channel at (at least) `version`. */
export async function channelKnown(inv: InventoryInstance, code: string, masterChannel: string | null = null): Promise<void> {
  await waitFor(async () => (await inv.store.config.channel(code))?.masterChannel === masterChannel, `channel ${code} projected`);
}
