/**
 * What this process has published from outboxes and not yet removed from their documents:
 * collection → document → event id → when it was published.
 *
 * Guarantee: an entry stays listed until its removal from the document is committed (`forget` is
 * called only then), so the relay never publishes it twice from this process and the recovery pass
 * skips it; if the removal is lost, the entry is still listed and the next write or cleanup pass
 * removes it. Removals ride on the next write of the document for free (`dropFrom`): that write has
 * just read the document, so it knows which of the entries are still there.
 */
import type { UpdateQuery } from 'mongoose';
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

export class PublishedEntries {
  private readonly byCollection = new Map<string, Map<string, PublishedDoc>>();

  /** The published (not yet removed) event ids of one document, with when each was published. */
  of(collection: string, docId: unknown): ReadonlyMap<string, number> | undefined {
    return this.byCollection.get(collection)?.get(String(docId))?.ids;
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
    ids.forEach((id) => entry.ids.delete(id));
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
