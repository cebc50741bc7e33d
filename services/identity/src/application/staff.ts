import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@omnimall/service-kit/errors';
import type { StaffRole } from '@omnimall/contracts';
import { hashPassword, passwordProblem } from '../domain/passwords';
import { assertChannelScope, editStaff, normaliseEmail, type StaffAccount, type StaffEdit } from '../domain/staff';
import { staffChanged } from '../events/out/accounts';
import type { IdentityContext, RequestMeta } from './context';
import { revocationEvents, revocationOf } from './revocations';
import { accountDisabled, openSession, revokeAllSessions, type Tokens } from './sessions';
import { checkPassword } from './throttle';

/**
 * Staff accounts: login (throttled like customers'), creation and changes by an admin, and the
 * bootstrap admin. A change of roles, channels or the disabled flag is committed with a full-state
 * StaffChanged (identity.staff-changed) so other services can refuse the member's tokens at once;
 * identity itself signs the new roles into the next access token, and disabling commits, in the same
 * write, a revocation of every token of the member (identity.session-revoked, so a later re-enable
 * does not revive them) and then closes every session (their refreshes fail).
 */
export async function staffLogin(
  ctx: IdentityContext,
  input: { email: string; password: string },
  meta: RequestMeta,
): Promise<{ staff: StaffAccount; tokens: Tokens }> {
  const email = normaliseEmail(input.email);
  const staff = await ctx.store.staff.byEmail(email);
  await checkPassword(ctx, email, input.password, staff?.passwordHash, meta.address);
  if (staff!.disabled) throw accountDisabled();
  const tokens = await openSession(
    ctx,
    { sub: staff!._id, kind: 'staff', roles: [...staff!.roles], channels: staff!.channels, channel: meta.channel },
    meta,
  );
  return { staff: staff!, tokens };
}

export async function createStaff(
  ctx: IdentityContext,
  input: { email: string; password: string; roles: StaffRole[]; channels: string[] },
  createdBy: string,
): Promise<StaffAccount> {
  const problem = passwordProblem(input.password);
  if (problem) throw new ValidationError('weak_password', problem, 'choose a password of 10 to 200 characters');
  assertChannelScope(input.roles, input.channels);
  const doc: StaffAccount = {
    _id: randomUUID(),
    email: normaliseEmail(input.email),
    passwordHash: await hashPassword(input.password, ctx.settings.scrypt),
    roles: [...new Set(input.roles)],
    channels: [...new Set(input.channels)],
    disabled: false,
    version: 1,
    createdBy,
    createdAt: new Date(),
  };
  if (!(await ctx.store.staff.create(doc)))
    throw new ConflictError('email_taken', 'a staff account with this email already exists', 'use another email');
  return doc;
}

/** Creates the first admin from BOOTSTRAP_ADMIN_EMAIL / _PASSWORD once; later starts leave it as it is. */
export async function bootstrapAdmin(ctx: IdentityContext): Promise<'created' | 'exists' | 'not_configured'> {
  const b = ctx.settings.bootstrapAdmin;
  if (!b) return 'not_configured';
  const email = normaliseEmail(b.email);
  if (await ctx.store.staff.byEmail(email)) return 'exists';
  const created = await ctx.store.staff.create({
    _id: randomUUID(),
    email,
    passwordHash: await hashPassword(b.password, ctx.settings.scrypt),
    roles: ['admin'],
    channels: [],
    createdBy: 'bootstrap',
    createdAt: new Date(),
  });
  if (!created) return 'exists'; // another instance created it first
  ctx.logger.info('bootstrap admin created', { email });
  return 'created';
}

/** Disables or enables a staff account, or changes its roles or channels (admins; never their own access). */
export async function updateStaff(
  ctx: IdentityContext,
  id: string,
  edit: StaffEdit,
  by: string,
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<{ staff: StaffAccount; changes: string[] }> {
  let changes: string[] = [];
  const at = new Date();
  const after = await ctx.store.staff.transact(id, (current) => {
    if (!current) throw new NotFoundError('staff_not_found', `no staff account ${id}`, 'check the staff id');
    const decided = editStaff(current, edit, by);
    changes = decided.changes;
    if (!changes.length) return null;
    const { roles, channels, disabled, version } = decided.next;
    const revoked =
      disabled && !current.disabled
        ? revocationEvents([revocationOf(ctx, { sub: id, kind: 'staff' }, 'staff_disabled', null, at)], meta)
        : [];
    return {
      set: { roles, channels, disabled, version, updatedAt: at },
      events: [staffChanged(decided.next, changes, by, at, meta), ...revoked],
    };
  });
  if (changes.includes('disabled')) await revokeAllSessions(ctx, id, 'staff_disabled');
  return { staff: after!, changes };
}
