/** Unit tests of the outbox's pure parts: staged entries, the published-entries ledger, the last-written memory. */
import { newEvent } from '../src';
import { documentKey, entriesOf, unchangedSince } from '../src/events/outbox/entries';
import { LastWritten } from '../src/events/outbox/last-written';
import { PublishedEntries } from '../src/events/outbox/published';

const probe = (n: number) =>
  newEvent('platform.probe', { type: 't', producer: 'p', aggregateId: 'a', aggregateVersion: n }, { sequence: n, payload: '' });

describe('outbox entries', () => {
  it('numbers entries in write order and conditions a write on the revision read', () => {
    const events = [probe(1), probe(2), probe(3)];
    const seqs = events.map((e) => entriesOf(events)[e.value.envelope.eventId].seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(unchangedSince('a', { _id: 'a', writeRev: 4 })).toEqual({ _id: 'a', writeRev: 4 });
    expect(unchangedSince('a', null)).toEqual({ _id: 'a', writeRev: { $exists: false } });
    expect(documentKey('carts', 42)).toBe('carts:42');
  });
});

describe('PublishedEntries', () => {
  it('adds to a write the removal of the published entries still in the document, and forgets them once committed', () => {
    const ledger = new PublishedEntries();
    ledger.record('c', 'd1', ['e1', 'e2'], 1000);
    const current = { _id: 'd1', outbox: { e1: {} as never, e3: {} as never } }; // e2 was already removed
    const { update, dropped } = ledger.dropFrom('c', current, { $set: { v: 1 }, $inc: { outboxCount: 1 } });
    expect(update).toEqual({ $set: { v: 1 }, $unset: { 'outbox.e1': '' }, $inc: { outboxCount: 0 } });
    expect(dropped).toEqual(['e1', 'e2']);
    expect(ledger.dropFrom('c', null, { $set: { v: 1 } })).toEqual({ update: { $set: { v: 1 } }, dropped: [] });
    ledger.forget('c', 'd1', dropped);
    expect(ledger.of('c', 'd1')).toBeUndefined();
  });

  it('lists per collection the entries published long enough ago', () => {
    const ledger = new PublishedEntries();
    ledger.record('c', 'd1', ['old'], 1000);
    ledger.record('c', 'd1', ['new'], 5000);
    ledger.record('c', 'd2', ['newer'], 6000);
    ledger.record('k', 7, ['x'], 2000);
    expect([...ledger.dueBy(2000)]).toEqual([
      ['c', [{ docId: 'd1', wanted: ['old'] }]],
      ['k', [{ docId: 7, wanted: ['x'] }]],
    ]);
  });
});

describe('LastWritten', () => {
  it('keeps private copies of exclusive collections only, the least recently written going first', () => {
    const memory = new LastWritten(2);
    memory.markExclusive('owned');
    const doc = { _id: 'a', writeRev: 1 };
    memory.remember('owned', 'owned:a', doc);
    memory.remember('shared', 'shared:x', { _id: 'x' });
    doc.writeRev = 99;
    expect(memory.get('owned:a')).toEqual({ _id: 'a', writeRev: 1 });
    expect(memory.has('shared:x')).toBe(false);
    memory.remember('owned', 'owned:b', { _id: 'b' });
    memory.get('owned:a'); // a read is not a use
    memory.remember('owned', 'owned:c', { _id: 'c' });
    expect(['owned:a', 'owned:b', 'owned:c'].map((k) => memory.has(k))).toEqual([false, true, true]);
    memory.forget('owned:b');
    expect(memory.get('owned:b')).toBeUndefined();
  });

  it('keeps nothing when its size is 0', () => {
    const memory = new LastWritten(0);
    memory.markExclusive('owned');
    memory.remember('owned', 'owned:a', { _id: 'a' });
    expect(memory.has('owned:a')).toBe(false);
  });
});
