/**
 * Crash test (issue 18, items 4 and 6): a broker restart with consumers running. Every service runs
 * against a Kafka of this test's own (support/throwaway-kafka.ts; the shared one is never touched),
 * which the test kills with SIGKILL and starts again on the same store, as `make up` after a crash would.
 *
 * Holds:
 *  - every consumer group that handled channel and cart events before the kill (read from the
 *    `sync.applied` acks, so no group is named here) applies a new event, made right after the broker
 *    is ready again, within 2 s of that moment (ack.appliedAt − ready);
 *  - a cart write during the outage is never a 500, and if it was acknowledged its event is applied
 *    by every cart-event group within 5 s of the broker's return;
 *  - no group applied any event twice (every re-delivery acknowledged skipped_duplicate).
 * The measured figures are printed. Bounded: the broker is down for the few seconds a restart takes.
 */
import { addOne } from '../support/cart-fixture';
import { startCrashStack, stopCrashStack, type CrashStack } from '../support/crash-stack';
import { channelRegistration, until, type Reply } from '../support/omnimall';
import { logsOnFailure } from '../support/stack';

const RESUME_MS = 2_000;
const OUTAGE_EVENTS_MS = 5_000;
const TOPICS = ['channels.channel-changed', 'cart.cart-changed'];
/**
 * How long the test waits for an ack to reach its observer. The figures are the consumers' own
 * `appliedAt`, so a slow observer (its own fetch after the broker restart can stall) lengthens the
 * wait, never the measured lag.
 */
const OBSERVE_MS = 60_000;

const c: Partial<CrashStack> = {};
const withLogs = logsOnFailure(() => c.stack);

beforeAll(() => startCrashStack(TOPICS, c), 120_000);
afterAll(() => stopCrashStack(c), 90_000);

/** The groups that applied events of `topic` (their acks name the group and the topic). */
async function groupsOf(topic: string): Promise<Set<string>> {
  return new Set((await c.log!.acks()).filter((a) => a.topic === topic && a.outcome === 'applied').map((a) => a.consumer));
}

/** Waits for an applied ack of `eventId` from each group; returns each group's appliedAt. */
async function appliedBy(eventId: string, groups: Set<string>, timeoutMs: number): Promise<Map<string, number>> {
  let missing: string[] = [...groups];
  return until(
    () => `event ${eventId} applied by every group (still missing: ${missing.join(', ')})`,
    async () => {
      const at = new Map((await c.log!.acks(eventId)).filter((a) => a.outcome === 'applied').map((a) => [a.consumer, Number(a.appliedAt)]));
      missing = [...groups].filter((g) => !at.has(g));
      return !missing.length && at;
    },
    timeoutMs,
    50,
  );
}

/** The event id a request caused on `topic` (found by its correlation id). */
async function eventOf(topic: string, r: Reply, timeoutMs: number): Promise<string> {
  return until(
    `the ${topic} event of ${r.correlationId}`,
    async () => (await c.log!.published(topic)).find((p) => p.correlationId === r.correlationId)?.eventId,
    timeoutMs,
    50,
  );
}

it(
  'every consumer applies a new event within 2 s of the broker being ready after a SIGKILL, and nothing twice',
  () =>
    withLogs(async () => {
      const { kafka, stack, api, world } = c as CrashStack;
      // before: every group has applied the events of the fixture
      const warm = await addOne(api, world, world.devices[0]);
      expect(warm.status).toBe(200);
      await eventOf('cart.cart-changed', warm, 10_000);
      // the catalogue's consumers of cart.cart-changed (cart, channels, sync-monitor) have all applied it
      const cartGroups = await until(
        'every consumer service to apply the warm-up cart event',
        async () => {
          const g = await groupsOf('cart.cart-changed');
          return ['cart', 'channels', 'sync-monitor'].every((svc) => [...g].some((x) => x.startsWith(`${svc}.`))) && g;
        },
        OBSERVE_MS,
        50,
      );
      const channelGroups = await groupsOf('channels.channel-changed');
      // each consuming service of the catalogue is there (a group is named <service>.<purpose>.<run tag>)
      const services = new Set([...channelGroups].map((g) => g.split('.')[0]));
      expect([...services].sort()).toEqual([
        'cart',
        'catalog-sync',
        'channels',
        'identity',
        'inventory',
        'orders',
        'promotions',
        'sync-monitor',
      ]);
      expect(cartGroups.size).toBeGreaterThanOrEqual(3);

      const killedAt = await kafka.kill();
      // a write while the broker is gone: never a 500 (accepted into the outbox, or 503 broker_unavailable)
      const during = await addOne(api, world, world.devices[1]);
      expect(during.status).not.toBe(500);
      const readyAt = await kafka.start();

      const channel = await api.call('channels', 'post', '/channels', {
        token: world.admin.token,
        body: channelRegistration(`after-${stack.tag}`, 'web', world.admin.id),
      });
      const cart = await addOne(api, world, world.devices[0]);
      expect([channel.status, cart.status]).toEqual([201, 200]);
      const [channelEvent, cartEvent] = await Promise.all([
        eventOf('channels.channel-changed', channel, OBSERVE_MS),
        eventOf('cart.cart-changed', cart, OBSERVE_MS),
      ]);
      const [channelAt, cartAt] = await Promise.all([
        appliedBy(channelEvent, channelGroups, OBSERVE_MS),
        appliedBy(cartEvent, cartGroups, OBSERVE_MS),
      ]);
      const appended = Object.fromEntries(
        await Promise.all(
          [
            ['channels.channel-changed', channelEvent],
            ['cart.cart-changed', cartEvent],
          ].map(async ([topic, id]) => [
            topic,
            ((await c.log!.published(topic)).find((p) => p.eventId === id)?.appendedAt ?? NaN) - readyAt,
          ]),
        ),
      );
      const resume = Object.fromEntries([...channelAt, ...cartAt].map(([g, at]) => [g.replace(`.${stack.tag}`, ''), at - readyAt]));
      let outage = 'answered ' + during.status;
      let outageApplied = 0;
      if (during.status === 200) {
        const outageEvent = await eventOf('cart.cart-changed', during, OBSERVE_MS);
        const at = await appliedBy(outageEvent, cartGroups, OBSERVE_MS);
        outageApplied = Math.max(...at.values()) - readyAt;
        outage += `, applied everywhere ${outageApplied} ms after the broker was ready`;
      }
      console.log(
        `broker down ${readyAt - killedAt} ms (kill → ready); write during the outage ${outage}; ` +
          `new events appended ${JSON.stringify(appended)} and applied, ms after ready: ${JSON.stringify(resume)}`,
      );
      expect(outageApplied).toBeLessThanOrEqual(OUTAGE_EVENTS_MS);
      expect(Object.entries(resume).filter(([, ms]) => ms > RESUME_MS)).toEqual([]);
      expect(await c.log!.appliedTwice()).toEqual([]);
    }),
  240_000,
);
