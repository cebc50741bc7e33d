/**
 * The channel lifecycle as a pure state machine (no I/O):
 *
 *   draft → pending_approval → approved → onboarding → active ⇄ maintenance → sunset → offboarding → retired
 *                 └─ reject ─→ draft                          (active and maintenance may both go to sunset)
 *
 * Onboarding and offboarding carry checklists whose items must all be done before the channel may
 * leave them. A channel manager requests (submit, start onboarding, maintenance, offboarding); an
 * admin approves (approve, reject, activate, sunset, retire, and the checklist's `approval` item).
 */
import { ConflictError, ForbiddenError, ValidationError } from '@omnimall/service-kit/errors';

/** A staff member's roles as their token names them ('admin', 'channel_manager', ...). */
type Roles = readonly string[];

export const CHANNEL_STATES = [
  'draft',
  'pending_approval',
  'approved',
  'onboarding',
  'active',
  'maintenance',
  'sunset',
  'offboarding',
  'retired',
] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

export const LIFECYCLE_ACTIONS = [
  'submit',
  'approve',
  'reject',
  'start_onboarding',
  'activate',
  'enter_maintenance',
  'end_maintenance',
  'sunset',
  'start_offboarding',
  'retire',
] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

export const CHECKLISTS = {
  onboarding: ['approval', 'handoff', 'operational_readiness'],
  offboarding: ['stock_liquidation', 'data_migration', 'legal_compliance'],
} as const;
export type ChecklistName = keyof typeof CHECKLISTS;
export type ChecklistItem<L extends ChecklistName = ChecklistName> = (typeof CHECKLISTS)[L][number];

export interface ChecklistMark {
  done: boolean;
  by: string;
  at: Date;
  note?: string | null;
}
export type Checklists = { [L in ChecklistName]: Partial<Record<ChecklistItem<L>, ChecklistMark>> };

interface TransitionRule {
  from: readonly ChannelState[];
  to: ChannelState;
  /** Who may take it: admin always may; channel_manager only where this says so. */
  by: 'channel_manager' | 'admin';
  /** The checklist that must be complete before the channel leaves `from`. */
  requires?: ChecklistName;
}

export const TRANSITIONS: Record<LifecycleAction, TransitionRule> = {
  submit: { from: ['draft'], to: 'pending_approval', by: 'channel_manager' },
  approve: { from: ['pending_approval'], to: 'approved', by: 'admin' },
  reject: { from: ['pending_approval'], to: 'draft', by: 'admin' },
  start_onboarding: { from: ['approved'], to: 'onboarding', by: 'channel_manager' },
  activate: { from: ['onboarding'], to: 'active', by: 'admin', requires: 'onboarding' },
  enter_maintenance: { from: ['active'], to: 'maintenance', by: 'channel_manager' },
  end_maintenance: { from: ['maintenance'], to: 'active', by: 'channel_manager' },
  sunset: { from: ['active', 'maintenance'], to: 'sunset', by: 'admin' },
  start_offboarding: { from: ['sunset'], to: 'offboarding', by: 'channel_manager' },
  retire: { from: ['offboarding'], to: 'retired', by: 'admin', requires: 'offboarding' },
};

/** Checklist items only an admin may tick. */
const ADMIN_ITEMS: ReadonlySet<string> = new Set(['approval', 'legal_compliance']);

/** The actions possible from a state, with where each leads. */
export function allowedActions(state: ChannelState): { action: LifecycleAction; to: ChannelState }[] {
  return LIFECYCLE_ACTIONS.filter((a) => TRANSITIONS[a].from.includes(state)).map((action) => ({ action, to: TRANSITIONS[action].to }));
}

export function emptyChecklists(): Checklists {
  return { onboarding: {}, offboarding: {} };
}

export function missingItems(checklists: Checklists, list: ChecklistName): string[] {
  const marks = checklists[list] as Record<string, ChecklistMark | undefined>;
  return CHECKLISTS[list].filter((item) => !marks[item]?.done);
}

/** Whether a transaction (cart write, checkout, redemption) may happen on a channel. */
export function commerceAllowed(state: ChannelState, blockReasons: readonly string[]): boolean {
  return state === 'active' && blockReasons.length === 0;
}

function canAct(roles: Roles, by: 'channel_manager' | 'admin'): boolean {
  return roles.includes('admin') || (by === 'channel_manager' && roles.includes('channel_manager'));
}

export interface TransitionInput {
  state: ChannelState;
  checklists: Checklists;
  action: LifecycleAction;
  roles: Roles;
  now: Date;
  /** Required for enter_maintenance: when the channel expects to trade again. */
  expectedBackAt?: Date | null;
}

export interface TransitionResult {
  from: ChannelState;
  to: ChannelState;
  expectedBackAt: Date | null;
}

/**
 * Decides one lifecycle step or throws: 409 `illegal_transition` (with the allowed actions) when the
 * action does not apply to the state, 403 `admin_required` when a manager tries an admin's step, 409
 * `checklist_incomplete` when a checklist blocks leaving onboarding/offboarding, 400 when maintenance
 * lacks a future expectedBackAt.
 */
export function decideTransition(input: TransitionInput): TransitionResult {
  const rule = TRANSITIONS[input.action];
  if (!rule.from.includes(input.state)) {
    const allowed = allowedActions(input.state);
    throw new ConflictError(
      'illegal_transition',
      `a channel in state ${input.state} cannot ${input.action}`,
      allowed.length
        ? `allowed from ${input.state}: ${allowed.map((a) => `${a.action} → ${a.to}`).join(', ')}`
        : `${input.state} is final: nothing is allowed`,
      { state: input.state, action: input.action, allowed },
    );
  }
  if (!canAct(input.roles, rule.by)) {
    throw new ForbiddenError('admin_required', `only an admin may ${input.action} a channel`, 'ask an admin to take this step', {
      action: input.action,
    });
  }
  if (rule.requires) {
    const missing = missingItems(input.checklists, rule.requires);
    if (missing.length) {
      throw new ConflictError(
        'checklist_incomplete',
        `the ${rule.requires} checklist is not complete`,
        `complete ${missing.join(', ')} first`,
        {
          checklist: rule.requires,
          missing,
        },
      );
    }
  }
  let expectedBackAt: Date | null = null;
  if (rule.to === 'maintenance') {
    if (!input.expectedBackAt) {
      throw new ValidationError(
        'validation_failed',
        'entering maintenance needs expectedBackAt',
        'send expectedBackAt (ISO 8601, in the future)',
        {
          fields: [{ field: 'body.expectedBackAt', problem: 'required when action is enter_maintenance', code: 'required' }],
        },
      );
    }
    if (input.expectedBackAt.getTime() <= input.now.getTime()) {
      throw new ValidationError('validation_failed', 'expectedBackAt must be in the future', 'send a later expectedBackAt', {
        fields: [{ field: 'body.expectedBackAt', problem: 'must be in the future', code: 'too_small' }],
      });
    }
    expectedBackAt = input.expectedBackAt;
  }
  return { from: input.state, to: rule.to, expectedBackAt };
}

/** The checklist that may be worked on in a state (items are ticked while the channel is in it). */
export function checklistOpenIn(state: ChannelState): ChecklistName | null {
  if (state === 'onboarding') return 'onboarding';
  if (state === 'offboarding') return 'offboarding';
  return null;
}

export interface ChecklistInput {
  state: ChannelState;
  list: ChecklistName;
  item: string;
  roles: Roles;
}

/** Validates ticking one checklist item: the item exists, its checklist is open, and the role may tick it. */
export function decideChecklistItem(input: ChecklistInput): void {
  const items = CHECKLISTS[input.list] as readonly string[];
  if (!items.includes(input.item)) {
    throw new ValidationError(
      'validation_failed',
      `${input.item} is not an item of the ${input.list} checklist`,
      `use one of: ${items.join(', ')}`,
      {
        fields: [{ field: 'params.item', problem: `one of ${items.join(', ')}`, code: 'invalid_value' }],
      },
    );
  }
  if (checklistOpenIn(input.state) !== input.list) {
    throw new ConflictError(
      'checklist_closed',
      `the ${input.list} checklist can only be worked on in state ${input.list}`,
      `the channel is ${input.state}`,
      {
        state: input.state,
      },
    );
  }
  if (ADMIN_ITEMS.has(input.item) && !input.roles.includes('admin')) {
    throw new ForbiddenError('admin_required', `only an admin may complete ${input.item}`, 'ask an admin to sign this item off', {
      item: input.item,
    });
  }
}
