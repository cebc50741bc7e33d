import type { PublishedPromotion, StoredPromotion } from '@omnimall/pricing';
import type { ProjectionRepository } from '@omnimall/service-kit';

/**
 * The promotions a checkout prices with: the projected definitions (promotions.definition), read from
 * the database at most once per `maxAgeMs` and shared by every checkout meanwhile (a definition is
 * distributed ahead of its start, so a copy a second old prices the same instant alike).
 */
export class PromotionBook {
  private copy: { at: number; value: Promise<PublishedPromotion[]> } | null = null;

  constructor(
    private readonly promotions: ProjectionRepository<StoredPromotion>,
    private readonly maxAgeMs: number,
    private readonly limit = 10_000,
  ) {}

  /** The published promotions; read again when the copy is older than maxAgeMs or lacks one of `needed` (ids). */
  async published(now = Date.now(), needed: readonly string[] = []): Promise<PublishedPromotion[]> {
    const stale = !this.copy || now - this.copy.at >= this.maxAgeMs;
    if (!stale && needed.length) {
      const have = new Set((await this.copy!.value.catch(() => [])).map((p) => p.promotion.id));
      if (needed.some((id) => !have.has(id))) this.copy = null;
    }
    if (!this.copy || stale) {
      const value = this.promotions
        .list(this.limit)
        .then((all) => [...all.values()].flatMap((p) => (p.value.published && !p.value.withdrawn ? [p.value.published] : [])));
      this.copy = { at: now, value };
      // a failed read is not kept: the next checkout reads again
      value.catch(() => {
        if (this.copy?.value === value) this.copy = null;
      });
    }
    return this.copy!.value;
  }
}
