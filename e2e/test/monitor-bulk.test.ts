/**
 * Issue 19, item 7 (first half): high-priority tracking does not wait behind a bulk sync. The five
 * services run as processes, the sync-monitor tracking every event as in production (the bulk's
 * events carry correlation ids of their own). 3,000 products are synced to 5 channels (15,000 local
 * items, jobs of 1,000); once the first job has finished and the others are queued, a ban (identity,
 * `identity.customer-status`) and a cart write (`cart.cart-changed`) are made. For each, within ISOLATION_MS
 * of its request's response the monitor's GET /propagation/events?correlationId= shows the event with
 * a successful ack (applied or skipped_duplicate) of every consumer service the topic catalogue
 * expects, each with lagMs = appliedAt − occurredAt, both within ISOLATION_MS (not behind the bulk). The bulk is shown to be in flight around the changes (a job not yet
 * finished after both were made) and tracked by the monitor (its groups handled at least as many
 * envelopes as there are local items).
 */
import { topicSpec } from '@omnimall/contracts';
import { logsOnFailure } from '../support/stack';
import { until, type Reply } from '../support/omnimall';
import {
  firstAcks,
  HighPriorityChanges,
  isTracked,
  monitorConsumed,
  seedProducts,
  startBulkPlatform,
  trackingHealth,
  whenTracked,
  type BulkPlatform,
  type Change,
  type Tracked,
} from '../../services/sync-monitor/bench/bulk-platform';

/**
 * Bound on "not behind the bulk": the changes are shown tracked, and were applied, well before the
 * bulk itself could have been tracked (its 15,000 local items take the platform about 25 s here;
 * before the ack lanes a change made during it was shown after 14 s to minutes). The 2 s targets are
 * figures, measured as percentiles by the `monitor-after-bulk` benchmark row, not asserted per run.
 */
const ISOLATION_MS = 10_000;
const PRODUCTS = 3000;
const SLICE = 1000;

let p: BulkPlatform | undefined;
const withLogs = logsOnFailure(() => p?.stack);

beforeAll(async () => {
  p = await startBulkPlatform();
}, 90_000);

afterAll(async () => {
  await p?.stack.stop();
}, 30_000);

const jobState = async (id: string): Promise<{ state: string; listed: number }> =>
  (await p!.api.expect(200, 'catalog-sync', 'get', `/bulk-sync/jobs/${id}`, { token: p!.seller.token })).body;

it(
  'a ban and a cart change made during a 3,000 × 5 bulk sync are tracked with every expected ack while the bulk runs, not behind it',
  () =>
    withLogs(async () => {
      const { api } = p!;
      const ids = await seedProducts(p!, PRODUCTS);
      const before = await monitorConsumed(p!);
      const submit = async (part: string[]): Promise<Reply> =>
        api.expect(202, 'catalog-sync', 'post', '/bulk-sync', {
          token: p!.seller.token,
          body: { channels: p!.channels, productIds: part },
        });
      const jobs = [await submit(ids.slice(0, SLICE))];
      await until('the first bulk job', async () => (await jobState(jobs[0].body.id)).state === 'succeeded', 30_000, 20);
      for (let i = SLICE; i < PRODUCTS; i += SLICE) jobs.push(await submit(ids.slice(i, i + SLICE)));

      // The changes, while the later jobs run.
      const changes = new HighPriorityChanges(p!);
      const made: Change[] = [await changes.next(), await changes.next()];
      const states = await Promise.all(jobs.slice(1).map((j) => jobState(j.body.id)));
      expect(made.map((c) => c.kind)).toEqual(['standing', 'cart']);
      expect(made[0].reply.body).toMatchObject({ customerId: p!.victim.id, status: 'banned' });
      // The bulk was still in flight once both changes were made.
      expect(states.some((s) => s.state !== 'succeeded')).toBe(true);

      const tracked = await Promise.all(made.map((c) => whenTracked(p!, c, 10_000)));
      for (const [i, r] of tracked.entries()) {
        const c = made[i];
        // Not tracked in time: what the monitor showed, its own lag, and (once it caught up) the
        // consumers' own lags, tell a late consumer from a monitor behind its acks.
        if (!isTracked(r)) {
          const health = await trackingHealth(p!);
          const later = await whenTracked(p!, c, 30_000);
          const lags = isTracked(later) ? Object.fromEntries([...firstAcks(later.event)].map(([s, a]) => [s, a?.lagMs])) : null;
          throw new Error(
            `${c.topic} (${c.correlationId}) not tracked within 10 s; the monitor showed ${JSON.stringify(r.last)}; its health then ${JSON.stringify(health)}; ` +
              `ack lags per service once shown (ms): ${JSON.stringify(lags)}, shown after ${isTracked(later) ? later.trackedAt - c.reply.at : '>40000'} ms`,
          );
        }
        const t = r;
        const { event } = t;
        expect([...event.expected].sort()).toEqual([...topicSpec(c.topic).consumers].sort());
        expect(t.trackedAt - c.reply.at).toBeLessThanOrEqual(ISOLATION_MS);
        for (const [service, ack] of firstAcks(event)) {
          expect({ service, applied: !!ack }).toEqual({ service, applied: true });
          expect(ack!.lagMs).toBe(ack!.appliedAt - event.occurredAt);
          expect(ack!.lagMs).toBeLessThan(ISOLATION_MS);
        }
      }
      expect((tracked[0] as Tracked).event.aggregateId).toBe(p!.victim.id);

      // The bulk finished, and the monitor tracked it (an envelope per local item at least).
      const finished = await Promise.all(
        jobs.map((j) =>
          until(`bulk job ${j.body.id}`, async () => ((s) => (s.state === 'succeeded' ? s : null))(await jobState(j.body.id)), 30_000, 50),
        ),
      );
      const listed = finished.reduce((n, s) => n + s.listed, 0);
      expect(listed).toBe(PRODUCTS * p!.channels.length);
      await until(
        'the monitor to track the bulk',
        async () => (await monitorConsumed(p!)).envelopes - before.envelopes >= listed,
        30_000,
        200,
      );
    }),
  90_000,
);
