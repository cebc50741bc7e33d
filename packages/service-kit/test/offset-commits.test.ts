/**
 * What a member believes it committed, and where readers that commit nothing resume: the two facts a
 * rejoin after a broker restart relies on (events/consumer/offsets.ts, kafka/topics.ts OwnPositions).
 * Pure rules: the consumer is a stand-in that emits kafkajs' group events and records the commits
 * it is asked for (the broker side is covered by e2e/test/crash-broker-restart.test.ts).
 */
import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { OffsetCommitter } from '../src/events/consumer/offsets';
import { OwnPositions } from '../src/kafka/topics';
import { createLogger } from '../src/observability/logger';

const events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash', STOP: 'consumer.stop' } as Consumer['events'];

/** A consumer stand-in: `commitOffsets` resolves when the test says so (as kafkajs does, sent or not). */
class GroupMember extends EventEmitter {
  readonly events = events;
  readonly asked: Array<Array<{ topic: string; partition: number; offset: string }>> = [];
  private release?: () => void;
  commitOffsets(offsets: Array<{ topic: string; partition: number; offset: string }>): Promise<void> {
    this.asked.push(offsets);
    return new Promise((resolve) => (this.release = resolve));
  }
  resolveCommit(): void {
    this.release?.();
  }
}

const logger = createLogger('offset-commits-test', 'error');

function committer(member: GroupMember): OffsetCommitter {
  return new OffsetCommitter(member as unknown as Consumer, 'g', logger);
}

async function committed(c: OffsetCommitter, member: GroupMember): Promise<void> {
  const done = c.commit();
  await new Promise((r) => setImmediate(r));
  member.resolveCommit();
  await done;
}

describe('OffsetCommitter', () => {
  it('counts a commit made while joined', async () => {
    const member = new GroupMember();
    const c = committer(member);
    member.emit(events.GROUP_JOIN);
    c.handledUpTo('t', 0, '7');
    await committed(c, member);
    expect(member.asked).toEqual([[{ topic: 't', partition: 0, offset: '8' }]]);
    expect(c.hasCommitted('t', 0)).toBe(true);
  });

  it('sends nothing before the member joined, and sends it after the join', async () => {
    const member = new GroupMember();
    const c = committer(member);
    c.handledUpTo('t', 1, '3');
    await c.commit();
    expect(member.asked).toEqual([]);
    expect(c.hasCommitted('t', 1)).toBe(false);
    member.emit(events.GROUP_JOIN);
    await committed(c, member);
    expect(member.asked).toEqual([[{ topic: 't', partition: 1, offset: '4' }]]);
    expect(c.hasCommitted('t', 1)).toBe(true);
  });

  it('does not count a commit that resolved after a crash (kafkajs may have dropped it) and sends it again after the rejoin', async () => {
    const member = new GroupMember();
    const c = committer(member);
    member.emit(events.GROUP_JOIN);
    c.handledUpTo('t', 2, '10');
    const done = c.commit();
    await new Promise((r) => setImmediate(r));
    member.emit(events.CRASH, { payload: { restart: true } });
    member.resolveCommit();
    await done;
    expect(c.hasCommitted('t', 2)).toBe(false);
    // a commit while restarting is held back
    await c.commit();
    expect(member.asked).toHaveLength(1);
    member.emit(events.GROUP_JOIN);
    await committed(c, member);
    expect(member.asked[1]).toEqual([{ topic: 't', partition: 2, offset: '11' }]);
    expect(c.hasCommitted('t', 2)).toBe(true);
  });

  it('a later offset handled meanwhile supersedes the one kept back', async () => {
    const member = new GroupMember();
    const c = committer(member);
    member.emit(events.GROUP_JOIN);
    c.handledUpTo('t', 0, '1');
    const done = c.commit();
    await new Promise((r) => setImmediate(r));
    c.handledUpTo('t', 0, '5');
    member.emit(events.CRASH, { payload: { restart: true } });
    member.resolveCommit();
    await done;
    member.emit(events.GROUP_JOIN);
    await committed(c, member);
    expect(member.asked[1]).toEqual([{ topic: 't', partition: 0, offset: '6' }]);
  });
});

describe('OwnPositions', () => {
  it('seeks each partition to its start until read, then past the last record read', () => {
    const p = new OwnPositions([
      { topic: 'a', partition: 0, offset: '4' },
      { topic: 'a', partition: 1, offset: '0' },
    ]);
    p.passed('a', 0, '9');
    p.passed('b', 3, '2');
    const seeks: Array<{ topic: string; partition: number; offset: string }> = [];
    p.seekAll({ seek: (o) => void seeks.push(o) });
    expect(seeks).toEqual([
      { topic: 'a', partition: 0, offset: '10' },
      { topic: 'a', partition: 1, offset: '0' },
      { topic: 'b', partition: 3, offset: '3' },
    ]);
  });
});
