import type { PublishedPromotion } from '@omnimall/pricing';
import { isPublished, publishedOf, type PromotionRecord } from '../domain/promotions';
import type { ChannelInfo, ChannelRepository, PromotionRepository } from '../store';

/**
 * The scheduled and live promotions and the known channels, in memory, so a quote reads no database:
 * re-read every PROMOTIONS_CACHE_MS (other instances' writes) and updated at once by this instance's
 * writes. A write seen here is never replaced by an older read (versions only move forward).
 */
export class PublishedCache {
  private promotions = new Map<string, PromotionRecord>();
  private channelsByCode = new Map<string, ChannelInfo>();
  /** Records this instance wrote while a re-read was under way (the read may predate them). */
  private written = new Map<string, PromotionRecord>();

  constructor(
    private readonly repo: Pick<PromotionRepository, 'published'>,
    private readonly channels: Pick<ChannelRepository, 'all'>,
  ) {}

  async refresh(): Promise<void> {
    this.written.clear();
    const [records, channels] = await Promise.all([this.repo.published(), this.channels.all()]);
    const next = new Map(records.map((r) => [r.id, r]));
    for (const [id, r] of this.written) {
      const read = next.get(id);
      if (read && read.version >= r.version) continue;
      if (isPublished(r.status)) next.set(id, r);
      else next.delete(id);
    }
    this.promotions = next;
    this.channelsByCode = new Map(channels.map((c) => [c.code, c]));
  }

  /** A record this instance just wrote. */
  put(r: PromotionRecord): void {
    this.written.set(r.id, r);
    const cur = this.promotions.get(r.id);
    if (cur && cur.version > r.version) return;
    if (isPublished(r.status)) this.promotions.set(r.id, r);
    else this.promotions.delete(r.id);
  }

  published(): PublishedPromotion[] {
    return [...this.promotions.values()].map(publishedOf);
  }

  nameOf(promotionId: string): string | null {
    return this.promotions.get(promotionId)?.definition.name ?? null;
  }

  channel(code: string): ChannelInfo | undefined {
    return this.channelsByCode.get(code);
  }
}
