import { evaluate, promotionsFor, type Customer, type EnteredCode, type InputLine } from '@omnimall/pricing';
import { LRUCache } from 'lru-cache';
import { canonicalCode } from '../domain/usage';
import type { PublishedCache } from './cache';

/** What a quote needs of a code (helper B's CodeRepository.get answers a superset). */
export interface CodeView {
  promotionId: string;
  limits: { total: number | null; perCustomer: number | null; singleUse: boolean };
  used: number;
  perCustomerUsed?: Record<string, number>;
  holds?: Record<string, unknown>;
  active: boolean;
}

export interface CodeSource {
  get(code: string): Promise<CodeView | null>;
}

/** The customer's loyalty tier (B's ledger); 'standard' when it knows none. */
export interface TierSource {
  tierOf(customerId: string): Promise<string>;
}

/**
 * Tiers remembered for `ttlMs` (up to `max` customers): a quote reads a customer's tier at most once a
 * TTL, so a tier change shows in quotes within it (the 2 s of the seed with the default 1 s).
 */
export class CachedTiers implements TierSource {
  private readonly memory: LRUCache<string, string>;

  constructor(source: { tierOf(customerId: string): Promise<string | null> }, ttlMs = 1000, max = 50_000) {
    this.memory = new LRUCache<string, string>({
      max,
      ttl: ttlMs,
      fetchMethod: async (id) => (await source.tierOf(id)) ?? 'standard',
    });
  }

  async tierOf(customerId: string): Promise<string> {
    return (await this.memory.fetch(customerId)) ?? 'standard';
  }
}

export const noCodes: CodeSource = { get: () => Promise.resolve(null) };
export const standardTier: TierSource = { tierOf: () => Promise.resolve('standard') };

export interface QuoteRequest {
  channel: string;
  customerId: string | null;
  at: number;
  lines: InputLine[];
  codes: string[];
}

export type QuoteNotApplied =
  | { promotionId: string; name: string | null; reason: string; detail?: string }
  | { code: string; reason: 'code_unknown' | 'code_exhausted' | 'code_inactive' };

/** Whether a code can still be used by `customerId` (limits counted with the units held). */
export function codeRefusal(c: CodeView, customerId: string | null): 'code_exhausted' | 'code_inactive' | null {
  if (!c.active) return 'code_inactive';
  const taken = c.used + Object.keys(c.holds ?? {}).length;
  if (c.limits.singleUse && taken >= 1) return 'code_exhausted';
  if (c.limits.total !== null && taken >= c.limits.total) return 'code_exhausted';
  if (customerId !== null && c.limits.perCustomer !== null && (c.perCustomerUsed?.[customerId] ?? 0) >= c.limits.perCustomer)
    return 'code_exhausted';
  return null;
}

/**
 * Quotes: lines priced for a channel, a customer and an instant with the cached definitions (no
 * database read, except one per entered code and the customer's tier, remembered for a second).
 */
export class QuoteService {
  constructor(
    private readonly cache: Pick<PublishedCache, 'published' | 'nameOf' | 'channel'>,
    private readonly codes: CodeSource = noCodes,
    private readonly tiers: TierSource = standardTier,
  ) {}

  async quote(q: QuoteRequest) {
    const entered: EnteredCode[] = [];
    const refusedCodes: QuoteNotApplied[] = [];
    for (const raw of [...new Set(q.codes.map(canonicalCode))]) {
      const c = await this.codes.get(raw);
      const refusal = c ? codeRefusal(c, q.customerId) : 'code_unknown';
      if (c && !refusal) entered.push({ code: raw, promotionId: c.promotionId });
      else refusedCodes.push({ code: raw, reason: refusal ?? 'code_unknown' });
    }
    const customer: Customer | null = q.customerId ? { tier: await this.tiers.tierOf(q.customerId), badges: [], segments: [] } : null;
    const result = evaluate({
      promotions: promotionsFor(this.cache.published(), q.channel, q.at),
      lines: q.lines,
      customer,
      channel: { code: q.channel, kind: this.cache.channel(q.channel)?.kind ?? '' },
      at: q.at,
      codes: entered,
    });
    const name = (id: string) => this.cache.nameOf(id);
    return {
      channel: q.channel,
      at: q.at,
      customerId: q.customerId,
      lines: result.lines.map((l) => ({ ...l, adjustments: l.adjustments.map((a) => ({ ...a, name: name(a.promotionId) })) })),
      subtotalMinor: result.subtotalMinor,
      discountMinor: result.discountMinor,
      totalMinor: result.totalMinor,
      gifts: result.gifts,
      notApplied: [
        ...refusedCodes,
        ...result.notApplied.map((n): QuoteNotApplied => ({
          promotionId: n.promotionId,
          name: name(n.promotionId),
          reason: n.reason,
          ...(n.detail ? { detail: n.detail } : {}),
        })),
      ],
    };
  }
}
