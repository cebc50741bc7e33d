/**
 * The channel lifecycle as a pure state machine (no I/O):
 *
 *   draft → pending_approval → approved → onboarding → active ⇄ maintenance → sunset → offboarding → retired
 *                 └─ reject ─→ draft                          (active and maintenance may both go to sunset)
 *
 * Onboarding and offboarding carry checklists whose items must all be done before the channel may
 * leave them. A channel manager requests (submit, start onboarding, maintenance, offboarding); an
 * admin approves (approve, reject, activate, sunset, retire, and the checklist's `approval` item).
 *
 * `approve` is the approval: it ticks the onboarding checklist's `approval` item itself (by the
 * approving admin, at that instant), so activate never waits for a second sign-off of the same
 * decision; an admin may still tick it by hand in onboarding (a channel approved before approve
 * ticked it), and a refused activate says which items are missing and how each is ticked.
 *
 * Active is the lifecycle's word, commerce is another matter: an active channel with block reasons
 * (configuration or compliance) still takes no transaction. `commerceNotice` says so, with what
 * lifts each reason, wherever a channel becomes active while blocked (activate, end of maintenance).
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
  /** The checklist item the step itself completes (approve completes onboarding's `approval`). */
  ticks?: { list: ChecklistName; item: string };
}

export const TRANSITIONS: Record<LifecycleAction, TransitionRule> = {
  submit: { from: ['draft'], to: 'pending_approval', by: 'channel_manager' },
  approve: { from: ['pending_approval'], to: 'approved', by: 'admin', ticks: { list: 'onboarding', item: 'approval' } },
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
  /** Who takes the step (the staff member's id), for the checklist marks it makes. */
  by?: string;
  now: Date;
  /** Required for enter_maintenance: when the channel expects to trade again. */
  expectedBackAt?: Date | null;
}

export interface TransitionResult {
  from: ChannelState;
  to: ChannelState;
  expectedBackAt: Date | null;
  /** The checklists after the step (approve ticks onboarding's `approval`); the input's when it ticks nothing. */
  checklists: Checklists;
}

/** How each checklist item is completed, for the hint of a refused step. */
function howToComplete(list: ChecklistName, item: string): string {
  const put = `PUT /channels/{code}/checklists/${list}/${item}`;
  if (list === 'onboarding' && item === 'approval')
    return `approval (ticked by the approve step; for a channel approved before approve ticked it, an admin sends ${put})`;
  return `${item} (${ADMIN_ITEMS.has(item) ? 'an admin sends ' : ''}${put})`;
}

/** The items a step would tick, as marks by `by` at `at`. */
function ticked(checklists: Checklists, rule: TransitionRule, by: string, at: Date): Checklists {
  if (!rule.ticks) return checklists;
  const { list, item } = rule.ticks;
  return { ...checklists, [list]: { ...checklists[list], [item]: { done: true, by, at, note: 'ticked by approve' } } };
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
        `the ${rule.requires} checklist is not complete: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`,
        `complete first: ${missing.map((item) => howToComplete(rule.requires!, item)).join('; ')}`,
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
  return { from: input.state, to: rule.to, expectedBackAt, checklists: ticked(input.checklists, rule, input.by ?? 'unknown', input.now) };
}

/** What tells a caller that an active channel takes no transaction yet: the reasons, and what lifts each. */
export interface CommerceNotice {
  code: 'commerce_not_allowed';
  message: string;
  hint: string;
  blockReasons: string[];
}

/** What lifts one block reason (configuration.ts names them). */
function liftOf(reason: string): string {
  if (reason === 'outdated_config_version')
    return 'outdated_config_version: the channel app must apply the current configuration and report it (POST /channel-app/config-report)';
  const text = /^missing_compliance_text:([^:]+):(.+)$/.exec(reason);
  if (text)
    return `${reason}: give ${text[1]} a text in ${text[2]} (PUT /channels/{code}/config-overrides/${text[1]}), or drop ${text[2]} from the channel's languages`;
  return `${reason}: see GET /channels/{code} (blockReasons)`;
}

/**
 * The notice for a channel in `state` with `blockReasons`, or null when it may trade or is not
 * active: an active channel with block reasons answers 200 to its activation, and this says that
 * no cart change, checkout or redemption is taken until every reason is lifted.
 */
export function commerceNotice(state: ChannelState, blockReasons: readonly string[]): CommerceNotice | null {
  if (state !== 'active' || commerceAllowed(state, blockReasons)) return null;
  return {
    code: 'commerce_not_allowed',
    message: `the channel is active, but takes no transaction (cart change, checkout, redemption) while it is blocked: ${blockReasons.join(', ')}`,
    hint: `lift every reason; commerceAllowed turns true (and channels.channel-changed says so) once none is left: ${blockReasons.map(liftOf).join('; ')}`,
    blockReasons: [...blockReasons],
  };
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
      input.list === 'onboarding' && input.item === 'approval'
        ? input.state === 'pending_approval'
          ? 'the channel is pending_approval: approve it (POST /channels/{code}/transitions with action approve), which ticks approval'
          : `the channel is ${input.state}; approve ticks approval, so there is nothing to tick here`
        : `the channel is ${input.state}`,
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
