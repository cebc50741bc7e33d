/**
 * The incident feed's rules, without I/O: which entries escalations, notices and channel changes
 * make, in words a seller understands; how a replayed or older record leaves the feed unchanged;
 * the feed's order, webhook addresses and backoff; the dashboard page escapes what it shows.
 */
import {
  ALL_CHANNELS,
  areaOf,
  backoffMs,
  deliveredTo,
  feedChanges,
  feedOrder,
  limitationEntry,
  merge,
  refOf,
  spoken,
  type FeedEntry,
  type FeedRecord,
} from '../src/domain/incidents';
import { dashboard } from '../src/http/incidents';

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
let index = 0;

const escalation = (status: string, over: Record<string, unknown> = {}, at = T0): FeedRecord => ({
  index: index++,
  topic: 'sync.escalation',
  eventId: `e-${index}`,
  occurredAt: at,
  payload: {
    escalationId: 'esc-1',
    status,
    eventId: 'late-1',
    eventType: 'product.changed',
    topic: 'catalog.product-changed',
    laggingConsumers: ['catalog-sync.products-group'],
    channels: ['web-de', 'app-de'],
    rootCause: 'KafkaJSNumberOfRetriesExceeded',
    ageMs: 420_000,
    retries: 3,
    ...over,
  },
});

const notice = (kind: string, over: Record<string, unknown> = {}, at = T0): FeedRecord => ({
  index: index++,
  topic: 'sync.notice',
  eventId: `n-${index}`,
  occurredAt: at,
  payload: {
    noticeId: `ntc-${index}`,
    kind,
    audience: 'customer',
    channel: 'web-de',
    escalationId: 'esc-1',
    eventId: 'late-1',
    eventType: 'product.changed',
    subject: 'x',
    message: 'Event late-1 has not been applied by catalog-sync',
    recipientIds: [],
    ...over,
  },
});

const channel = (state: string, over: Record<string, unknown> = {}, at = T0): FeedRecord => ({
  index: index++,
  topic: 'channels.channel-changed',
  eventId: `c-${index}`,
  occurredAt: at,
  payload: { code: 'web-de', name: 'Web Germany', state, expectedBackAt: null, blockReasons: [], ...over },
});

/** Applies records in turn the way the application does (open entries by ref, merge), returning the stored entries. */
function replay(records: FeedRecord[], start: FeedEntry[] = []): Map<string, FeedEntry> {
  const stored = new Map(start.map((e) => [e.id, e]));
  for (const r of records) {
    const ref = refOf(r);
    const open = [...stored.values()].filter((e) => e.ref === ref && e.status === 'open');
    for (const e of feedChanges(r, open)) {
      const m = merge(stored.get(e.id) ?? null, e);
      if (m) stored.set(m.id, m);
    }
  }
  return stored;
}

describe('escalations', () => {
  it('open an incident on each affected channel in plain words, with no internal names', () => {
    const entries = feedChanges(escalation('opened'), []);
    expect(entries.map((e) => [e.id, e.channel, e.kind, e.status])).toEqual([
      ['incident:esc-1:web-de', 'web-de', 'incident', 'open'],
      ['incident:esc-1:app-de', 'app-de', 'incident', 'open'],
    ]);
    expect(entries[0].title).toBe('Updates to your catalogue are delayed');
    expect(entries[0].detail).toContain('7 minutes');
    for (const e of entries) expect(`${e.title} ${e.detail}`).not.toMatch(/catalog-sync|group|KafkaJS|no_ack|late-1|catalog\.product/);
    expect(entries[0].source).toMatchObject({ topic: 'sync.escalation', index: expect.any(Number) });
  });

  it('naming no channel, is a platform-wide incident', () => {
    const [e] = feedChanges(escalation('opened', { channels: [] }), []);
    expect(e.channel).toBe(ALL_CHANNELS);
  });

  it('resolved or reconciled, close every entry of the escalation, delays included', () => {
    const stored = replay([
      escalation('opened'),
      notice('propagation_delayed'),
      escalation('reconciled', { channels: ['web-de'] }, T0 + 60_000),
    ]);
    const all = [...stored.values()];
    expect(all).toHaveLength(3);
    expect(all.every((e) => e.status === 'resolved' && e.resolvedAt === T0 + 60_000)).toBe(true);
    expect(stored.get('incident:esc-1:app-de')!.title).toBe('Recovered: updates to your catalogue are up to date again');
    expect(stored.get('incident:esc-1:web-de')!.detail).toContain('by hand');
    expect(stored.get('incident:esc-1:web-de')!.openedAt).toBe(T0);
  });

  it('a replayed opening neither reopens nor duplicates', () => {
    const opened = escalation('opened');
    const resolvedRec = escalation('resolved', {}, T0 + 5000);
    const once = replay([opened, resolvedRec]);
    const twice = replay([opened, resolvedRec, opened, resolvedRec]);
    expect([...twice.values()]).toEqual([...once.values()]);
    expect([...twice.values()].every((e) => e.status === 'resolved')).toBe(true);
  });
});

describe('notices', () => {
  it('a delay goes on its channel; an admin notice for no channel on every channel', () => {
    const [d] = feedChanges(notice('propagation_delayed'), []);
    expect(d).toMatchObject({ kind: 'delay', status: 'open', channel: 'web-de', ref: 'esc-1' });
    expect(d.id).toMatch(/^delay:ntc-/);
    expect(d.detail).not.toContain('catalog-sync');
    const [admin] = feedChanges(notice('propagation_delayed', { audience: 'admin', channel: null }), []);
    expect(admin.channel).toBe(ALL_CHANNELS);
  });

  it('a recovery is a resolved entry and closes the delays of its escalation on its channel', () => {
    const stored = replay([notice('propagation_delayed'), notice('propagation_recovered', {}, T0 + 1000)]);
    const kinds = [...stored.values()].map((e) => [e.kind, e.status]);
    expect(kinds).toEqual([
      ['delay', 'resolved'],
      ['recovery', 'resolved'],
    ]);
    expect([...stored.values()][1].title).toMatch(/^Recovered: your catalogue is up to date again/);
  });
});

describe('channel changes', () => {
  it('maintenance opens an entry with its expected return, updates it, and the return to active closes it', () => {
    const back = Date.UTC(2026, 11, 7, 14, 0, 0);
    const stored = replay([channel('maintenance', { expectedBackAt: back })]);
    const [m] = [...stored.values()];
    expect(m).toMatchObject({ kind: 'maintenance', status: 'open', channel: 'web-de', title: 'Web Germany is in maintenance' });
    expect(m.detail).toContain('2026-12-07 14:00 UTC');
    const later = replay([channel('maintenance', { expectedBackAt: back + 3_600_000 }, T0 + 10)], [m]);
    expect(later.get(m.id)!.detail).toContain('15:00 UTC');
    const closed = replay([channel('active', {}, T0 + 20)], [...later.values()]);
    expect(closed.get(m.id)).toMatchObject({ status: 'resolved', resolvedAt: T0 + 20, title: 'Recovered: Web Germany is back' });
  });

  it('a replayed older change neither closes a newer maintenance nor reopens a closed one', () => {
    const first = channel('maintenance', {}, T0);
    const back = channel('active', {}, T0 + 100);
    const again = channel('maintenance', {}, T0 + 200);
    const stored = replay([first, back, again, first, back]);
    const entries = [...stored.values()].sort((a, b) => a.openedAt - b.openedAt);
    expect(entries.map((e) => e.status)).toEqual(['resolved', 'open']);
  });

  it('opens a blocked entry per block reason and closes each as its reason goes', () => {
    const stored = replay([channel('active', { blockReasons: ['outdated_branding', 'missing_compliance_text'] })]);
    expect([...stored.values()].map((e) => [e.kind, e.reason, e.status])).toEqual([
      ['blocked', 'outdated_branding', 'open'],
      ['blocked', 'missing_compliance_text', 'open'],
    ]);
    expect([...stored.values()][0].detail).toContain('branding needs updating');
    const after = replay([channel('active', { blockReasons: ['missing_compliance_text'] }, T0 + 5)], [...stored.values()]);
    expect([...after.values()].map((e) => [e.reason, e.status])).toEqual([
      ['outdated_branding', 'resolved'],
      ['missing_compliance_text', 'open'],
    ]);
  });

  it('ignores other topics and records without a payload', () => {
    expect(refOf({ index: 1, topic: 'orders.order-status', eventId: 'x', occurredAt: T0, payload: {} })).toBeNull();
    expect(feedChanges({ index: 1, topic: 'sync.notice', eventId: 'x', occurredAt: T0 }, [])).toEqual([]);
  });
});

describe('merging, order and delivery rules', () => {
  const lim = limitationEntry('lim_1', 'web-de', { title: 'Gift cards unavailable', detail: 'Until the provider is back' }, 'mgr-1', T0);

  it('keeps a resolved entry resolved, ignores identical and older versions', () => {
    const closed: FeedEntry = { ...lim, status: 'resolved', resolvedAt: T0 + 10, updatedAt: T0 + 10 };
    expect(merge(closed, lim)).toBeNull();
    expect(merge(lim, { ...lim })).toBeNull();
    expect(merge({ ...lim, updatedAt: T0 + 50, detail: 'new' }, { ...lim, detail: 'old' })).toBeNull();
    expect(merge(lim, closed)).toMatchObject({ status: 'resolved', openedAt: T0 });
    expect(merge(null, lim)).toBe(lim);
  });

  it('orders open entries first, then the newest change', () => {
    const e = (id: string, status: 'open' | 'resolved', updatedAt: number): FeedEntry => ({ ...lim, id, status, updatedAt });
    const sorted = [e('a', 'resolved', 9), e('b', 'open', 1), e('c', 'resolved', 10), e('d', 'open', 5)].sort(feedOrder);
    expect(sorted.map((x) => x.id)).toEqual(['d', 'b', 'c', 'a']);
  });

  it('delivers an entry to its channel’s and to * subscriptions; a platform-wide one to all', () => {
    expect(deliveredTo({ channel: 'web-de' }, 'web-de')).toBe(true);
    expect(deliveredTo({ channel: 'web-de' }, '*')).toBe(true);
    expect(deliveredTo({ channel: 'web-de' }, 'app-de')).toBe(false);
    expect(deliveredTo({ channel: '*' }, 'app-de')).toBe(true);
  });

  it('backs off doubling up to a cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1000, 5000))).toEqual([1000, 2000, 4000, 5000]);
  });

  it('says durations and areas in plain words', () => {
    expect(spoken(45_000)).toBe('45 seconds');
    expect(spoken(420_000)).toBe('7 minutes');
    expect(spoken(3 * 3_600_000)).toBe('3 hours');
    expect(areaOf('inventory.stock-changed')).toBe('stock levels');
    expect(areaOf('order.status-changed')).toBe('order statuses');
    expect(areaOf('something.else')).toBe('the platform');
  });
});

describe('the dashboard page', () => {
  it('shows open entries before the history and escapes every text', () => {
    const open = limitationEntry('lim_2', 'web-de', { title: '<script>alert(1)</script>', detail: 'a & b "c"' }, 'mgr', T0);
    const old: FeedEntry = { ...open, id: 'x', title: 'Old one', status: 'resolved', resolvedAt: T0 + 1, updatedAt: T0 + 1 };
    const html = dashboard('web-de', [open, old], T0 + 2);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('a &amp; b &quot;c&quot;');
    expect(html.indexOf('&lt;script&gt;')).toBeLessThan(html.indexOf('Old one'));
    expect(html.indexOf('Open now (1)')).toBeLessThan(html.indexOf('Recent history'));
  });
});
