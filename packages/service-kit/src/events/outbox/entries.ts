/**
 * The outbox inside a document: what a change's events look like once staged, and the update
 * operators that stage them.
 *
 * Guarantee: `withOutbox` puts a change's events into the very update that makes the change, under
 * `outbox.<eventId>` with `outboxCount` counting them, so the state change and its events are
 * committed together or not at all (one document is written whole, also on FerretDB, which has no
 * multi-document transactions). A caller's `$set` can never overwrite the fields the outbox owns.
 * Each entry names the process that committed it (`by`), so a restarted process can tell what its
 * crashed predecessor left unpublished (`orphaned`). Everything here is pure, except that
 * `orphaned` asks the operating system whether a pid is alive.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { UpdateQuery } from 'mongoose';
import { UnprocessableError } from '../../errors';
import type { OutgoingEvent } from '../envelope';

export interface OutboxEntry {
  topic: string;
  key: string;
  value: OutgoingEvent['value'];
  seq: number;
  createdAt: Date;
  /** Set when the entry cannot be published (its schema or the broker refuses it): kept, never published (see relay.ts). */
  parked?: { at: Date; problems: string[]; reason?: string };
  /** The process that committed it (absent in entries written before issue 18): see `orphaned`. */
  by?: Writer;
}

/** A process that writes outbox entries: its host, its pid and a random id of this start of it. */
export interface Writer {
  host: string;
  pid: number;
  boot: string;
}

/** This process as the writer of the entries it commits. */
export const THIS_WRITER: Readonly<Writer> = Object.freeze({ host: hostname(), pid: process.pid, boot: randomUUID() });

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it exists, under another user
  }
};

/**
 * Whether an entry's writer is known to be gone, so nobody else will publish it: it ran on this
 * host and its process no longer exists (a service restarted by `make up` or a supervisor), or it
 * had this very pid but another start (a container restarted: pid 1 again). An entry of another
 * host, or of an unknown writer, is not known to be orphaned (the recovery poll's grace covers it).
 */
export function orphaned(by: Writer | undefined, self: Readonly<Writer> = THIS_WRITER): boolean {
  if (!by || by.host !== self.host) return false;
  if (by.pid === self.pid) return by.boot !== self.boot;
  return !processAlive(by.pid);
}

/** The fields of an event value its topic's schema refuses (empty: it can be encoded). */
export type EventCheck = (topic: string, value: unknown) => string[];

/**
 * Refuses a change whose events its topics' schemas would refuse, before anything is written: such
 * an event could never be published, and committed it would stay in the document for good.
 */
export function refuseUnencodable(events: readonly OutgoingEvent[], check: EventCheck | undefined): void {
  if (!check) return;
  for (const e of events) {
    const problems = check(e.topic, e.value);
    if (problems.length)
      throw new UnprocessableError(
        'event_not_encodable',
        `the change would publish a ${e.topic} event that its schema refuses; nothing was written`,
        'correct the values named in details.problems (they come from the request or the stored document), or quote the correlation id to support',
        { topic: e.topic, problems },
      );
  }
}

/** Schema paths every outbox-bearing model adds (spread into the mongoose schema definition). */
export const outboxPaths = {
  outbox: { type: Object, default: {} },
  outboxCount: { type: Number, default: 0, index: true },
  /** Bumped by every outbox write: the compare-and-set token. */
  writeRev: { type: Number },
};

/** What the outbox reads of a document. */
export interface OutboxDoc {
  _id: unknown;
  outbox?: Record<string, OutboxEntry>;
  outboxCount?: number;
  writeRev?: number;
}

/** What a decision on the current document wants to do: an update and the events it causes. */
export interface Change<T> {
  update: UpdateQuery<T>;
  events: readonly OutgoingEvent[];
}

let seqCounter = 0;
/** Increasing within this process (milliseconds, then a counter), so a document's entries publish in write order. */
function nextSeq(): number {
  seqCounter = (seqCounter + 1) % 1000;
  return Date.now() * 1000 + seqCounter;
}

/** The outbox entries of some events, keyed by event id. */
export function entriesOf(events: readonly OutgoingEvent[]): Record<string, OutboxEntry> {
  const out: Record<string, OutboxEntry> = {};
  for (const e of events) {
    out[e.value.envelope.eventId] = {
      topic: e.topic,
      key: e.key,
      value: e.value,
      seq: nextSeq(),
      createdAt: new Date(),
      by: { ...THIS_WRITER },
    };
  }
  return out;
}

/** The fields the outbox owns: never written by a caller's `$set`, never shown to clients. */
export const OUTBOX_FIELDS = ['outbox', 'outboxCount', 'writeRev'] as const;
type OutboxField = (typeof OUTBOX_FIELDS)[number];

/** A read projection that leaves the outbox's fields out (for what is answered to clients). */
export const WITHOUT_OUTBOX: Readonly<Record<OutboxField, 0>> = { outbox: 0, outboxCount: 0, writeRev: 0 };

/** A copy of a document (or of a `$set` made from one) without the outbox's fields. */
export function withoutOutbox<T extends object>(doc: T): Omit<T, OutboxField> {
  const out = { ...doc } as Record<string, unknown>;
  for (const f of OUTBOX_FIELDS) delete out[f];
  return out as Omit<T, OutboxField>;
}

/** Adds the events to an update so they commit atomically with it. */
export function withOutbox<T>(update: UpdateQuery<T>, events: readonly OutgoingEvent[]): UpdateQuery<T> {
  if (update.$set) update = { ...update, $set: withoutOutbox(update.$set as object) } as UpdateQuery<T>;
  if (!events.length) return update;
  const entries = entriesOf(events);
  const set: Record<string, unknown> = { ...((update.$set as object) ?? {}) };
  for (const [id, entry] of Object.entries(entries)) set[`outbox.${id}`] = entry;
  const inc: Record<string, number> = { ...((update.$inc as Record<string, number>) ?? {}) };
  inc.outboxCount = (inc.outboxCount ?? 0) + events.length;
  return { ...update, $set: set, $inc: inc } as UpdateQuery<T>;
}

/** The compare-and-set condition: the document as read (a missing document must still be missing). */
export function unchangedSince(id: unknown, current: OutboxDoc | null): Record<string, unknown> {
  return { _id: id, writeRev: current?.writeRev ?? { $exists: false } };
}

/** The key of one document: writers, relays and DocumentLocks queue on it. */
export function documentKey(collection: string, id: unknown): string {
  return `${collection}:${String(id)}`;
}
