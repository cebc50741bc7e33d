/**
 * Stage 2, dedupe: every consumer group is effect-once, with no way to opt out. A redelivered event
 * (same eventId, same group) is acknowledged `skipped_duplicate` and its handler does not run again.
 * Two marks, checked in this order before the handler and written after it succeeded:
 *
 * 1. The recent set, for every group: a bounded in-memory set (LRU, `RECENT_EVENTS_KEPT` ids per
 *    group) of the events this member handled. It catches what a live process sees again: a
 *    producer's outbox re-sending entries a crash left unmarked (the same event at a new offset), and
 *    records re-fetched after a broker restart or rebalance before their offsets were committed.
 *    It survives rebalances (it belongs to the member, not to a partition assignment).
 * 2. The durable mark, by the group's `dedupe`:
 *    - `inbox` (default for shared groups): a (group, eventId) document in the service's `inbox`
 *      collection, looked up by _id. A crash between the handler's effect and the mark replays the
 *      event to the next member, so such handlers must be idempotent on their own.
 *    - `in-document`: the handler writes the mark in the effect's document (ctx.applyOnce, atomic
 *      with the effect); the kit adds nothing durable. A replay whose applyOnce matches nothing is
 *      reported as a duplicate (handle.ts).
 *    - `memory` (per-instance groups only, `ephemeral`): the recent set is the whole mark. Such a
 *      group starts at the end and is deleted at stop, so no other process ever replays its records:
 *      the set sees every delivery the group gets. A shared group may not use it (the consumer
 *      refuses to start).
 *
 * Only a handled event enters the marks: a failed one stays unmarked, so its retry runs the handler.
 */
import { LRUCache } from 'lru-cache';
import type { Connection, Model } from 'mongoose';
import { isDuplicateKeyError } from '../../errors';
import { inboxId, inboxModel, type InboxMark } from '../../mongo/effect-once';
import type { ConsumerOptions } from './types';

/**
 * Event ids each group remembers in memory. About 100 bytes each, so about 5 MB per group at most;
 * at 1,000 events/s per group that is a window of close to a minute, longer than an outbox's
 * recovery pass takes to re-send what a crash left behind.
 */
export const RECENT_EVENTS_KEPT = 50_000;

export type DedupeMode = NonNullable<ConsumerOptions['dedupe']>;

/** The mode a group runs with: its own, else `memory` for a per-instance group and `inbox` for a shared one. */
export function dedupeModeOf(opts: Pick<ConsumerOptions, 'dedupe' | 'ephemeral' | 'group'>): DedupeMode {
  const mode = opts.dedupe ?? (opts.ephemeral ? 'memory' : 'inbox');
  if (mode === 'memory' && !opts.ephemeral)
    throw new Error(
      `consumer group ${opts.group}: dedupe 'memory' is only for per-instance groups; a shared group needs 'inbox' or 'in-document' (its records may be replayed by another process)`,
    );
  return mode;
}

export class EventDedupe {
  private readonly recent: LRUCache<string, true>;
  private readonly inbox: Model<InboxMark> | null;

  constructor(
    db: Connection,
    private readonly group: string,
    readonly mode: DedupeMode,
    kept = RECENT_EVENTS_KEPT,
  ) {
    this.recent = new LRUCache<string, true>({ max: kept });
    this.inbox = mode === 'inbox' ? inboxModel(db) : null;
  }

  /** True when this group already handled the event (in this process, or per its inbox). */
  async seen(eventId: string): Promise<boolean> {
    if (this.recent.get(eventId)) return true; // get, not has: a duplicate keeps its id among the recent
    if (!this.inbox) return false;
    if ((await this.inbox.exists({ _id: inboxId(this.group, eventId) })) === null) return false;
    this.recent.set(eventId, true);
    return true;
  }

  /** Marks a handled event (the inbox write first: the recent set must not claim what the database lacks). */
  async mark(eventId: string): Promise<void> {
    if (this.inbox) {
      try {
        await this.inbox.create({ _id: inboxId(this.group, eventId), consumer: this.group, eventId, at: new Date() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    this.recent.set(eventId, true);
  }
}
