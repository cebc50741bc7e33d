/**
 * A follower of the log (erasure, the incident feed) sees every record once chained, whatever fails:
 * on the real database, a hand-over that fails is caught up from the stored log, a follower restarted
 * behind resumes from its saved cursor, and a new one starts at the log's end.
 */
import { merkleLeafOf, chainRecord, type EvidenceRecord } from '@omnimall/evidence';
import { createLogger, ServiceRuntime } from '@omnimall/service-kit';
import { testConfig } from '@omnimall/service-kit/testing';
import { LogFollower } from '../src/application/follower';
import { MongoCursors } from '../src/store/cursors';
import { MongoLog, type StoredEvidence } from '../src/store/evidence';

let rt: ServiceRuntime;
let log: MongoLog;
let cursors: MongoCursors;
const logger = createLogger('audit-test', 'error');

beforeAll(async () => {
  rt = await ServiceRuntime.start({ config: testConfig('audit'), produces: [] });
  log = await MongoLog.create(rt.db);
  cursors = MongoCursors.of(rt.db);
});
afterAll(async () => {
  await rt?.db.dropDatabase();
  await rt?.stop();
});

let last: EvidenceRecord | null = null;
async function appendOne(): Promise<StoredEvidence> {
  const offset = String(last === null ? 0 : Number(last.offset) + 1);
  const r = chainRecord(
    {
      source: 'identity',
      topic: 'identity.data-request',
      partition: 0,
      offset,
      eventId: `e-${offset}`,
      type: 'data-request.erasure',
      actor: null,
      subjects: [{ kind: 'customer', ref: `cus-${offset}` }],
      channel: null,
      occurredAt: 1,
      recordedAt: 2,
      payload: { n: Number(offset) },
    },
    last === null ? null : { index: last.index, hash: last.hash },
  );
  const stored: StoredEvidence = { ...r, kind: 'business', leaf: merkleLeafOf(r).toString('hex'), ts: 1 };
  await log.append([stored], { size: r.index + 1, chainHead: r.hash }, { topic: r.topic, partition: 0, offset });
  last = r;
  return stored;
}

describe('a follower of the log', () => {
  it('catches a failed hand-over up from the stored log, and resumes from its saved cursor after a restart', async () => {
    const seen: number[] = [];
    let failNext = true;
    const handle = async (records: readonly StoredEvidence[]): Promise<void> => {
      if (failNext) {
        failNext = false;
        throw new Error('database briefly away');
      }
      seen.push(...records.map((r) => r.index));
    };
    const size = () => (last === null ? 0 : last.index + 1);
    const f = new LogFollower('test-follower', handle, { log, cursors, size, logger });
    await f.open();
    expect(f.position).toBe(0); // a new follower starts at the log's end (empty here)

    const a = await appendOne();
    await f.appended([a]); // fails: left behind
    const b = await appendOne();
    await f.appended([b]); // behind: not handed over out of order
    expect(seen).toEqual([]);
    await f.catchUp();
    expect(seen).toEqual([0, 1]);
    expect(await cursors.get('test-follower')).toBe(2);

    // a restart while records were chained without it: resumed from the saved cursor
    await appendOne();
    await appendOne();
    const again = new LogFollower('test-follower', handle, { log, cursors, size, logger });
    await again.open();
    expect(again.position).toBe(2);
    const c = await appendOne();
    await again.appended([c]); // behind since the start: left to the catch-up
    await again.catchUp();
    expect(seen).toEqual([0, 1, 2, 3, 4]);

    // caught up: the next record is handed over at once
    const d = await appendOne();
    await again.appended([d]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
