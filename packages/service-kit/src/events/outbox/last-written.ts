/**
 * The documents of exclusive collections as this process last wrote them, so that the next write
 * of one decides on it without reading it first (one database call per write instead of two).
 *
 * Guarantee: a copy is only ever a guess. Every write made on it is a compare-and-set on `writeRev`,
 * so a copy made stale by another process's write makes that write match nothing; the copy is then
 * dropped and the document read. Copies are private (the caller keeps the document it was handed and
 * may change it) and bounded: the least recently written go first (a read does not count as use).
 */
import { LRUCache } from 'lru-cache';
import type { OutboxDoc } from './entries';

export class LastWritten {
  /** Collections declared written only through this outbox. */
  private readonly exclusive = new Set<string>();
  /** key → the document as this process last wrote it (absent when `max` is 0: nothing is kept). */
  private readonly docs?: LRUCache<string, OutboxDoc>;

  constructor(max: number) {
    if (max > 0) this.docs = new LRUCache<string, OutboxDoc>({ max });
  }

  markExclusive(collection: string): void {
    this.exclusive.add(collection);
  }

  get(key: string): OutboxDoc | undefined {
    return this.docs?.peek(key);
  }

  has(key: string): boolean {
    return this.docs?.has(key) ?? false;
  }

  /** Keeps a private copy of what was just written (exclusive collections only). */
  remember(collection: string, key: string, doc: OutboxDoc): void {
    this.docs?.delete(key);
    if (!this.exclusive.has(collection)) return;
    this.docs?.set(key, structuredClone(doc));
  }

  forget(key: string): void {
    this.docs?.delete(key);
  }
}
