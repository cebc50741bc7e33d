/**
 * What this process has published from outboxes and not yet removed from their documents:
 * collection → document → event id → when it was published.
 *
 * Guarantee: an entry stays listed until its removal from the document is committed (`forget` is
 * called only then), so the relay never publishes it twice from this process and the recovery pass
 * skips it; if the removal is lost, the entry is still listed and the next write or cleanup pass
 * removes it. Removals ride on the next write of the document for free (`dropFrom`): that write has
 * just read the document, so it knows which of the entries are still there.
 * Once forgotten, an entry is still known as published (`wasPublished`, the last REMEMBER_REMOVED
 * of them): a copy of its document read before the removal committed (a recovery pass's read in
 * flight while the cleanup removed it) still shows it, and must not publish it again.
 */
import type { UpdateQuery } from 'mongoose';
import { LRUCache } from 'lru-cache';
import type { OutboxDoc } from './entries';

interface PublishedDoc {
  id: unknown;
  ids: Map<string, number>;
}

/** Published entries of one document that a cleanup pass is to remove. */
export interface DueRemoval {
  docId: unknown;
  wanted: string[];
}

/** How many removed entries stay known as published (far more than removals during one recovery read). */
const REMEMBER_REMOVED = 50_000;

export class PublishedEntries {
  private readonly byCollection = new Map<string, Map<string, PublishedDoc>>();
  /** Event ids published by this process whose removal from their document is committed. */
  private readonly removed = new LRUCache<string, true>({ max: REMEMBER_REMOVED });

  /** The published (not yet removed) event ids of one document, with when each was published. */
  of(collection: string, docId: unknown): ReadonlyMap<string, number> | undefined {
    return this.byCollection.get(collection)?.get(String(docId))?.ids;
  }

  /** Whether this process published the entry: still listed, or removed from its document since. */
  wasPublished(collection: string, docId: unknown, id: string): boolean {
    return this.of(collection, docId)?.has(id) === true || this.removed.has(id);
  }

  record(collection: string, docId: unknown, ids: readonly string[], at: number): void {
    if (!this.byCollection.has(collection)) this.byCollection.set(collection, new Map());
    const byDoc = this.byCollection.get(collection)!;
    const entry = byDoc.get(String(docId)) ?? { id: docId, ids: new Map<string, number>() };
    ids.forEach((id) => entry.ids.set(id, at));
    byDoc.set(String(docId), entry);
  }

  /** Stops tracking published entries once their removal is committed (not before: the recovery poll would republish them). */
  forget(collection: string, docId: unknown, ids: readonly string[]): void {
    if (!ids.length) return;
    const byDoc = this.byCollection.get(collection);
    const entry = byDoc?.get(String(docId));
    if (!entry) return;
    for (const id of ids) if (entry.ids.delete(id)) this.removed.set(id, true);
    if (!entry.ids.size) byDoc!.delete(String(docId));
  }

  /** Per collection (read as the iteration reaches it), the documents with entries published at or before `due`. */
  *dueBy(due: number): Generator<[collection: string, removals: DueRemoval[]]> {
    for (const [collection, byDoc] of this.byCollection) {
      const removals: DueRemoval[] = [];
      for (const { id: docId, ids } of [...byDoc.values()]) {
        const wanted = [...ids].filter(([, at]) => at <= due).map(([id]) => id);
        if (wanted.length) removals.push({ docId, wanted });
      }
      yield [collection, removals];
    }
  }

  /**
   * Adds to an update (conditional on `current`, just read) the removal of the entries this process
   * already published. `dropped` are to be forgotten once the update is committed.
   */
  dropFrom<T>(collection: string, current: OutboxDoc | null, update: UpdateQuery<T>): { update: UpdateQuery<T>; dropped: string[] } {
    const done = current ? this.of(collection, current._id) : undefined;
    if (!current || !done) return { update, dropped: [] };
    const dropped = [...done.keys()];
    const present = dropped.filter((id) => current.outbox && id in current.outbox);
    if (!present.length) return { update, dropped };
    const unset: Record<string, ''> = { ...((update.$unset as Record<string, ''>) ?? {}) };
    for (const id of present) unset[`outbox.${id}`] = '';
    const inc: Record<string, number> = { ...((update.$inc as Record<string, number>) ?? {}) };
    inc.outboxCount = (inc.outboxCount ?? 0) - present.length;
    return { update: { ...update, $unset: unset, $inc: inc } as UpdateQuery<T>, dropped };
  }
}
