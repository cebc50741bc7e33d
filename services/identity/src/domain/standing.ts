import { ForbiddenError, UnprocessableError } from '@omnimall/service-kit/errors';
import type { CustomerStanding } from '@omnimall/contracts';

/**
 * A customer's standing and entitlements, and the rules that change them. Pure: no I/O.
 * `until` ends a suspension on its own: an expired suspension reads as active everywhere.
 */
export interface Standing {
  status: CustomerStanding;
  reason: string | null;
  until: number | null;
  loyaltyTier: string;
  verified: boolean;
  dataRegion: string;
}

export type StandingChange =
  | { kind: 'ban'; reason: string }
  | { kind: 'suspend'; reason: string; until: number }
  | { kind: 'reinstate'; reason: string | null }
  | { kind: 'tier'; loyaltyTier: string }
  | { kind: 'badge'; verified: boolean }
  | { kind: 'region'; dataRegion: string }
  | { kind: 'erase' };

/** The name of the change as carried in CustomerStatusChanged.change. */
export const changeName: Record<StandingChange['kind'], string> = {
  ban: 'banned',
  suspend: 'suspended',
  reinstate: 'reinstated',
  tier: 'tier_changed',
  badge: 'badge_changed',
  region: 'region_changed',
  erase: 'erased',
};

export const LOYALTY_TIERS = ['standard', 'silver', 'gold', 'platinum'] as const;
export const DATA_REGIONS = ['eu', 'us', 'uk', 'apac', 'cn', 'latam', 'mea'] as const;

/** What the customer may do now: a suspension whose `until` has passed counts as active. */
export function effectiveStatus(s: Pick<Standing, 'status' | 'until'>, now = Date.now()): CustomerStanding {
  if (s.status === 'suspended' && s.until !== null && s.until <= now) return 'active';
  return s.status;
}

/** Applies a change to a standing, or throws 422 when the rules forbid it. */
export function applyStandingChange(current: Standing, change: StandingChange, now = Date.now()): Standing {
  const status = effectiveStatus(current, now);
  if (status === 'erased') {
    throw new UnprocessableError(
      'customer_erased',
      'this customer was erased; their standing can no longer change',
      'nothing to do: an erased profile is kept only as evidence',
    );
  }
  switch (change.kind) {
    case 'ban':
      return { ...current, status: 'banned', reason: change.reason, until: null };
    case 'suspend':
      if (change.until <= now) {
        throw new UnprocessableError(
          'suspension_in_past',
          'a suspension must end in the future',
          'send `until` as a time after now (epoch ms or ISO 8601)',
          { until: change.until, now },
        );
      }
      if (status === 'banned') {
        throw new UnprocessableError(
          'customer_banned',
          'a banned customer cannot be suspended',
          'reinstate the customer first if a suspension is what you want',
        );
      }
      return { ...current, status: 'suspended', reason: change.reason, until: change.until };
    case 'reinstate':
      if (status === 'active') {
        throw new UnprocessableError('customer_already_active', 'the customer is neither banned nor suspended', 'nothing to do');
      }
      return { ...current, status: 'active', reason: change.reason, until: null };
    case 'tier':
      return { ...current, loyaltyTier: change.loyaltyTier };
    case 'badge':
      return { ...current, verified: change.verified };
    case 'region':
      return { ...current, dataRegion: change.dataRegion };
    case 'erase':
      return { ...current, status: 'erased', reason: 'erasure requested', until: null, verified: false };
  }
}

/** Whether the customer may open a session or act; null when allowed, else the refusal's code and message. */
export function refusal(
  s: Pick<Standing, 'status' | 'until' | 'reason'>,
  now = Date.now(),
): { code: string; message: string; until?: number } | null {
  switch (effectiveStatus(s, now)) {
    case 'active':
      return null;
    case 'banned':
      return { code: 'customer_banned', message: `this account is banned${s.reason ? `: ${s.reason}` : ''}` };
    case 'suspended':
      return {
        code: 'customer_suspended',
        message: `this account is suspended until ${new Date(s.until!).toISOString()}${s.reason ? `: ${s.reason}` : ''}`,
        until: s.until!,
      };
    case 'erased':
      return { code: 'customer_erased', message: 'this account was erased' };
  }
}

/** Throws 403 (code customer_banned, customer_suspended or customer_erased) unless the customer may act. */
export function assertMayAct(s: Pick<Standing, 'status' | 'until' | 'reason'>, now = Date.now()): void {
  const r = refusal(s, now);
  if (r)
    throw new ForbiddenError(
      r.code,
      r.message,
      r.code === 'customer_suspended' ? 'wait until the suspension ends or contact support' : 'contact support',
      r.until ? { until: r.until } : undefined,
    );
}
