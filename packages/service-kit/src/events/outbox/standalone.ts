/**
 * Events that belong to no aggregate document of the service (the evidence of a refused request, the
 * end of a job): each is committed through the outbox as a small document of its own in one
 * collection, published by the relay, re-published by the recovery poll after a crash, and deleted once
 * published (`outboxCount: 0`) and older than a minute. Warnings are logged at most once a minute.
 *
 * Used by the ExceptionRecorder (events/exceptions.ts) and the JobProgressReporter (jobs.ts).
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { Logger } from '../../observability/logger';
import type { OutgoingEvent } from '../envelope';
import { outboxPaths } from './entries';
import type { Outbox } from './outbox';

const PRUNE_AFTER_MS = 60_000;
const PRUNE_EVERY_MS = 60_000;
const WARN_EVERY_MS = 60_000;

interface StandaloneDoc {
  _id: string;
  createdAt: Date;
}

export class StandaloneEvents {
  private readonly model: Model<StandaloneDoc>;
  private readonly pending = new Set<Promise<unknown>>();
  private pruneTimer?: NodeJS.Timeout;
  private pruning?: Promise<unknown>;
  private lastWarning = 0;

  constructor(
    private readonly io: { outbox: Outbox; db: Connection; logger: Logger },
    /** The mongoose model's name and its collection. */
    names: { model: string; collection: string },
  ) {
    const schema = new Schema<StandaloneDoc>({ _id: String, createdAt: Date, ...outboxPaths }, { versionKey: false, strict: false });
    this.model = (io.db.models[names.model] as Model<StandaloneDoc> | undefined) ?? io.db.model(names.model, schema, names.collection);
  }

  /** Puts the collection under the outbox's recovery poll and starts the prune pass. */
  start(): void {
    this.io.outbox.track(this.model);
    if (this.pruneTimer) return;
    const tick = (): void => {
      this.pruning = this.prune()
        .catch((err: unknown) => this.warn(`pruning published ${this.model.collection.collectionName} failed; the next pass retries`, err))
        .finally(() => {
          if (this.pruneTimer) this.pruneTimer = setTimeout(tick, PRUNE_EVERY_MS).unref();
        });
    };
    this.pruneTimer = setTimeout(tick, PRUNE_EVERY_MS).unref();
  }

  /** Stops the prune pass and waits for the work under way (call before the outbox stops). */
  async stop(): Promise<void> {
    clearTimeout(this.pruneTimer);
    this.pruneTimer = undefined;
    await this.pruning;
    await this.settled();
  }

  /** Runs `work`, counted until it settles (see `settled`). */
  track<T>(work: Promise<T>): Promise<T> {
    const p = work.finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  }

  /** Settles once every tracked work begun so far has. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Commits one event through the outbox, as a document of its own (its id the event's). */
  async commitEvent(event: OutgoingEvent): Promise<void> {
    await this.io.outbox.create(this.model, { _id: event.value.envelope.eventId, createdAt: new Date() }, [event]);
  }

  /** Deletes published documents (the outbox cleaned them: `outboxCount: 0`) older than `olderThanMs`; answers how many. */
  async prune(olderThanMs = PRUNE_AFTER_MS): Promise<number> {
    const res = await this.model.deleteMany({ outboxCount: 0, createdAt: { $lt: new Date(Date.now() - olderThanMs) } });
    return res.deletedCount;
  }

  /** Logs a warning, at most one a minute. */
  warn(message: string, err: unknown, more: Record<string, unknown> = {}): void {
    if (Date.now() - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = Date.now();
    this.io.logger.warn(message, { err: String(err), ...more });
  }
}
