import { randomUUID } from 'node:crypto';
import type { Model } from 'mongoose';
import type { OutgoingEvent, ServiceRuntime } from '@omnimall/service-kit';
import { collectionOf, type JournalDoc } from './models';

/** Events per journal document. */
export const JOURNAL_EVENTS = 200;

/**
 * Where the events of catalogue changes leave from: small journal documents, each carrying up to
 * JOURNAL_EVENTS events in the kit's outbox fields, published by the outbox relay.
 *
 * Why a journal rather than an outbox in each local item: the kit's recovery poll scans every
 * tracked collection for pending events, and on FerretDB a scan reads the whole collection; local
 * items number in the tens of thousands, the journal in the few. A change to local items therefore
 * writes (1) an intent naming them, (2) the items, (3) journal documents carrying every event of the
 * change (each atomic: published by the relay), (4) removes the intent. After a crash between (1)
 * and (4) the recovery sweep re-derives the events from the items' current state (all events are
 * full state, so re-emitting is always correct; consumers dedupe by version).
 * A journal document is deleted as soon as its events are published: left in place, it would be read
 * by the relay's recovery poll, rewritten by its cleanup and scanned by the recovery sweep's prune.
 */
export interface Journal {
  /**
   * Writes the events of one change. A change with many events (a bulk sync) is split into
   * documents of at most JOURNAL_EVENTS events: one huge document is slow to write, to publish from
   * and to clean up. Each document is published from the document the insert returned and then
   * deleted; `awaitPublish` waits for both.
   */
  append(kind: string, events: readonly OutgoingEvent[], awaitPublish?: boolean): Promise<void>;
  /** Deletes up to 500 fully published documents older than `olderThanMs` (what a failed delete left); answers how many. */
  prune(olderThanMs: number): Promise<number>;
}

export class MongoJournal implements Journal {
  constructor(
    private readonly model: Model<JournalDoc>,
    private readonly outbox: ServiceRuntime['outbox'],
  ) {}

  async append(kind: string, events: readonly OutgoingEvent[], awaitPublish = false): Promise<void> {
    const parts: Promise<void>[] = [];
    for (let i = 0; i < events.length; i += JOURNAL_EVENTS) {
      const part = events.slice(i, i + JOURNAL_EVENTS);
      parts.push(
        this.outbox.create(this.model, { _id: randomUUID(), kind, createdAt: new Date() }, part, { dispatch: false }).then((doc) => {
          const published = this.publish(doc);
          if (!awaitPublish) published.catch(() => undefined); // logged by the relay; its recovery poll retries
          return awaitPublish ? published : undefined;
        }),
      );
    }
    await Promise.all(parts);
  }

  private async publish(doc: JournalDoc): Promise<void> {
    await this.outbox.dispatch(this.model, doc); // the document as the insert returned it, with its outbox fields
    // Published (acknowledged by Kafka): nothing in the document is needed any more. Should the
    // delete fail, the relay's cleanup and the recovery sweep's prune remove it later.
    await collectionOf(this.model)
      .deleteOne({ _id: doc._id })
      .catch(() => undefined);
  }

  async prune(olderThanMs: number): Promise<number> {
    // On FerretDB this query reads every journal document (large ones while a bulk sync runs): the
    // recovery sweep runs it once a minute, not on every pass.
    const done = await this.model
      .find({ outboxCount: 0, createdAt: { $lt: new Date(Date.now() - olderThanMs) } }, { _id: 1 })
      .limit(500)
      .lean<{ _id: string }[]>();
    if (!done.length) return 0;
    const res = await this.model.deleteMany({ _id: { $in: done.map((d) => d._id) }, outboxCount: 0 });
    return res.deletedCount;
  }
}
