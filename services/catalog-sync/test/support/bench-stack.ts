/**
 * What both catalog-sync benchmark rows stand on: a catalog-sync instance on a fresh database, a
 * stand-in channel registry publishing channels.channel-changed, tokens, and a rate table.
 * Loopback only (the local Kafka, FerretDB and schema registry).
 */
import { randomUUID } from 'node:crypto';
import { newEvent, ServiceRuntime, type Principal } from '@omnimall/service-kit';
import { channelPayload, testConfig, testTokens } from '@omnimall/service-kit/testing';
import { catalogSyncService } from '../../src/main';
import type { CatalogSync } from '../helpers';

export interface BenchStack {
  tag: string;
  svc: CatalogSync;
  base: string;
  token(p: Partial<Principal> & { sub: string }): Promise<string>;
  channels(n: number): Promise<string[]>;
  call(method: string, path: string, body: unknown, auth: string): Promise<{ status: number; headers: Headers; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<void>;
}

const MARKETS = [
  { region: 'EU', country: 'DE', currencies: ['EUR'], languages: ['de-DE'] },
  { region: 'NA', country: 'US', currencies: ['USD'], languages: ['en-US'] },
  { region: 'APAC', country: 'JP', currencies: ['JPY'], languages: ['ja'] },
  { region: 'MENA', country: 'KW', currencies: ['KWD'], languages: ['ar'] },
  { region: 'EU', country: 'FR', currencies: ['EUR', 'USD'], languages: ['fr-FR'] },
];

export async function startBenchStack(): Promise<BenchStack> {
  const tag = randomUUID().slice(0, 8);
  // The test key pair: the service's auth.verifier accepts what testTokens' signer signs.
  const { signer } = await testTokens();
  const config = (service: string) =>
    testConfig(service, { dbName: `bench_${service.replace(/-/g, '_')}_${tag}`, instanceId: `${service}-bench-${tag}`, logLevel: 'error' });
  const svc = await catalogSyncService.start({
    config: config('catalog-sync'),
    groups: { suffix: `.bench-${tag}`, startAt: 'end' },
  });
  const registry = await ServiceRuntime.start({ config: config('channels-sim'), produces: ['channels.channel-changed'] });
  const base = svc.url;
  const token = async (p: Partial<Principal> & { sub: string }): Promise<string> =>
    `Bearer ${await signer.sign({ kind: 'staff', roles: [], channels: [], channel: null, ...p })}`;
  const call = async (method: string, path: string, body: unknown, auth: string) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: auth },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  const admin = await token({ sub: 'bench-admin', roles: ['admin'] });
  for (const [quote, rate] of [
    ['USD', '1.0845'],
    ['JPY', '161.25'],
    ['KWD', '0.3321'],
  ]) {
    const r = await call('POST', '/rates', { base: 'EUR', quote, rate, source: 'bench', effectiveFrom: Date.now() - 1000 }, admin);
    if (r.status !== 201) throw new Error(`rate not added: ${JSON.stringify(r.body)}`);
  }
  const channels = async (n: number): Promise<string[]> => {
    const codes = Array.from({ length: n }, (_, i) => `b${tag}-${i}`);
    const publish = () =>
      registry.publisher.publish(
        codes.map((code, i) => {
          const m = MARKETS[i % MARKETS.length];
          return newEvent(
            'channels.channel-changed',
            { type: 'channel.registered', producer: 'channels', aggregateId: code, aggregateVersion: 1 },
            channelPayload(code, { ...m, allowedDataRegions: [m.region], change: 'registered' }),
          );
        }),
      );
    const deadline = Date.now() + 30_000;
    let last = 0;
    // Republished every few seconds until projected (a just-joined consumer may resolve the topic's end late).
    const projected = async (): Promise<number> =>
      (await Promise.all(codes.map((c) => svc.catalog.channels.byId(c)))).filter(Boolean).length;
    while ((await projected()) < n) {
      if (Date.now() > deadline) throw new Error('channels were not projected within 30 s');
      if (Date.now() - last > 4000) {
        last = Date.now();
        await publish();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return codes;
  };
  return {
    tag,
    svc,
    base,
    token,
    channels,
    call,
    stop: async () => {
      // No dropDatabase: dropping a FerretDB/SQLite database under open connections crashed it here.
      await svc.stop();
      await registry.stop();
    },
  };
}
