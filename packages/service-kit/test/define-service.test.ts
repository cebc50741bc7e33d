/**
 * defineService against the real stack, through a toy service that produces and consumes
 * platform.probe: how it names its consumer groups, refuses a subscription its manifest does not
 * declare, stops in order and once, reads group settings from the environment, and serves HTTP.
 */
import {
  defineService,
  groupSettingsFromEnv,
  HttpApi,
  loadPlatformConfig,
  newEvent,
  type ServiceRuntime,
  type Subscription,
  type Worker,
} from '../src';
import { testConfig, testGroups, testKafka, uniqueName, waitFor } from '../src/testing';

const probe = (aggregateId: string) =>
  newEvent(
    'platform.probe',
    { type: 'probe.changed', producer: 'kit-toy', aggregateId, aggregateVersion: 1 },
    { sequence: 1, payload: '' },
  );

interface ToyDeps {
  subscriptions?: (seen: string[]) => Subscription[];
  workers?: Worker[];
  onBuild?: (runtime: ServiceRuntime) => void;
}

/** The toy: what it handled is exposed as `seen`; tests choose its subscriptions and workers through deps. */
const toy = (consumes: readonly 'platform.probe'[] = ['platform.probe']) =>
  defineService<ToyDeps, { seen: string[] }>({
    name: 'kit-toy',
    port: 0,
    events: { produces: ['platform.probe'], consumes },
    async build({ runtime, deps }) {
      deps.onBuild?.(runtime);
      const seen: string[] = [];
      const record: Subscription['handlers'] = {
        'platform.probe': async (v) => {
          seen.push(v.envelope.aggregateId);
        },
      };
      return {
        api: new HttpApi({ title: 'kit toy', version: '1.0.0' }),
        subscriptions: deps.subscriptions?.(seen) ?? [{ purpose: 'projections', handlers: record, acknowledge: false }],
        workers: deps.workers,
        exposes: { seen },
      };
    },
  });

describe('defineService against the real stack', () => {
  it('names groups <service>.<purpose><suffix>, and <service>.<purpose>.<instance id><suffix> for scope instance', async () => {
    const suffix = `.${uniqueName('t')}`;
    const config = testConfig('kit-toy');
    const running = await toy().start({
      config,
      env: { ...process.env, OMNIMALL_GROUP_SUFFIX: suffix, OMNIMALL_START_AT: 'end' },
      deps: {
        subscriptions: (seen) => [
          {
            purpose: 'projections',
            acknowledge: false,
            handlers: { 'platform.probe': async (v) => void seen.push(v.envelope.aggregateId) },
          },
          { purpose: 'live', scope: 'instance', acknowledge: false, handlers: { 'platform.probe': async () => undefined } },
        ],
      },
    });
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const shared = `kit-toy.projections${suffix}`;
      const instance = running.consumers.live.group;
      expect(running.consumers.projections.group).toBe(shared);
      expect(instance).toMatch(new RegExp(`^kit-toy\\.live\\.${config.instanceId}\\.[0-9a-f]{6}${suffix.replace('.', '\\.')}$`));
      const groups = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
      expect([groups.has(shared), groups.has(instance)]).toEqual([true, true]);
      // The groups start at the end (OMNIMALL_START_AT) and get what the service itself produces.
      const id = uniqueName('toy');
      await running.runtime.publisher.publish([probe(id)]);
      await waitFor(() => running.seen.includes(id), 'the probe handled by the toy');
    } finally {
      await admin.disconnect();
      await running.stop();
    }
  });

  it("gives a per-instance group a new id at every start: a restart under the same instance id does not re-read its predecessor's records", async () => {
    const suffix = `.${uniqueName('t')}`;
    const config = testConfig('kit-toy');
    const live = (seen: string[]): Subscription[] => [
      {
        purpose: 'live',
        scope: 'instance',
        acknowledge: false,
        handlers: { 'platform.probe': async (v) => void seen.push(v.envelope.aggregateId) },
      },
    ];
    const env = { ...process.env, OMNIMALL_GROUP_SUFFIX: suffix };
    const first = await toy().start({ config, env, deps: { subscriptions: live } });
    const before = uniqueName('before');
    let second: Awaited<ReturnType<ReturnType<typeof toy>['start']>> | undefined;
    try {
      await first.runtime.publisher.publish([probe(before)]);
      await waitFor(() => first.seen.includes(before), 'the first process handled its record');
      // The "restarted" process: same instance id while the first one's group still exists (as after a
      // SIGKILL, which deletes nothing).
      second = await toy().start({ config, env, deps: { subscriptions: live } });
      expect(second.consumers.live.group).not.toBe(first.consumers.live.group);
      const after = uniqueName('after');
      await second.runtime.publisher.publish([probe(after)]);
      await waitFor(() => second!.seen.includes(after), 'the restarted process handles new records');
      expect(second.seen).not.toContain(before);
    } finally {
      await second?.stop();
      await first.stop();
    }
  });

  it('runs a subscription of high- and normal-priority topics as two groups under one consumer name', async () => {
    const suffix = `.${uniqueName('t')}`;
    const config = testConfig('kit-toy');
    const running = await toy(['platform.probe', 'sync.applied'] as never).start({
      config,
      groups: { suffix, startAt: 'end' },
      deps: {
        subscriptions: (seen) => [
          {
            purpose: 'projections',
            acknowledge: false,
            handlers: { 'platform.probe': async (v) => void seen.push(v.envelope.aggregateId), 'sync.applied': async () => undefined },
          },
        ],
      },
    });
    try {
      const high = running.consumers.projections;
      const normal = running.consumers['projections.normal'];
      expect([high.group, high.name, high.topics]).toEqual([
        `kit-toy.projections${suffix}`,
        `kit-toy.projections${suffix}`,
        ['platform.probe'],
      ]);
      expect([normal.group, normal.name, normal.topics]).toEqual([
        `kit-toy.projections${suffix}.normal`,
        `kit-toy.projections${suffix}`,
        ['sync.applied'],
      ]);
      const id = uniqueName('split');
      await running.runtime.publisher.publish([probe(id)]);
      await waitFor(() => running.seen.includes(id), 'the probe handled by the high-priority group');
    } finally {
      await running.stop();
    }
  });

  it('refuses to start with a subscription to a topic the manifest does not list, leaving nothing running', async () => {
    let runtime: ServiceRuntime | undefined;
    const start = toy([]).start({ config: testConfig('kit-toy'), groups: testGroups(), deps: { onBuild: (rt) => (runtime = rt) } });
    await expect(start).rejects.toThrow(/kit-toy handles platform\.probe, which its event manifest does not list/);
    expect(runtime).toBeDefined();
    expect(runtime!.consumers).toHaveLength(0);
    expect(runtime!.db.readyState).toBe(0); // disconnected
  });

  it('stops HTTP, then consumers, then workers (last started first), then flushes the outbox; a second stop is the same stop', async () => {
    const order: string[] = [];
    const worker = (name: string): Worker => ({
      name,
      start: () => void order.push(`start ${name}`),
      stop: async () => void order.push(`stop ${name}`),
    });
    const running = await toy().start({
      config: testConfig('kit-toy'),
      groups: testGroups(),
      deps: {
        workers: [worker('a'), worker('b')],
        subscriptions: () => [{ purpose: 'projections', acknowledge: false, handlers: { 'platform.probe': async () => undefined } }],
      },
    });
    expect(order).toEqual(['start a', 'start b']);
    const consumer = running.consumers.projections;
    const stopConsumer = consumer.stop.bind(consumer);
    consumer.stop = async () => {
      await stopConsumer();
      order.push('consumers stopped');
    };
    const outbox = running.runtime.outbox;
    const stopOutbox = outbox.stop.bind(outbox);
    outbox.stop = async () => {
      order.push('outbox flush');
      await stopOutbox();
    };
    running.server.once('close', () => order.push('http closed'));

    const first = running.stop();
    const second = running.stop();
    expect(second).toBe(first);
    await second;
    expect(order).toEqual(['start a', 'start b', 'http closed', 'consumers stopped', 'stop b', 'stop a', 'outbox flush']);
    await running.stop();
    expect(order.filter((o) => o.startsWith('stop '))).toEqual(['stop b', 'stop a']);
  });

  it('answers /healthz at its url', async () => {
    const running = await toy().start({ config: testConfig('kit-toy'), groups: testGroups() });
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${running.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok', service: 'kit-toy' });
      // Without METRICS_PORT, /metrics is on the service port (the local platform).
      expect((await fetch(`${running.url}/metrics`)).status).toBe(200);
      expect(running.metricsUrl).toBeUndefined();
    } finally {
      await running.stop();
    }
  });

  it('serves /metrics only on METRICS_PORT when set: the API port answers it 404, the metrics port nothing else', async () => {
    const running = await toy().start({ config: { ...testConfig('kit-toy'), metricsPort: 0 }, groups: testGroups() });
    const metricsUrl = running.metricsUrl!;
    try {
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(metricsUrl).not.toBe(running.url);
      const onApi = await fetch(`${running.url}/metrics`);
      expect(onApi.status).toBe(404);
      const scraped = await fetch(`${metricsUrl}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('omnimall_http_request_seconds');
      for (const path of ['/healthz', '/openapi.json']) expect((await fetch(`${metricsUrl}${path}`)).status).toBe(404);
    } finally {
      await running.stop();
    }
    // Both listeners are closed by the one stop.
    await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow();
  });

  it('reads METRICS_PORT from the environment', () => {
    expect(loadPlatformConfig('kit-toy', 4999, { METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(loadPlatformConfig('kit-toy', 4999, {}).metricsPort).toBeUndefined();
    expect(() => loadPlatformConfig('kit-toy', 4999, { METRICS_PORT: 'x' })).toThrow(/METRICS_PORT/);
  });
});

describe('groupSettingsFromEnv', () => {
  it('reads OMNIMALL_GROUP_SUFFIX and OMNIMALL_START_AT, both optional', () => {
    expect(groupSettingsFromEnv({})).toEqual({ suffix: '', startAt: undefined });
    expect(groupSettingsFromEnv({ OMNIMALL_GROUP_SUFFIX: '.e2e', OMNIMALL_START_AT: 'end' })).toEqual({ suffix: '.e2e', startAt: 'end' });
    expect(groupSettingsFromEnv({ OMNIMALL_START_AT: 'beginning' })).toEqual({ suffix: '', startAt: 'beginning' });
  });

  it('rejects a start position other than beginning or end', () => {
    expect(() => groupSettingsFromEnv({ OMNIMALL_START_AT: 'latest' })).toThrow(
      'OMNIMALL_START_AT must be "beginning" or "end", not "latest"',
    );
  });
});
