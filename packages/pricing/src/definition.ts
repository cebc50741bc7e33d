import type { ChannelOverride, PublishedPromotion } from './overrides';
import type { Problem, Promotion, Reward } from './types';
import { validatePromotion } from './validate';

/**
 * A promotions.definition event (full state per promotion) as its consumers (cart, orders) keep it:
 * how a definition becomes what the evaluator takes, and which stored version wins. One parser, so
 * every consumer prices the same definition alike.
 */

/** A definition as a consumer keeps it: the evaluator's form, its version, and whether it was withdrawn. */
export interface StoredPromotion {
  promotionId: string;
  version: number;
  /** The evaluator's form; null when the definition was invalid (never priced; its readiness was an error). */
  published: PublishedPromotion | null;
  /** Withdrawn: kept as a tombstone (an older version arriving late cannot bring it back), never priced. */
  withdrawn: boolean;
}

/** What a definition event carries, as far as its consumers read it. */
export interface DefinitionInput {
  promotionId: string;
  version: number;
  name: string;
  rule: string;
  startsAt: number;
  endsAt: number | null;
  channels: string[] | null;
  overrides: {
    channel: string;
    excluded: boolean;
    reward: string | null;
    startsAt: number | null;
    endsAt: number | null;
    until: number | null;
  }[];
  exhausted: boolean;
  withdrawn: boolean;
}

export type Parsed = { ok: true; promotion: StoredPromotion } | { ok: false; promotion: StoredPromotion; problems: Problem[] };

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/**
 * The definition in the evaluator's form: its rule (checked with validatePromotion, as the producer
 * checks it) with the event's own id, name, times and channels, and its accepted overrides (a
 * channel's reward checked the same way). Problems (and a definition that prices nothing) when the
 * rule or an override is invalid.
 */
export function parseDefinition(d: DefinitionInput): Parsed {
  const rule = parseJson(d.rule);
  const candidate =
    rule && typeof rule === 'object'
      ? { ...rule, id: d.promotionId, name: d.name, startsAt: d.startsAt, endsAt: d.endsAt, channels: d.channels }
      : rule;
  const problems = validatePromotion(candidate);
  if (candidate === undefined) problems.unshift({ path: 'rule', code: 'invalid', hint: 'the rule must be JSON of a pricing Promotion' });
  const overrides: ChannelOverride[] = [];
  d.overrides.forEach((o, i) => {
    let reward: Reward | null = null;
    if (o.reward !== null) {
      const r = parseJson(o.reward);
      const rewardProblems = validatePromotion({ ...(candidate as object), reward: r }).filter((p) => p.path.startsWith('reward'));
      if (r === undefined || rewardProblems.length) {
        problems.push({ path: `overrides[${i}].reward`, code: 'invalid', hint: 'an override reward must be JSON of a pricing Reward' });
      } else reward = r as Reward;
    }
    overrides.push({ channel: o.channel, excluded: o.excluded, reward, startsAt: o.startsAt, endsAt: o.endsAt, until: o.until });
  });
  if (problems.length)
    return { ok: false, problems, promotion: { promotionId: d.promotionId, version: d.version, published: null, withdrawn: d.withdrawn } };
  return {
    ok: true,
    promotion: {
      promotionId: d.promotionId,
      version: d.version,
      published: { promotion: candidate as Promotion, overrides, exhausted: d.exhausted },
      withdrawn: d.withdrawn,
    },
  };
}

/** A stored version is replaced only by a higher one. */
export function supersedes(next: Pick<StoredPromotion, 'version'>, current: Pick<StoredPromotion, 'version'> | null): boolean {
  return !current || next.version > current.version;
}
