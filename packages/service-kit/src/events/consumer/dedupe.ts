/**
 * Stage 2, dedupe (for `dedupe: 'inbox'`): a (consumer, eventId) mark in the service's `inbox`
 * collection, checked before the handler and written after it succeeded.
 *
 * Guarantee: a redelivered event whose mark exists is not handled again. A crash between the
 * handler's effect and the mark replays the event, so such handlers must be idempotent on their
 * own. With `dedupe: 'in-document'` this stage does nothing: handlers write the mark with the effect
 * (ctx.applyOnce, see mongo/effect-once.ts).
 */
import type { Connection, Model } from 'mongoose';
import { isDuplicateKeyError } from '../../errors';
import { inboxId, inboxModel, type InboxMark } from '../../mongo/effect-once';

export class InboxDedupe {
  private readonly inbox: Model<InboxMark>;

  constructor(
    db: Connection,
    private readonly group: string,
    private readonly enabled: boolean,
  ) {
    this.inbox = inboxModel(db);
  }

  /** True when this group already handled the event (always false for in-document dedupe). */
  async seen(eventId: string): Promise<boolean> {
    return this.enabled && (await this.inbox.exists({ _id: inboxId(this.group, eventId) })) !== null;
  }

  async mark(eventId: string): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.inbox.create({ _id: inboxId(this.group, eventId), consumer: this.group, eventId, at: new Date() });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
}
