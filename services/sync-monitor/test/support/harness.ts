/**
 * Starts the sync-monitor on the real stack, isolated: its own database and consumer groups, and it
 * tracks only events whose correlation id starts with this run's tag (other engineers' tests publish
 * on the same topics at the same time). A simulated "cart-like" service consumes and acks through the kit.
 */
import { catalogue, type IdentityLinked } from '@omnimall/contracts';
import { newEvent, ServiceRuntime, type EventConsumer, type EventContext, type RunningService } from '@omnimall/service-kit';
import { bearer, testConfig, testGroups } from '@omnimall/service-kit/testing';
import { randomUUID } from 'node:crypto';
import { catalogueExpectations } from '../../src/domain/expectations';
import { syncMonitorService, type SyncMonitorDeps, type SyncMonitorExposes } from '../../src/main';

export const TOPIC = 'identity.identity-linked';
/** Expected by a service that never runs: its events can only be escalated. */
export const GHOST_TOPIC = 'identity.customer-merged';

export interface Harness {
  run: string;
  /** A consumer service the expectations name and that consumes through the kit (group `<sim>.projection`). */
  sim: string;
  /** A consumer service that is expected but never runs. */
  ghost: string;
  monitor: RunningService<SyncMonitorExposes>;
  /** Starts another monitor on the same database and consumer groups (after a crash of the first). */
  startMonitorAgain(): Promise<RunningService<SyncMonitorExposes>>;
  producer: ServiceRuntime;
  consumerRt: ServiceRuntime;
  consumer?: EventConsumer;
  /** eventIds whose handling the sim consumer fails (until removed). */
  failing: Set<string>;
  /** eventIds the sim consumer applied, with the attempt. */
  applied: Map<string, number>;
  /** Publishes on TOPIC; with fail, the sim consumer fails the event until it is removed from `failing`. */
  publish(opts?: { channel?: string; fail?: boolean }): Promise<string>;
  /** An event on GHOST_TOPIC from a channel, for a customer. */
  publishGhost(channel: string, customerId: string, opts?: { lane?: 'bulk' }): Promise<string>;
  publishChannel(code: string, state: string, blockReasons: string[], version: number): Promise<string>;
  stop(): Promise<void>;
}

/** The SLA of bulk work in the harness (the topics' own: 700 ms). */
export const BULK_SLA_MS = 1500;

export const adminToken = (): Promise<string> => bearer({ sub: 'stf_admin', kind: 'staff', roles: ['admin'] });

export async function startHarness(deps: SyncMonitorDeps = {}): Promise<Harness> {
  const run = randomUUID().slice(0, 8);
  const sim = `simcart${run}`;
  const ghost = `simghost${run}`;
  const base = catalogueExpectations(catalogue);
  const config = testConfig('sync-monitor');
  const groups = testGroups();
  const monitorDeps: SyncMonitorDeps = {
    topics: [TOPIC, GHOST_TOPIC, 'channels.channel-changed'],
    // The sim service stands in for cart on TOPIC; GHOST_TOPIC expects a service that never answers.
    expectations: (topic) =>
      topic === TOPIC
        ? { consumers: [sim], slaMs: 700 }
        : topic === GHOST_TOPIC
          ? { consumers: [ghost], slaMs: 700 }
          : // No real channels consumer runs here: only the monitor itself is expected to apply channel changes.
            { ...base(topic), consumers: ['sync-monitor'] },
    trackEnvelope: (env) => env.correlationId.startsWith(run),
    trackAck: (ack) => ack.envelope.correlationId.startsWith(run),
    sweepIntervalMs: 100,
    fullScanEveryMs: 1000,
    retryIntervalMs: 500,
    maxRetries: 3,
    escalateAfterMs: 5000,
    consumerLagIntervalMs: 60_000,
    // bulk work's SLA (600 s in production), short enough to see a bulk event judged late here
    bulkSlaMs: BULK_SLA_MS,
    ...deps,
  };
  const monitor = await syncMonitorService.start({ config, groups, deps: monitorDeps });
  const producer = await ServiceRuntime.start({
    config: testConfig('sim-producer'),
    produces: [TOPIC, GHOST_TOPIC, 'channels.channel-changed'],
  });
  const consumerRt = await ServiceRuntime.start({ config: testConfig(sim), produces: [] });
  const failing = new Set<string>();
  const applied = new Map<string, number>();
  const h: Harness = {
    run,
    sim,
    ghost,
    monitor,
    startMonitorAgain: () => syncMonitorService.start({ config, groups, deps: monitorDeps }),
    producer,
    consumerRt,
    failing,
    applied,
    async publishGhost(channel, customerId, opts = {}) {
      const e = newEvent(
        GHOST_TOPIC,
        {
          type: 'identity.customer-merged',
          producer: 'identity',
          aggregateId: customerId,
          aggregateVersion: 1,
          correlationId: `${run}-${randomUUID()}`,
          sourceChannel: channel,
        },
        { sourceCustomerId: 'cus_old', targetCustomerId: customerId, mergedBy: 'stf_1' },
      );
      await producer.publisher.publish([e], { lane: opts.lane });
      return e.value.envelope.eventId;
    },
    async publishChannel(code, state, blockReasons, version) {
      const e = newEvent(
        'channels.channel-changed',
        {
          type: 'channels.channel-changed',
          producer: 'channels',
          aggregateId: code,
          aggregateVersion: version,
          correlationId: `${run}-${randomUUID()}`,
          sourceChannel: code,
        },
        {
          code,
          name: `Shop ${code}`,
          kind: 'web',
          state,
          previousState: null,
          expectedBackAt: state === 'maintenance' ? Date.now() + 3_600_000 : null,
          blockReasons,
          country: 'DE',
          region: 'eu',
          languages: ['de'],
          currencies: ['EUR'],
          masterChannel: null,
          allowedDataRegions: ['eu'],
          change: 'transitioned',
        },
      );
      await producer.publisher.publish([e]);
      return e.value.envelope.eventId;
    },
    async publish(opts = {}) {
      const e = newEvent(
        TOPIC,
        {
          type: 'identity.identity-linked',
          producer: 'identity',
          aggregateId: `cus_${randomUUID().slice(0, 8)}`,
          aggregateVersion: 1,
          correlationId: `${run}-${randomUUID()}`,
          sourceChannel: opts.channel ?? null,
        },
        { customerId: 'cus_x', identityType: 'device', externalId: randomUUID(), channel: opts.channel ?? 'web' } as Omit<
          IdentityLinked,
          'envelope'
        >,
      );
      if (opts.fail) failing.add(e.value.envelope.eventId);
      await producer.publisher.publish([e]);
      return e.value.envelope.eventId;
    },
    async stop() {
      await Promise.allSettled([monitor.stop(), producer.stop(), consumerRt.stop()]);
    },
  };
  h.consumer = await consumerRt.consume({
    group: `${sim}.projection`,
    dedupe: 'inbox',
    attempts: 1,
    retryDelayMs: 100,
    handlers: {
      [TOPIC]: async (v: IdentityLinked, ctx: EventContext) => {
        if (!v.envelope.correlationId.startsWith(run)) return;
        if (failing.has(v.envelope.eventId)) {
          const err = new Error('projection store unavailable');
          err.name = 'StoreUnavailable';
          throw err;
        }
        applied.set(v.envelope.eventId, ctx.attempt);
      },
    },
  });
  return h;
}
