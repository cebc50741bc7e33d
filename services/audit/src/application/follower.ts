/**
 * A use of the log that must see every record once it is chained (an erasure, the incident feed),
 * whatever fails meanwhile. Records are handed over as they are appended while the follower is caught
 * up; a failed hand-over, or a start with a cursor behind the log, is caught up from the stored log
 * (a page at a time, by index). The cursor — the next index to hand over — is saved at most once per
 * `saveEveryMs` and at stop, so after a crash up to that much is handed over again: what a follower
 * does must be idempotent (an erasure is; the feed keys its entries).
 */
import type { Logger } from '@omnimall/service-kit';
import type { LogRepository, StoredEvidence } from '../store/evidence';
import type { CursorRepository } from '../store/cursors';

const PAGE = 1000;

export class LogFollower {
  private cursor = 0;
  private saved = 0;
  private behind = true;
  private running: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly handle: (records: readonly StoredEvidence[]) => Promise<void>,
    private readonly deps: { log: LogRepository; cursors: CursorRepository; size: () => number; logger: Logger },
  ) {}

  /** Reads the stored cursor (a new follower starts at the log's current end: it acts on what comes next). */
  async open(): Promise<void> {
    const stored = await this.deps.cursors.get(this.name);
    this.cursor = stored ?? this.deps.size();
    this.saved = this.cursor;
    if (stored === null) await this.deps.cursors.save(this.name, this.cursor);
    this.behind = this.cursor < this.deps.size();
  }

  /** The next index this follower will hand over. */
  get position(): number {
    return this.cursor;
  }

  /** Records just appended (in index order): handed over at once when caught up, else left to `catchUp`. */
  appended(records: readonly StoredEvidence[]): Promise<void> {
    return this.serially(async () => {
      if (this.behind || !records.length || records[0].index !== this.cursor) {
        this.behind = this.behind || (records.length > 0 && records[0].index > this.cursor);
        return;
      }
      try {
        await this.handle(records);
        this.cursor = records[records.length - 1].index + 1;
      } catch (err) {
        this.behind = true;
        this.deps.logger.warn(`${this.name}: records not handled; caught up from the log`, { err: String(err), from: this.cursor });
      }
    });
  }

  /** Hands over what the log holds past the cursor (after a failure or a start behind), then saves the cursor. */
  catchUp(): Promise<void> {
    return this.serially(async () => {
      const size = this.deps.size();
      while (this.behind && this.cursor < size) {
        const page = await this.deps.log.range(this.cursor, Math.min(PAGE, size - this.cursor));
        if (page.length) await this.handle(page);
        this.cursor = Math.min(this.cursor + PAGE, size);
      }
      this.behind = false;
      await this.save();
    });
  }

  /** Saves the cursor when it moved. */
  async save(): Promise<void> {
    if (this.cursor === this.saved) return;
    const at = this.cursor;
    await this.deps.cursors.save(this.name, at);
    this.saved = at;
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.running.then(work);
    this.running = next.catch(() => undefined);
    return next;
  }
}
