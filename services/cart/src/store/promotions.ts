import type { Collection, Model } from 'mongoose';
import type { OutgoingEvent, Outbox } from '@omnimall/service-kit';
import { supersedes, type StoredPromotion } from '../domain/promotions';
import type { PromotionDoc, PromotionNoticeDoc } from './schemas';

/**
 * The promotion definitions cart prices with (collection `promotions`, keyed by promotion id): the
 * highest version of each, withdrawn ones kept as tombstones so an older version arriving late cannot
 * bring them back. Written through the outbox, so a definition and cart's readiness answer about it
 * commit together. Small (one document per promotion), read whole by every instance (application/
 * promotions.ts). Beside them, the notices of a promotion's start (collection `promotion_notices`, one
 * per promotion version, inserted once through the outbox with its cart.promotion-notice records).
 */
export interface PromotionRepository {
  /**
   * Stores `p` with `events` unless the stored version is the same or higher; returns whether it
   * was written.
   */
  apply(p: StoredPromotion, events: readonly OutgoingEvent[]): Promise<boolean>;
  /** Every stored definition (withdrawn ones included), changed at or after `since` (epoch millis; 0: all). */
  changedSince(since: number): Promise<{ promotion: StoredPromotion; updatedAt: number }[]>;
  /** One definition, or null. */
  get(promotionId: string): Promise<StoredPromotion | null>;
  /** Inserts a notice with its `events` unless one with its id exists; returns whether this call inserted it. */
  noticeOnce(notice: PromotionNoticeDoc, events: readonly OutgoingEvent[]): Promise<boolean>;
  /** A stored notice, or null. */
  notice(id: string): Promise<PromotionNoticeDoc | null>;
  /** Removes a customer from the recipients of every stored notice (an erasure); returns how many notices named them. */
  forgetRecipient(customerId: string): Promise<number>;
}

const toStored = (d: PromotionDoc): StoredPromotion => ({
  promotionId: d._id,
  version: d.version,
  published: d.published,
  withdrawn: d.withdrawn ?? false,
});

/** Duplicate key: another writer inserted the same id first. */
const isDuplicate = (err: unknown): boolean => (err as { code?: number } | null)?.code === 11000;

export class MongoPromotions implements PromotionRepository {
  private readonly collection: Collection<PromotionDoc>;
  private readonly notices: Collection<PromotionNoticeDoc>;

  constructor(
    private readonly model: Model<PromotionDoc>,
    private readonly noticeModel: Model<PromotionNoticeDoc>,
    private readonly outbox: Outbox,
  ) {
    this.collection = model.db.collection<PromotionDoc>(model.collection.collectionName);
    this.notices = noticeModel.db.collection<PromotionNoticeDoc>(noticeModel.collection.collectionName);
  }

  async apply(p: StoredPromotion, events: readonly OutgoingEvent[]): Promise<boolean> {
    let written = false;
    await this.outbox.transact(this.model, p.promotionId, (cur) => {
      written = supersedes(p, cur ? { version: cur.version } : null);
      if (!written) return null;
      return { update: { $set: { version: p.version, published: p.published, withdrawn: p.withdrawn, updatedAt: Date.now() } }, events };
    });
    return written;
  }

  async changedSince(since: number): Promise<{ promotion: StoredPromotion; updatedAt: number }[]> {
    const filter = since > 0 ? { updatedAt: { $gte: since } } : {};
    const docs = await this.collection.find(filter, { projection: { outbox: 0, outboxCount: 0, writeRev: 0 } }).toArray();
    return docs.map((d) => ({ promotion: toStored(d), updatedAt: d.updatedAt ?? 0 }));
  }

  async get(promotionId: string): Promise<StoredPromotion | null> {
    const d = await this.collection.findOne({ _id: promotionId }, { projection: { outbox: 0, outboxCount: 0, writeRev: 0 } });
    return d ? toStored(d) : null;
  }

  async noticeOnce(notice: PromotionNoticeDoc, events: readonly OutgoingEvent[]): Promise<boolean> {
    try {
      await this.outbox.create(this.noticeModel, notice, events);
      return true;
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
  }

  // Found by a read of the whole (small, one per promotion version) collection; each notice changed
  // through the outbox, which alone writes it.
  async forgetRecipient(customerId: string): Promise<number> {
    const named = await this.notices.find({ 'recipients.customerId': customerId }, { projection: { _id: 1 } }).toArray();
    for (const { _id } of named) {
      await this.outbox.transact(this.noticeModel, _id, (cur) => {
        const kept = (cur?.recipients ?? []).filter((r) => r.customerId !== customerId);
        return cur && kept.length < cur.recipients.length ? { update: { $set: { recipients: kept } }, events: [] } : null;
      });
    }
    return named.length;
  }

  notice(id: string): Promise<PromotionNoticeDoc | null> {
    return this.notices.findOne({ _id: id }, { projection: { outbox: 0, outboxCount: 0, writeRev: 0 } });
  }
}
