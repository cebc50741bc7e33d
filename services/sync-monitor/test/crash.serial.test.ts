/**
 * The monitor killed mid-stream and started again, on the real stack (issue 19, item 7; issue 18's
 * effect-once). The crash is simulated in-process: from a point on, no snapshot is stored (so no
 * offset is committed either: the groups commit only what a snapshot holds), while the monitor goes
 * on tracking and acknowledging; then it stops, leaving state and offsets where a SIGKILL would.
 * A second monitor on the same database and groups restores the last snapshot and replays.
 * Expected: every event tracked (none lost), each envelope applied once by the monitor (its copies
 * acknowledged `skipped_duplicate`), each lag counted once, and an event left late at the crash
 * escalated exactly once, by the second monitor.
 */
import { randomUUID } from 'node:crypto';
import type { RunningService } from '@omnimall/service-kit';
import { testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import type { Tracking } from '../src/domain/propagation';
import type { SyncMonitorExposes } from '../src/main';
import { startHarness, TOPIC, type Harness } from './support/harness';

jest.setTimeout(180_000);

let h: Harness;
let again: RunningService<SyncMonitorExposes> | undefined;
let recorder: TopicRecorder;

beforeAll(async () => {
  h = await startHarness({ snapshotIntervalMs: 300, escalateAfterMs: 3000 });
  recorder = await new TopicRecorder(testKafka(), ['sync.escalation']).start();
});

afterAll(async () => {
  await recorder?.stop();
  await again?.stop();
  await h?.stop();
});

const monitorOutcomes = (t: Tracking): string[] =>
  t.acks
    .filter((a) => a.group.startsWith('sync-monitor.track-'))
    .map((a) => a.outcome)
    .sort();

async function all(monitor: RunningService<SyncMonitorExposes>, ids: string[], pred: (t: Tracking) => boolean): Promise<Tracking[]> {
  const found = await Promise.all(ids.map((id) => monitor.events.find(id)));
  return found.every((t) => t && pred(t)) ? (found as Tracking[]) : [];
}

it('restores the last snapshot and replays: nothing lost, nothing applied or counted twice, escalations still fire', async () => {
  const first = h.monitor;
  const before = await Promise.all(Array.from({ length: 20 }, () => h.publish({ channel: 'web' })));
  // Every partition gets a record before the crash: a partition the group never committed starts at
  // the end after a restart (the kit's start of a new group), so its records would not be replayed.
  const admin = testKafka().admin();
  await admin.connect();
  const count = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.length;
  while (Array.from({ length: count }, (_, p) => first.ingest.positions.of(TOPIC, p)).some((n) => n === undefined)) {
    before.push(await h.publish({ channel: 'web' }));
    await new Promise((r) => setTimeout(r, 20));
  }
  // The same for the acknowledgements the monitor reads: every partition of sync.applied holds an ack
  // of this run before the crash, or the restarted acks group would start that partition at the end
  // and miss the acks written to it between the crash and its join.
  const ackPartitions = (await admin.fetchTopicMetadata({ topics: ['sync.applied'] })).topics[0].partitions.length;
  while (Array.from({ length: ackPartitions }, (_, p) => first.ingest.positions.of('sync.applied', p)).some((n) => n === undefined)) {
    before.push(await h.publish({ channel: 'web' }));
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const [name, topic] of [
    ['track-high', TOPIC],
    ['acks', 'sync.applied'],
  ] as const) {
    const groupId = first.consumers[name].group;
    await waitFor(async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return offsets.partitions.every((p) => Number(p.offset) >= 0);
    }, `an offset committed on every partition of ${topic}`);
  }
  await admin.disconnect();
  await waitFor(
    () => all(first, before, (t) => t.state === 'complete' && monitorOutcomes(t).includes('applied')),
    'the first events tracked',
  );
  const trackedAt = Date.now();
  // A snapshot holding them (taken here: the groups' next commit may have come before they were all
  // tracked, and nothing else need arrive to make another).
  await first.snapshots.take();
  expect(first.snapshots.last.at).toBeGreaterThanOrEqual(trackedAt);

  // The crash: no snapshot is stored from now on, so no offset is committed either (one more,
  // queued behind any in progress, so none captured later is still being written).
  const take = first.snapshots.take.bind(first.snapshots);
  first.snapshots.take = () => Promise.reject(new Error('crashed'));
  await take();
  const after = await Promise.all(Array.from({ length: 20 }, () => h.publish({ channel: 'web' })));
  const late = await h.publishGhost('web', `cus_${randomUUID().slice(0, 8)}`); // expects a service that never answers
  await waitFor(
    () => all(first, after, (t) => t.state === 'complete' && monitorOutcomes(t).includes('applied')),
    'the later events tracked',
  );
  await waitFor(() => first.events.find(late), 'the late event seen');
  await first.stop();

  const t0 = Date.now();
  again = await h.startMonitorAgain();
  expect(Date.now() - t0).toBeLessThan(10_000); // ready within 10 s

  // None lost: every event tracked again, complete; the late one escalated once. (The replay waits for
  // the restarted groups to join and read from their commits: on a loaded two-core machine that has
  // taken over 30 s, so the bound is generous; readiness itself is held to 10 s above.)
  const replayed = await waitFor(
    () => all(again!, after, (t) => t.state === 'complete' && monitorOutcomes(t).length === 2),
    'the replayed events acknowledged',
    60_000,
  );
  // Applied once: the copy the second monitor read is acknowledged as a duplicate.
  for (const t of replayed) expect(monitorOutcomes(t)).toEqual(['applied', 'skipped_duplicate']);
  // Records between the last commit and the snapshot are read again too: held by the state, copies.
  for (const t of await all(again, before, () => true)) expect(monitorOutcomes(t).filter((o) => o === 'applied')).toEqual(['applied']);
  // Counted once: one lag sample per event of the sim consumer, across the crash.
  const samples = before.length + after.length;
  await waitFor(
    () => again!.events.windows.percentiles('1h', Date.now(), { consumer: h.sim }).count === samples,
    'one lag sample per event',
  );
  expect(again.events.windows.percentiles('1h', Date.now(), { consumer: h.sim }).count).toBe(samples);

  const escalated = await waitFor(async () => {
    const t = await again!.events.find(late);
    return t?.escalation?.status === 'opened' ? t : null;
  }, 'the late event escalated after the restart');
  expect(escalated.state).toBe('escalated');
  const opened = async () => {
    const out: string[] = [];
    for (const r of recorder.where((x) => x.topic === 'sync.escalation')) {
      const v = (await again!.runtime.schemas.decode(r.message.value as Buffer)) as { eventId: string; status: string };
      if (v.eventId === late && v.status === 'opened') out.push(v.eventId);
    }
    return out;
  };
  await waitFor(opened, 'sync.escalation opened');
  expect(await opened()).toEqual([late]);
});
