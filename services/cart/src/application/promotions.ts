import { periodicWorker, type Logger, type Worker } from '@omnimall/service-kit';
import type { PublishedPromotion } from '@omnimall/pricing';
import { parseDefinition, readinessOf, supersedes, type DefinitionInput, type StoredPromotion } from '../domain/promotions';
import type { ChannelView } from '../domain/trading';
import { promotionReadiness } from '../events/out/cart.promotion-readiness';
import type { EventOrigin } from '../events/out/cart.cart-changed';
import type { ProjectionRepository, PromotionRepository } from '../store';
import type { ProjectionTable } from '../store/projection-cache';

/** Most channels read when a promotion names none (every channel cart knows). */
const MAX_CHANNELS = 10_000;
/** A reload reads what changed since its previous read, less this margin (clocks of instances, writes in flight). */
const RELOAD_OVERLAP_MS = 5_000;

/**
 * This instance's copy of the promotion definitions, which every cart view prices with (no database
 * read per view). Fed three ways, each version-guarded so the copy only moves forward: the definitions
 * in the database at start, every definition event as it arrives (a per-instance group), and a reload
 * of what changed every `reloadMs` (what the group missed while it joined). Definitions arrive ahead
 * of their start and the evaluator prices for an instant, so a view at T prices exactly what starts at
 * T on every instance, whenever each heard of it.
 */
export class PromotionBook {
  private readonly byId = new Map<string, StoredPromotion>();
  private lastReloadAt = 0;

  constructor(private readonly repo: Pick<PromotionRepository, 'changedSince'>) {}

  /** Keeps `p` if it is newer than the copy's version of it; returns whether it did. */
  apply(p: StoredPromotion): boolean {
    if (!supersedes(p, this.byId.get(p.promotionId) ?? null)) return false;
    this.byId.set(p.promotionId, p);
    return true;
  }

  /** Reads what changed since the previous reload (everything the first time). */
  async reload(): Promise<number> {
    const startedAt = Date.now();
    const since = this.lastReloadAt ? this.lastReloadAt - RELOAD_OVERLAP_MS : 0;
    let applied = 0;
    for (const { promotion } of await this.repo.changedSince(since)) if (this.apply(promotion)) applied++;
    this.lastReloadAt = startedAt;
    return applied;
  }

  /** The worker reloading every `reloadMs` (main.ts loads the copy once before the service starts). */
  worker(reloadMs: number, logger: Logger): Worker {
    return periodicWorker('promotion-reload', reloadMs, async () => void (await this.reload()), logger, 'promotion reload failed');
  }

  /** The definitions to price with: neither withdrawn nor invalid. */
  *published(): Iterable<PublishedPromotion> {
    for (const p of this.byId.values()) if (!p.withdrawn && p.published) yield p.published;
  }

  get(promotionId: string): StoredPromotion | undefined {
    return this.byId.get(promotionId);
  }

  get size(): number {
    return this.byId.size;
  }
}

/**
 * promotions.definition as the shared group applies it: the definition stored (highest version wins)
 * with cart's readiness answer for that version in the same write, then this instance's copy updated.
 * A replay or an older version writes and answers nothing.
 */
export class PromotionDefinitions {
  constructor(
    private readonly repo: Pick<PromotionRepository, 'apply'>,
    private readonly channels: {
      cached: Pick<ProjectionTable<ChannelView>, 'getMany'>;
      store: Pick<ProjectionRepository<ChannelView>, 'list'>;
    },
    private readonly book: PromotionBook,
  ) {}

  async apply(d: DefinitionInput, origin: EventOrigin): Promise<boolean> {
    const parsed = parseDefinition(d);
    const events = d.withdrawn ? [] : [promotionReadiness(d.promotionId, d.version, await this.readiness(d, parsed.ok), origin)];
    const written = await this.repo.apply(parsed.promotion, events);
    this.book.apply(parsed.promotion);
    return written;
  }

  private async readiness(d: DefinitionInput, valid: boolean) {
    const known = new Map<string, ChannelView | null>();
    if (d.channels) for (const [code, ch] of await this.channels.cached.getMany(d.channels)) known.set(code, ch);
    else for (const [code, ch] of await this.channels.store.list(MAX_CHANNELS)) known.set(code, ch.value);
    return readinessOf(d.channels, known, valid);
  }
}
