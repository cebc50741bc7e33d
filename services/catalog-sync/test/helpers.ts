import { newEvent, ServiceRuntime, type RunningService } from '@omnimall/service-kit';
import { bearer, testConfig, testGroups, waitFor } from '@omnimall/service-kit/testing';
import { catalogSyncService, type CatalogSyncDeps, type CatalogSyncExposes } from '../src/main';

export type CatalogSync = RunningService<CatalogSyncExposes>;

/** A catalog-sync instance on its own database and consumer group, plus a stand-in channel registry. */
export interface Harness {
  svc: CatalogSync;
  registry: ServiceRuntime;
  announce(ch: ChannelSpec): Promise<void>;
  stop(): Promise<void>;
}

export interface ChannelSpec {
  code: string;
  region: string;
  country: string;
  currencies: string[];
  languages: string[];
  masterChannel?: string | null;
  state?: string;
  version?: number;
}

export async function startHarness(deps: CatalogSyncDeps = {}): Promise<Harness> {
  const svc = await catalogSyncService.start({
    config: testConfig('catalog-sync'),
    groups: testGroups(),
    deps: { recoveryGraceMs: 60_000, ...deps },
  });
  const registry = await ServiceRuntime.start({ config: testConfig('channels-sim'), produces: ['channels.channel-changed'] });
  const announce = async (ch: ChannelSpec): Promise<void> => {
    const version = ch.version ?? 1;
    const publish = () =>
      registry.publisher.publish([
        newEvent(
          'channels.channel-changed',
          { type: 'channel.registered', producer: 'channels', aggregateId: ch.code, aggregateVersion: version },
          {
            code: ch.code,
            name: ch.code,
            kind: 'web',
            state: ch.state ?? 'active',
            previousState: null,
            expectedBackAt: null,
            blockReasons: [],
            country: ch.country,
            region: ch.region,
            languages: ch.languages,
            currencies: ch.currencies,
            masterChannel: ch.masterChannel ?? null,
            allowedDataRegions: [ch.region],
            change: 'registered',
          },
        ),
      ]);
    await publishUntil(
      publish,
      async () => ((await svc.catalog.channels.byId(ch.code))?.version ?? 0) >= version,
      `channel ${ch.code} v${version} projected`,
    );
  };
  return {
    svc,
    registry,
    announce,
    stop: async () => {
      await svc.stop();
      await registry.stop();
    },
  };
}

/**
 * Publishes, and again every few seconds, until `done` answers a value: a consumer that has just
 * joined at the topic's end may resolve that end after the first copy (the same event is applied once).
 */
export async function publishUntil<T>(publish: () => Promise<unknown>, done: () => Promise<T | null | false>, what: string): Promise<T> {
  let last = 0;
  return waitFor(
    async () => {
      if (Date.now() - last > 4000) {
        last = Date.now();
        await publish();
      }
      return done();
    },
    what,
    30_000,
    50,
  );
}

export const sellerToken = (sub: string): Promise<string> => bearer({ sub, kind: 'staff', roles: ['seller'] });
export const managerToken = (sub: string, channels: string[]): Promise<string> =>
  bearer({ sub, kind: 'staff', roles: ['channel_manager'], channels });
export const adminToken = (): Promise<string> => bearer({ sub: 'admin-1', kind: 'staff', roles: ['admin'] });

export function productBody(id: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    defaultLocale: 'en',
    title: { en: 'Trail shoe', de: 'Laufschuh' },
    description: { en: 'Light and fast' },
    category: 'shoes/running',
    attributes: { colour: 'red', weight: { value: 1, unit: 'kg' } },
    variants: [{ sku: `${id}-42`, attributes: { size: { size: '42', system: 'EU' } }, price: { amountMinor: 10000, currency: 'EUR' } }],
    restrictions: [],
    ...over,
  };
}
