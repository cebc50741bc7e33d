/**
 * What the inventory benchmarks share: inventory instances in child processes on one bench database
 * (inventory-process.ts), the simulator of test/support publishing the channels' events, a
 * keep-alive HTTP client, a master channel selling from two warehouses with dependent channels on its
 * pool, and a Kafka consumer stamping the arrival of each inventory.stock-level event. Loopback only;
 * every wait is bounded.
 */
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import type { StockLevelChanged } from '@omnimall/contracts';
import { endOffsets, OwnPositions } from '@omnimall/service-kit';
import { testGroups, testKafka, testTokens, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { jsonClient, spawnService, type ServiceProcess } from '../../../bench/service-process';
import { Simulator, staff } from '../test/support';

export type { Reply } from '../../../bench/service-process';
export type InventoryProcess = ServiceProcess;

/** A bench world: its database, consumer groups (from the end of each topic), token key, admin and simulator. */
export async function benchWorld() {
  const [{ publicKey }, sim, admin] = await Promise.all([testTokens(), Simulator.start(), staff('bench-admin', ['admin'])]);
  const http = jsonClient();
  return {
    dbName: uniqueName('bench_inventory'),
    groups: testGroups(),
    publicKey,
    sim,
    admin,
    /** One HTTP call on the world's keep-alive agent; the body parsed as JSON when there is one. */
    call: http.call,
    async close(): Promise<void> {
      http.close();
      await sim.stop();
    },
  };
}

export type BenchWorld = Awaited<ReturnType<typeof benchWorld>>;

/** An inventory process on the world's database; every process of one world shares its consumer groups. */
export function spawnInventory(world: Pick<BenchWorld, 'dbName' | 'groups' | 'publicKey'>): Promise<InventoryProcess> {
  return spawnService({ service: 'inventory', script: join(__dirname, 'inventory-process.ts'), ...world });
}

/** What masterWithDependents set up. */
export interface Channels {
  master: string;
  dependents: string[];
  /** The master's two warehouses, by priority. */
  locations: [string, string];
}

/**
 * A master channel linked to two warehouses and `dependents` channels selling from its pool
 * (masterChannel = master), published as channels.channel-changed events; resolves once `inv`'s
 * projection gives every dependent the master's two locations as its source.
 */
export async function masterWithDependents(world: BenchWorld, inv: string, tag: string, dependents: number): Promise<Channels> {
  const master = `web-${tag}`;
  const deps = Array.from({ length: dependents }, (_, i) => `dep${i}-${tag}`);
  const locations: [string, string] = [`wh1-${tag}`, `wh2-${tag}`];
  await world.sim.channel(master);
  await Promise.all(deps.map((d) => world.sim.channel(d, { masterChannel: master })));
  const ok = async (method: string, path: string, body: unknown): Promise<void> => {
    const r = await world.call(inv, method, path, world.admin, body);
    if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  for (const [i, id] of locations.entries()) {
    await ok('PUT', `/locations/${id}`, {
      name: `bench ${i + 1}`,
      kind: 'warehouse',
      address: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
      pickup: false,
    });
    await ok('PUT', `/channels/${master}/locations/${id}`, { priority: i + 1 });
  }
  for (const d of deps)
    await waitFor(
      async () => {
        const r = await world.call(inv, 'GET', `/channels/${d}/source`, world.admin);
        return r.body?.kind === 'master' && r.body.channel === master && r.body.locations?.length === 2;
      },
      `channel ${d} projected with ${master} as its source`,
      30_000,
      50,
    );
  return { master, dependents: deps, locations };
}

/** One inventory.stock-level event as it arrived here. */
export interface Arrival {
  channel: string;
  sku: string;
  available: number;
  /** The stock version after the change that published it. */
  version: number;
  /** performance.now() when the consumer was handed it (before decoding). */
  at: number;
  /** Date.now() at arrival minus the event's occurredAt (stamped when the change was decided). */
  sinceOccurredMs: number;
}

/**
 * A Kafka consumer of inventory.stock-level in this process, in a group of its own from the end of
 * the topic (it keeps its own positions, as the kit's TopicRecorder does, and commits nothing),
 * stamping the arrival of each record of the SKUs `wanted` accepts; `until` awaits a condition on them.
 */
export class LevelArrivals {
  readonly arrivals: Arrival[] = [];
  private readonly waiters = new Set<() => void>();
  private consumer?: Consumer;

  constructor(
    private readonly world: BenchWorld,
    private readonly wanted: (sku: string) => boolean,
  ) {}

  async start(): Promise<this> {
    const kafka = testKafka();
    // From the topic's end as it is now (sought on every join, so no record after it is missed).
    const positions = new OwnPositions(await endOffsets(kafka, ['inventory.stock-level']));
    this.consumer = kafka.consumer({ groupId: uniqueName('bench-inventory-levels') });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: 'inventory.stock-level' });
    const joined = positions.seekOnEveryJoin(this.consumer);
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const at = performance.now();
        positions.passed('inventory.stock-level', partition, message.offset);
        const key = message.key?.toString() ?? '';
        if (!this.wanted(key.slice(key.indexOf(':') + 1))) return;
        const e = await this.world.sim.rt.schemas.decode<StockLevelChanged>(message.value!);
        this.arrivals.push({
          channel: e.channel,
          sku: e.sku,
          available: e.availableQuantity,
          version: e.envelope.aggregateVersion,
          at,
          sinceOccurredMs: Date.now() - e.envelope.occurredAt,
        });
        for (const w of this.waiters) w();
      },
    });
    await joined;
    return this;
  }

  /** Resolves with `probe`'s first truthy answer (asked now and at each arrival); null after `timeoutMs`. */
  until<T>(probe: () => T | null | undefined | false, timeoutMs: number): Promise<T | null> {
    return new Promise((resolve) => {
      const check = (): void => {
        const found = probe();
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        resolve(null);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
