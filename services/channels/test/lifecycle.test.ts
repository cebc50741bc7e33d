import { AppError } from '@omnimall/service-kit';
import {
  allowedActions,
  CHANNEL_STATES,
  commerceAllowed,
  commerceNotice,
  decideChecklistItem,
  decideTransition,
  emptyChecklists,
  LIFECYCLE_ACTIONS,
  type ChannelState,
  type Checklists,
  type LifecycleAction,
} from '../src/domain/lifecycle';

/** Written out by hand (not derived from the module) so a wrong edge in TRANSITIONS fails here. */
const EXPECTED: Record<ChannelState, Partial<Record<LifecycleAction, ChannelState>>> = {
  draft: { submit: 'pending_approval' },
  pending_approval: { approve: 'approved', reject: 'draft' },
  approved: { start_onboarding: 'onboarding' },
  onboarding: { activate: 'active' },
  active: { enter_maintenance: 'maintenance', sunset: 'sunset' },
  maintenance: { end_maintenance: 'active', sunset: 'sunset' },
  sunset: { start_offboarding: 'offboarding' },
  offboarding: { retire: 'retired' },
  retired: {},
};
const ADMIN_ONLY: LifecycleAction[] = ['approve', 'reject', 'activate', 'sunset', 'retire'];

const now = new Date('2030-01-01T00:00:00Z');
const later = new Date('2030-01-01T02:00:00Z');
const mark = { done: true, by: 'stf_1', at: now };
const complete: Checklists = {
  onboarding: { approval: mark, handoff: mark, operational_readiness: mark },
  offboarding: { stock_liquidation: mark, data_migration: mark, legal_compliance: mark },
};

function attempt(
  state: ChannelState,
  action: LifecycleAction,
  roles: ('admin' | 'channel_manager')[],
  checklists = complete,
  expectedBackAt: Date | null = later,
) {
  try {
    return { ok: decideTransition({ state, action, roles, checklists, now, expectedBackAt }) };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { err };
  }
}

describe('channel lifecycle: every state × every action', () => {
  const cases = CHANNEL_STATES.flatMap((s) => LIFECYCLE_ACTIONS.map((a) => [s, a] as const));
  it('covers 9 states × 10 actions', () => expect(cases).toHaveLength(90));

  it.each(cases)('%s × %s as admin', (state, action) => {
    const r = attempt(state, action, ['admin']);
    const to = EXPECTED[state][action];
    if (to) {
      const approval = { done: true, by: 'unknown', at: now, note: 'ticked by approve' };
      const checklists = action === 'approve' ? { ...complete, onboarding: { ...complete.onboarding, approval } } : complete;
      expect(r.ok).toEqual({ from: state, to, expectedBackAt: to === 'maintenance' ? later : null, checklists });
    } else {
      expect(r.err?.status).toBe(409);
      expect(r.err?.code).toBe('illegal_transition');
      const allowed = Object.entries(EXPECTED[state]).map(([a, t]) => ({ action: a, to: t }));
      expect(r.err?.details).toEqual({ state, action, allowed });
    }
  });

  it.each(cases)('%s × %s as channel manager', (state, action) => {
    const r = attempt(state, action, ['channel_manager']);
    const to = EXPECTED[state][action];
    if (!to) expect(r.err?.code).toBe('illegal_transition');
    else if (ADMIN_ONLY.includes(action)) expect([r.err?.status, r.err?.code]).toEqual([403, 'admin_required']);
    else expect(r.ok?.to).toBe(to);
  });

  it('lists the allowed actions of each state, and none from retired', () => {
    for (const s of CHANNEL_STATES)
      expect(
        allowedActions(s)
          .map((a) => a.action)
          .sort(),
      ).toEqual(Object.keys(EXPECTED[s]).sort());
    expect(attempt('retired', 'submit', ['admin']).err?.hint).toMatch(/final/);
  });
});

describe('lifecycle guards', () => {
  it('refuses to leave onboarding until approval, handoff and operational readiness are done', () => {
    const partial: Checklists = { ...emptyChecklists(), onboarding: { approval: mark } };
    const r = attempt('onboarding', 'activate', ['admin'], partial);
    expect([r.err?.status, r.err?.code]).toEqual([409, 'checklist_incomplete']);
    expect(r.err?.details).toEqual({ checklist: 'onboarding', missing: ['handoff', 'operational_readiness'] });
    const notDone: Checklists = { ...complete, onboarding: { ...complete.onboarding, handoff: { ...mark, done: false } } };
    expect(attempt('onboarding', 'activate', ['admin'], notDone).err?.details).toEqual({ checklist: 'onboarding', missing: ['handoff'] });
  });

  it('refuses to retire until stock liquidation, data migration and legal compliance are done', () => {
    const r = attempt('offboarding', 'retire', ['admin'], emptyChecklists());
    expect(r.err?.details).toEqual({ checklist: 'offboarding', missing: ['stock_liquidation', 'data_migration', 'legal_compliance'] });
  });

  it('needs a future expectedBackAt to enter maintenance', () => {
    expect(attempt('active', 'enter_maintenance', ['channel_manager'], complete, null).err?.status).toBe(400);
    expect(attempt('active', 'enter_maintenance', ['channel_manager'], complete, now).err?.status).toBe(400);
    expect(attempt('active', 'enter_maintenance', ['channel_manager'], complete, later).ok).toEqual({
      from: 'active',
      to: 'maintenance',
      expectedBackAt: later,
      checklists: complete,
    });
  });

  it('approve ticks the onboarding checklist’s approval, by the approving admin, so activate waits only for the other items', () => {
    const approved = decideTransition({
      state: 'pending_approval',
      action: 'approve',
      roles: ['admin'],
      by: 'stf_admin_9',
      checklists: emptyChecklists(),
      now,
    });
    expect(approved.checklists).toEqual({
      onboarding: { approval: { done: true, by: 'stf_admin_9', at: now, note: 'ticked by approve' } },
      offboarding: {},
    });
    const r = attempt('onboarding', 'activate', ['admin'], approved.checklists);
    expect(r.err?.details).toEqual({ checklist: 'onboarding', missing: ['handoff', 'operational_readiness'] });
    expect(r.err?.hint).toBe(
      'complete first: handoff (PUT /channels/{code}/checklists/onboarding/handoff); operational_readiness (PUT /channels/{code}/checklists/onboarding/operational_readiness)',
    );
    // a channel approved before approve ticked it: the hint says approve ticks it, and how an admin ticks it by hand
    expect(attempt('onboarding', 'activate', ['admin'], emptyChecklists()).err?.hint).toMatch(
      /^complete first: approval \(ticked by the approve step; .* an admin sends PUT \/channels\/\{code\}\/checklists\/onboarding\/approval\); handoff/,
    );
    expect(attempt('offboarding', 'retire', ['admin'], emptyChecklists()).err?.hint).toContain(
      'legal_compliance (an admin sends PUT /channels/{code}/checklists/offboarding/legal_compliance)',
    );
  });

  it('says, when an active channel is blocked, that it takes no transaction, and what lifts each reason', () => {
    expect(commerceNotice('active', [])).toBeNull();
    expect(commerceNotice('onboarding', ['outdated_config_version'])).toBeNull();
    const notice = commerceNotice('active', ['missing_compliance_text:compliance.termsOfSale:ja', 'outdated_config_version']);
    expect(notice).toMatchObject({
      code: 'commerce_not_allowed',
      blockReasons: ['missing_compliance_text:compliance.termsOfSale:ja', 'outdated_config_version'],
    });
    expect(notice?.message).toMatch(/active, but takes no transaction/);
    expect(notice?.hint).toContain('PUT /channels/{code}/config-overrides/compliance.termsOfSale');
    expect(notice?.hint).toContain('POST /channel-app/config-report');
  });

  it('allows commerce only on an active, unblocked channel', () => {
    for (const s of CHANNEL_STATES) expect(commerceAllowed(s, [])).toBe(s === 'active');
    expect(commerceAllowed('active', ['outdated_config_version'])).toBe(false);
  });
});

describe('checklist items', () => {
  const tick = (state: ChannelState, list: 'onboarding' | 'offboarding', item: string, roles: ('admin' | 'channel_manager')[]) => {
    try {
      decideChecklistItem({ state, list, item, roles });
      return 'ok';
    } catch (err) {
      return (err as AppError).code;
    }
  };
  it('may be ticked only while the checklist is open, by the right role', () => {
    expect(tick('onboarding', 'onboarding', 'handoff', ['channel_manager'])).toBe('ok');
    expect(tick('onboarding', 'onboarding', 'approval', ['channel_manager'])).toBe('admin_required');
    expect(tick('onboarding', 'onboarding', 'approval', ['admin'])).toBe('ok');
    expect(tick('active', 'onboarding', 'handoff', ['admin'])).toBe('checklist_closed');
    expect(tick('onboarding', 'offboarding', 'data_migration', ['admin'])).toBe('checklist_closed');
    expect(tick('offboarding', 'offboarding', 'legal_compliance', ['channel_manager'])).toBe('admin_required');
    expect(tick('offboarding', 'offboarding', 'stock_liquidation', ['channel_manager'])).toBe('ok');
    expect(tick('onboarding', 'onboarding', 'catering', ['admin'])).toBe('validation_failed');
  });

  it('says why approval cannot be ticked before onboarding: approve ticks it', () => {
    const hintOf = (state: ChannelState) => {
      try {
        decideChecklistItem({ state, list: 'onboarding', item: 'approval', roles: ['admin'] });
        return null;
      } catch (err) {
        return [(err as AppError).code, (err as AppError).hint];
      }
    };
    expect(hintOf('pending_approval')).toEqual(['checklist_closed', expect.stringContaining('action approve), which ticks approval')]);
    expect(hintOf('approved')).toEqual(['checklist_closed', expect.stringContaining('approve ticks approval')]);
  });
});
