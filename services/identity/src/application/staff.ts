import { randomUUID } from 'node:crypto';
import { ConflictError, ValidationError } from '@omnimall/service-kit/errors';
import type { StaffRole } from '@omnimall/contracts';
import { hashPassword, passwordProblem } from '../domain/passwords';
import { normaliseEmail, type StaffAccount } from '../domain/staff';
import type { IdentityContext, RequestMeta } from './context';
import { openSession, type Tokens } from './sessions';
import { checkPassword } from './throttle';

/** Staff accounts: login (throttled like customers'), creation by an admin, and the bootstrap admin. */
export async function staffLogin(
  ctx: IdentityContext,
  input: { email: string; password: string },
  meta: RequestMeta,
): Promise<{ staff: StaffAccount; tokens: Tokens }> {
  const email = normaliseEmail(input.email);
  const staff = await ctx.store.staff.byEmail(email);
  await checkPassword(ctx, email, input.password, staff?.passwordHash, meta.address);
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
  if (input.roles.includes('channel_manager') && !input.channels.length) {
    throw new ValidationError(
      'channel_scope_required',
      'a channel_manager needs at least one channel code in `channels`',
      'list the channels this manager may act on',
    );
  }
  const doc: StaffAccount = {
    _id: randomUUID(),
    email: normaliseEmail(input.email),
    passwordHash: await hashPassword(input.password, ctx.settings.scrypt),
    roles: [...new Set(input.roles)],
    channels: [...new Set(input.channels)],
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
