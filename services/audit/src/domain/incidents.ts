/**
 * The per-channel incident feed for business users (channel managers, sellers, admins): open
 * incidents, delays, recoveries, maintenance, blocks and known limitations, in words a seller
 * understands. Pure: from a recorded event (an escalation, a notice, a channel's change) and the
 * entries it may close, to the entries to store; how a stored entry and a newer version of it merge.
 *
 * Entries are keyed so that applying a record twice changes nothing: an escalation's entries by
 * escalationId and channel, a notice's by noticeId, a channel's maintenance and blocks by the channel
 * and the event that opened them, a limitation by its own id. A resolved entry never reopens, and a
 * record older than an entry's last change does not change it (a replay after later changes).
 */

/** The channel code of platform-wide entries (shown on every channel's feed). */
export const ALL_CHANNELS = '*';

export const ENTRY_KINDS = ['incident', 'delay', 'recovery', 'maintenance', 'blocked', 'limitation'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];
export const ENTRY_STATUSES = ['open', 'resolved'] as const;
export type EntryStatus = (typeof ENTRY_STATUSES)[number];

/** The record an entry was last changed by, or the API call that wrote it (limitations). */
export type EntrySource = { topic: string; eventId: string; index: number } | { api: string; by: string };

export interface FeedEntry {
  id: string;
  /** A channel code, or ALL_CHANNELS. */
  channel: string;
  kind: EntryKind;
  status: EntryStatus;
  title: string;
  detail: string;
  openedAt: number;
  resolvedAt?: number;
  /** When the entry last changed (orders replays and the feed). */
  updatedAt: number;
  /** What groups entries that close together: the escalation id, `channel:<code>`, or `limitation`. */
  ref: string;
  /** A blocked entry's block reason. */
  reason?: string;
  /** A limitation's announced end (epoch ms). */
  until?: number;
  source: EntrySource;
}

/** What the feed reads of a recorded event (a subset of the stored evidence). */
export interface FeedRecord {
  index: number;
  topic: string;
  eventId: string;
  /** When the event happened (its envelope). */
  occurredAt: number;
  payload?: unknown;
}

export const FEED_TOPICS = ['sync.escalation', 'sync.notice', 'channels.channel-changed'] as const;

type Json = Record<string, unknown>;
const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const texts = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : []);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The entries this record may close are those whose `ref` it names (null: the record is not for the feed). */
export function refOf(r: FeedRecord): string | null {
  const p = r.payload as Json | undefined;
  if (!p) return null;
  if (r.topic === 'sync.escalation' || r.topic === 'sync.notice') return text(p.escalationId);
  if (r.topic === 'channels.channel-changed') {
    const code = text(p.code);
    return code ? channelRef(code) : null;
  }
  return null;
}

export const channelRef = (code: string): string => `channel:${code}`;

/** What part of a seller's business a topic or event type is about, in their words. */
export function areaOf(topicOrType: string): string {
  const head = topicOrType.toLowerCase().split(/[.\-_]/)[0];
  const areas: Array<[RegExp, string]> = [
    [/^(catalog|catalogue|product|products|listing)$/, 'your catalogue'],
    [/^(inventory|stock|reservation)$/, 'stock levels'],
    [/^(promotions|promotion|price|pricing|loyalty|tier|usage)$/, 'promotions and prices'],
    [/^(orders|order|partner|fulfilment|payment)$/, 'order statuses'],
    [/^(channels|channel)$/, 'channel settings'],
    [/^(identity|customer|staff|data)$/, 'customer accounts'],
    [/^(cart|carts)$/, 'shopping carts'],
  ];
  return areas.find(([re]) => re.test(head))?.[1] ?? 'the platform';
}

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** A duration as a person says it (seconds, minutes, hours). */
export function spoken(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} minutes`;
  const h = Math.round(m / 60);
  return `${h} hour${h === 1 ? '' : 's'}`;
}

/** An instant as readable UTC text ("2026-12-07 14:05 UTC"). */
export const when = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Where a record came from, as an entry's source. */
const sourceOf = (r: FeedRecord): EntrySource => ({ topic: r.topic, eventId: r.eventId, index: r.index });

/** An open entry closed by a record (or an API call) at `at`. */
export function resolved(e: FeedEntry, at: number, source: EntrySource, title?: string, detail?: string): FeedEntry {
  return { ...e, status: 'resolved', resolvedAt: at, updatedAt: at, source, title: title ?? e.title, detail: detail ?? e.detail };
}

function escalationEntries(r: FeedRecord, p: Json, open: readonly FeedEntry[]): FeedEntry[] {
  const escalationId = text(p.escalationId);
  if (!escalationId) return [];
  const area = areaOf(text(p.topic) ?? text(p.eventType) ?? '');
  const channels = texts(p.channels);
  const targets = channels.length ? [...new Set(channels)] : [ALL_CHANNELS];
  const ageMs = num(p.ageMs) ?? 0;
  const retries = num(p.retries) ?? 0;
  const status = text(p.status);
  const base = { kind: 'incident' as const, ref: escalationId, openedAt: r.occurredAt, updatedAt: r.occurredAt, source: sourceOf(r) };
  if (status === 'opened') {
    return targets.map((channel) => ({
      ...base,
      id: `incident:${escalationId}:${channel}`,
      channel,
      status: 'open',
      title: `Updates to ${area} are delayed`,
      detail:
        `A change made at ${when(r.occurredAt - ageMs)} has not reached every part of the platform after ${spoken(ageMs)}. ` +
        `It is being retried automatically (${retries} ${retries === 1 ? 'retry' : 'retries'} so far); you do not need to do anything. ` +
        'This entry is updated when it recovers.',
    }));
  }
  if (status !== 'resolved' && status !== 'reconciled') return [];
  const title = `Recovered: updates to ${area} are up to date again`;
  const detail =
    status === 'reconciled'
      ? `Our team applied the delayed change by hand at ${when(r.occurredAt)}; it now shows everywhere.`
      : `The delayed change now shows everywhere (it took ${spoken(ageMs)}).`;
  const closing: FeedEntry[] = targets.map((channel) => ({
    ...base,
    id: `incident:${escalationId}:${channel}`,
    channel,
    status: 'resolved',
    resolvedAt: r.occurredAt,
    title,
    detail,
  }));
  // every entry of this escalation still open (its delays, channels the closing record no longer names)
  for (const e of open)
    if ((e.kind === 'incident' || e.kind === 'delay') && e.status === 'open' && !closing.some((c) => c.id === e.id))
      closing.push(resolved(e, r.occurredAt, sourceOf(r), e.kind === 'incident' ? title : `Recovered: ${lowerFirst(e.title)}`, detail));
  return closing;
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

function noticeEntries(r: FeedRecord, p: Json, open: readonly FeedEntry[]): FeedEntry[] {
  const noticeId = text(p.noticeId);
  const escalationId = text(p.escalationId);
  if (!noticeId || !escalationId) return [];
  const channel = text(p.channel) ?? ALL_CHANNELS;
  const area = areaOf(text(p.eventType) ?? '');
  const base = { ref: escalationId, channel, openedAt: r.occurredAt, updatedAt: r.occurredAt, source: sourceOf(r) };
  if (p.kind === 'propagation_delayed')
    return [
      {
        ...base,
        id: `delay:${noticeId}`,
        kind: 'delay',
        status: 'open',
        title: `${capital(area)}: recent changes are delayed`,
        detail: 'Some recent changes are taking longer than usual to appear everywhere. We are on it; you do not need to do anything.',
      },
    ];
  if (p.kind !== 'propagation_recovered') return [];
  const detail = 'The delayed changes now show on every channel.';
  return [
    {
      ...base,
      id: `recovery:${noticeId}`,
      kind: 'recovery',
      status: 'resolved',
      resolvedAt: r.occurredAt,
      title: `Recovered: ${area} ${area.endsWith('s') ? 'are' : 'is'} up to date again`,
      detail,
    },
    // the delays this escalation opened on the same feed close with it
    ...open
      .filter((e) => e.kind === 'delay' && e.status === 'open' && e.channel === channel)
      .map((e) => resolved(e, r.occurredAt, sourceOf(r), `Recovered: ${lowerFirst(e.title)}`, detail)),
  ];
}

/** A block reason in words. */
export function blockWords(reason: string): string {
  const known: Record<string, string> = {
    outdated_branding: 'the channel’s branding needs updating',
    missing_compliance_text: 'legal or compliance texts are missing',
  };
  return known[reason] ?? reason.replace(/[_-]+/g, ' ');
}

function channelEntries(r: FeedRecord, p: Json, open: readonly FeedEntry[]): FeedEntry[] {
  const code = text(p.code);
  if (!code) return [];
  const name = text(p.name) ?? code;
  const state = text(p.state) ?? '';
  const back = num(p.expectedBackAt);
  const reasons = [...new Set(texts(p.blockReasons))];
  const out: FeedEntry[] = [];
  const base = {
    channel: code,
    ref: channelRef(code),
    status: 'open' as const,
    openedAt: r.occurredAt,
    updatedAt: r.occurredAt,
    source: sourceOf(r),
  };
  // a change older than an open entry's last change is a replay: it neither changes nor closes it
  const current = (e: FeedEntry): boolean => e.status === 'open' && r.occurredAt >= e.updatedAt;

  const maintenance = open.find((e) => e.kind === 'maintenance' && e.status === 'open');
  const maintenanceDetail = `Customers cannot buy on ${name} while it is in maintenance. ${back !== null ? `Expected back at ${when(back)}.` : 'No return time announced yet.'}`;
  if (state === 'maintenance') {
    if (!maintenance)
      out.push({
        ...base,
        id: `maintenance:${code}:${r.eventId}`,
        kind: 'maintenance',
        title: `${name} is in maintenance`,
        detail: maintenanceDetail,
      });
    else if (current(maintenance) && maintenance.detail !== maintenanceDetail)
      out.push({ ...maintenance, detail: maintenanceDetail, updatedAt: r.occurredAt, source: sourceOf(r) });
  } else if (maintenance && current(maintenance)) {
    out.push(
      resolved(
        maintenance,
        r.occurredAt,
        sourceOf(r),
        `Recovered: ${name} is back`,
        `The maintenance ended at ${when(r.occurredAt)}; ${name} trades normally again.`,
      ),
    );
  }

  const blocked = open.filter((e) => e.kind === 'blocked' && e.status === 'open');
  for (const reason of reasons)
    if (!blocked.some((e) => e.reason === reason))
      out.push({
        ...base,
        id: `blocked:${code}:${reason}:${r.eventId}`,
        kind: 'blocked',
        reason,
        title: `Sales on ${name} are paused`,
        detail: `Customers cannot buy on ${name} until this is fixed: ${blockWords(reason)}.`,
      });
  for (const e of blocked)
    if (e.reason && !reasons.includes(e.reason) && current(e))
      out.push(
        resolved(
          e,
          r.occurredAt,
          sourceOf(r),
          `Recovered: sales on ${name} resumed`,
          `Fixed at ${when(r.occurredAt)}: ${blockWords(e.reason)}.`,
        ),
      );
  return out;
}

/**
 * The entries a recorded event creates or changes. `open`: the stored open entries sharing its
 * `refOf` (what it may close or update). Entries already as stored come back too: `merge` tells.
 */
export function feedChanges(r: FeedRecord, open: readonly FeedEntry[]): FeedEntry[] {
  const p = r.payload as Json | undefined;
  if (!p) return [];
  if (r.topic === 'sync.escalation') return escalationEntries(r, p, open);
  if (r.topic === 'sync.notice') return noticeEntries(r, p, open);
  if (r.topic === 'channels.channel-changed') return channelEntries(r, p, open);
  return [];
}

const sameContent = (a: FeedEntry, b: FeedEntry): boolean =>
  a.status === b.status && a.title === b.title && a.detail === b.detail && a.resolvedAt === b.resolvedAt && a.until === b.until;

/**
 * What to store when `incoming` meets the stored `existing` (same id), or null when nothing changes:
 * a resolved entry never reopens, an older version never overwrites a newer one, an identical one is
 * no change; the entry keeps its first opening time.
 */
export function merge(existing: FeedEntry | null, incoming: FeedEntry): FeedEntry | null {
  if (!existing) return incoming;
  if (existing.status === 'resolved' && incoming.status === 'open') return null;
  if (incoming.updatedAt < existing.updatedAt && existing.status === incoming.status) return null;
  if (sameContent(existing, incoming)) return null;
  return { ...incoming, openedAt: Math.min(existing.openedAt, incoming.openedAt) };
}

export interface LimitationInput {
  title: string;
  detail: string;
  until?: number;
}

/** A known limitation written by an admin or a channel manager. */
export function limitationEntry(id: string, channel: string, input: LimitationInput, by: string, at: number): FeedEntry {
  return {
    id,
    channel,
    kind: 'limitation',
    status: 'open',
    title: input.title,
    detail: input.detail,
    openedAt: at,
    updatedAt: at,
    ref: 'limitation',
    ...(input.until !== undefined ? { until: input.until } : {}),
    source: { api: `POST /audit/channels/${channel}/limitations`, by },
  };
}

/** Open entries first, then the newest change first (ties by id, so pages are stable). */
export function feedOrder(a: FeedEntry, b: FeedEntry): number {
  if (a.status !== b.status) return a.status === 'open' ? -1 : 1;
  if (a.updatedAt !== b.updatedAt) return b.updatedAt - a.updatedAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The subscriptions' channels an entry is delivered to: its own and '*' (a platform-wide entry: every subscription). */
export function deliveredTo(entry: Pick<FeedEntry, 'channel'>, subscriptionChannel: string): boolean {
  return entry.channel === ALL_CHANNELS || subscriptionChannel === ALL_CHANNELS || subscriptionChannel === entry.channel;
}

/** The wait before attempt `attempts + 1` of a webhook delivery (doubling from `baseMs`, at most `maxMs`). */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}
