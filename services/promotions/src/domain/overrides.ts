/**
 * Channel overrides of a global promotion: which fields a request touches, whether the promotion's
 * `overridable` rules let the caller's role change them, and the evidence every decision leaves.
 */
import type { Reward } from '@omnimall/pricing';
import { ConflictError, ValidationError } from '@omnimall/service-kit/errors';
import {
  checkDefinition,
  isPublished,
  type OverrideField,
  type OverrideRole,
  type PromotionRecord,
  type StoredOverride,
} from './promotions';

export type DecisionKind = 'accepted' | 'refused' | 'expired' | 'removed';

/** One decision, as the evidence collection keeps it. */
export interface OverrideDecision {
  decisionId: string;
  promotionId: string;
  channel: string;
  decision: DecisionKind;
  fields: OverrideField[];
  actor: string;
  before: StoredOverride | null;
  after: StoredOverride | null;
  /** The rule that allowed or refused it, e.g. `overridable.value.by=[admin]`. */
  rule: string;
  /** The actor's stated reason (the refusal's code is in `refusal`). */
  reason: string | null;
  refusal: string | null;
  decidedAt: number;
}

export interface OverrideRequest {
  excluded?: boolean;
  reward?: Reward;
  startsAt?: number | null;
  endsAt?: number | null;
  until?: number | null;
  reason: string;
}

/** The fields a request asks to override. */
export function fieldsOf(req: OverrideRequest): OverrideField[] {
  const fields: OverrideField[] = [];
  if (req.reward !== undefined) fields.push('value');
  if (req.startsAt !== undefined || req.endsAt !== undefined) fields.push('dates');
  if (req.excluded !== undefined) fields.push('exclusion');
  return fields;
}

/** The role a staff member asks with: admin when they are one. */
export const roleOf = (roles: readonly string[]): OverrideRole => (roles.includes('admin') ? 'admin' : 'channel_manager');

const ruleText = (field: OverrideField, by: readonly string[]): string => `overridable.${field}.by=[${by.join(',')}]`;

/** Whether `role` may override `fields`: the first field refused names the rule, else every rule that allowed. */
export function judge(
  r: Pick<PromotionRecord, 'overridable'>,
  fields: readonly OverrideField[],
  role: OverrideRole,
): { allowed: boolean; rule: string } {
  const allowed: string[] = [];
  for (const field of fields) {
    const rule = r.overridable.find((o) => o.field === field);
    if (!rule) return { allowed: false, rule: `overridable.${field} not declared` };
    if (!rule.by.includes(role)) return { allowed: false, rule: ruleText(field, rule.by) };
    allowed.push(ruleText(field, rule.by));
  }
  return { allowed: true, rule: allowed.join('; ') };
}

/** Refusals that are not a decision on the rules: nothing asked, a closed promotion, a channel it does not target. */
export function checkRequest(r: PromotionRecord, channel: string, req: OverrideRequest, now: number): OverrideField[] {
  const fields = fieldsOf(req);
  if (!fields.length)
    throw new ValidationError('override_empty', 'the override changes nothing', 'send excluded, reward, startsAt or endsAt');
  if (!isPublished(r.status) && r.status !== 'draft')
    throw new ConflictError(
      'promotion_closed',
      `promotion ${r.id} is ${r.status}`,
      'only draft, scheduled and live promotions take overrides',
    );
  if (r.definition.channels !== null && !r.definition.channels.includes(channel))
    throw new ConflictError(
      'channel_not_targeted',
      `promotion ${r.id} does not apply on ${channel}`,
      'override it on one of its channels',
      {
        channels: r.definition.channels,
      },
    );
  if (req.until !== undefined && req.until !== null && req.until <= now)
    throw new ValidationError('until_in_past', 'the override would lapse before it starts', 'send until in the future, or none');
  return fields;
}

/** The channel's override as accepted (the whole override replaced); the pricing checks its reward and dates. */
export function overrideOf(
  r: PromotionRecord,
  channel: string,
  req: OverrideRequest,
  actor: string,
  decisionId: string,
  now: number,
): StoredOverride {
  const o: StoredOverride = {
    channel,
    excluded: req.excluded ?? false,
    reward: req.reward ?? null,
    startsAt: req.startsAt ?? null,
    endsAt: req.endsAt ?? null,
    until: req.until ?? null,
    reason: req.reason,
    actor,
    decisionId,
    at: now,
  };
  checkDefinition({
    ...r.definition,
    reward: o.reward ?? r.definition.reward,
    startsAt: o.startsAt ?? r.definition.startsAt,
    endsAt: o.endsAt ?? r.definition.endsAt,
  });
  return o;
}

/** The promotion's overrides with the channel's replaced (or removed when `o` is null). */
export const withOverride = (r: PromotionRecord, channel: string, o: StoredOverride | null): StoredOverride[] => [
  ...r.overrides.filter((x) => x.channel !== channel),
  ...(o ? [o] : []),
];
