import { randomBytes, randomUUID } from 'node:crypto';
import {
  ForbiddenError,
  isDuplicateKeyError,
  TooManyRequestsError,
  UnauthorizedError,
  ConflictError,
  ValidationError,
  type Principal,
  type StaffRole,
} from '@omnimall/service-kit';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from '../domain/passwords';
import { afterFailure, lockedFor } from '../domain/login-throttle';
import { decideRefresh, formatRefreshToken, hashSecret, newSecret, parseRefreshToken, USED_HASHES_KEPT } from '../domain/refresh-tokens';
import { refusal } from '../domain/standing';
import { customerStatusChanged } from '../events/outgoing';
import type { CustomerDoc, SessionDoc, StaffDoc } from '../store/models';
import type { IdentityContext } from './context';
import { assertResidency } from './residency';
import { linkIdentity } from './customers';

export interface Tokens {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  sessionId: string;
}

export interface RequestMeta {
  channel: string | null;
  address: string | null;
  correlationId?: string;
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

const invalidCredentials = (): UnauthorizedError =>
  new UnauthorizedError(
    'invalid_credentials',
    'the email or the password is wrong',
    'check both and try again; repeated failures lock the account for a while',
  );

// ---- sessions -----------------------------------------------------------------------------------

/** Opens a refresh-token family (a session) and signs its first access token. */
export async function openSession(ctx: IdentityContext, principal: Omit<Principal, 'sid'>, meta: RequestMeta): Promise<Tokens> {
  const sid = randomBytes(16).toString('base64url');
  const secret = newSecret();
  const now = new Date();
  await ctx.m.Session.create({
    _id: sid,
    subject: principal.sub,
    kind: principal.kind,
    channel: principal.channel,
    currentHash: hashSecret(secret),
    usedHashes: [],
    revokedAt: null,
    revokedReason: null,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: new Date(now.getTime() + ctx.settings.refreshTokenTtlMs),
    address: meta.address,
  });
  return {
    accessToken: await ctx.signer.sign({ ...principal, sid }, ctx.settings.accessTokenTtlSeconds),
    tokenType: 'Bearer',
    expiresIn: ctx.settings.accessTokenTtlSeconds,
    refreshToken: formatRefreshToken({ familyId: sid, secret }),
    sessionId: sid,
  };
}

async function revokeSession(ctx: IdentityContext, sid: string, reason: string): Promise<void> {
  await ctx.rt.locks.run(`sessions:${sid}`, async () => {
    await ctx.m.Session.updateOne({ _id: sid, revokedAt: null }, { $set: { revokedAt: new Date(), revokedReason: reason } });
  });
}

/** Revokes every open session of an account ("log out everywhere", bans, merges, erasure). */
export async function revokeAllSessions(ctx: IdentityContext, subject: string, reason: string): Promise<number> {
  const open = await ctx.m.Session.find({ subject, revokedAt: null }, { _id: 1 }).lean();
  await Promise.all(open.map((s) => revokeSession(ctx, s._id, reason)));
  return open.length;
}

/** Whether a session is still open (identity's own routes refuse access tokens of closed sessions at once). */
export async function sessionOpen(ctx: IdentityContext, sid: string): Promise<boolean> {
  const s = await ctx.m.Session.findById(sid, { revokedAt: 1 }).lean();
  return !!s && !s.revokedAt;
}

async function principalFor(ctx: IdentityContext, session: SessionDoc): Promise<Omit<Principal, 'sid'>> {
  if (session.kind === 'staff') {
    const staff = await ctx.m.Staff.findById(session.subject).lean();
    if (!staff) throw new UnauthorizedError('account_gone', 'the staff account no longer exists', 'ask an admin');
    return { sub: staff._id, kind: 'staff', roles: staff.roles as StaffRole[], channels: staff.channels, channel: session.channel };
  }
  const customer = await ctx.m.Customer.findById(session.subject).lean();
  if (!customer) throw new UnauthorizedError('account_gone', 'the customer account no longer exists', 'register again');
  assertMayAct(customer);
  return { sub: customer._id, kind: 'customer', roles: [], channels: [], channel: session.channel };
}

/**
 * Rotates a refresh token. Presenting a token that was already rotated revokes the whole family
 * (someone holds a copy), and the legitimate holder must log in again.
 */
export async function refresh(ctx: IdentityContext, raw: string): Promise<Tokens> {
  const parsed = parseRefreshToken(raw);
  if (!parsed) throw new UnauthorizedError('refresh_token_invalid', 'the refresh token is malformed', 'log in again');
  const outcome = await ctx.rt.locks.run(`sessions:${parsed.familyId}`, async () => {
    const family = await ctx.m.Session.findById(parsed.familyId).lean();
    const decision = decideRefresh(family, parsed.secret);
    if (decision.outcome === 'reused') {
      await ctx.m.Session.updateOne({ _id: parsed.familyId }, { $set: { revokedAt: new Date(), revokedReason: 'refresh_token_reused' } });
      ctx.rt.logger.warn('refresh token reuse detected; session revoked', { sessionId: parsed.familyId, subject: family!.subject });
      return { decision };
    }
    if (decision.outcome !== 'rotate') return { decision };
    const secret = newSecret();
    await ctx.m.Session.updateOne(
      { _id: parsed.familyId },
      {
        $set: { currentHash: hashSecret(secret), lastUsedAt: new Date() },
        $push: { usedHashes: { $each: [family!.currentHash], $slice: -USED_HASHES_KEPT } },
      },
    );
    return { decision, secret, family: family! };
  });
  switch (outcome.decision.outcome) {
    case 'reused':
      throw new UnauthorizedError(
        'refresh_token_reused',
        'this refresh token was already used; the session has been revoked',
        'log in again; if you did not reuse the token, change your password',
      );
    case 'revoked':
      throw new UnauthorizedError('session_revoked', 'this session was closed', 'log in again');
    case 'expired':
      throw new UnauthorizedError('refresh_token_expired', 'this refresh token has expired', 'log in again');
    case 'unknown':
      throw new UnauthorizedError('refresh_token_invalid', 'the refresh token is not recognised', 'log in again');
  }
  const { family, secret } = outcome as { family: SessionDoc; secret: string };
  const principal = await principalFor(ctx, family);
  return {
    accessToken: await ctx.signer.sign({ ...principal, sid: family._id }, ctx.settings.accessTokenTtlSeconds),
    tokenType: 'Bearer',
    expiresIn: ctx.settings.accessTokenTtlSeconds,
    refreshToken: formatRefreshToken({ familyId: family._id, secret }),
    sessionId: family._id,
  };
}

/** Closes the session of a refresh token (this device only). Unknown tokens are ignored: logout is idempotent. */
export async function logout(ctx: IdentityContext, raw: string): Promise<void> {
  const parsed = parseRefreshToken(raw);
  if (!parsed) return;
  const family = await ctx.m.Session.findById(parsed.familyId).lean();
  const d = decideRefresh(family, parsed.secret);
  if (d.outcome === 'rotate' || d.outcome === 'expired') await revokeSession(ctx, parsed.familyId, 'logout');
}

// ---- throttling ---------------------------------------------------------------------------------

function throttleKeys(ctx: IdentityContext, email: string, address: string | null): { key: string; max: number }[] {
  const keys = [{ key: `account:${email}`, max: ctx.settings.throttle.accountMaxFailures }];
  if (address) keys.push({ key: `address:${address}`, max: ctx.settings.throttle.addressMaxFailures });
  return keys;
}

function lockedOut(ms: number, which: string): TooManyRequestsError {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return new TooManyRequestsError(
    'login_locked',
    `too many failed logins for this ${which}; try again in ${seconds} s`,
    `wait ${seconds} s (Retry-After) or reset the password`,
    {
      retryAfterSeconds: seconds,
      scope: which,
    },
  );
}

async function assertNotLocked(ctx: IdentityContext, email: string, address: string | null): Promise<void> {
  for (const { key } of throttleKeys(ctx, email, address)) {
    const state = await ctx.m.LoginAttempt.findById(key).lean();
    const ms = lockedFor(state);
    if (ms > 0) throw lockedOut(ms, key.startsWith('account:') ? 'account' : 'address');
  }
}

/** Counts a failure on each key; returns the lock-out this failure caused, if any. */
async function recordFailure(ctx: IdentityContext, email: string, address: string | null): Promise<TooManyRequestsError | null> {
  let locked: TooManyRequestsError | null = null;
  for (const { key, max } of throttleKeys(ctx, email, address)) {
    await ctx.rt.locks.run(`login_attempts:${key}`, async () => {
      const state = await ctx.m.LoginAttempt.findById(key).lean();
      const next = afterFailure(state, max, ctx.settings.throttle);
      await ctx.m.LoginAttempt.updateOne({ _id: key }, { $set: next }, { upsert: true });
      const ms = lockedFor(next);
      if (ms > 0 && !locked) locked = lockedOut(ms, key.startsWith('account:') ? 'account' : 'address');
    });
  }
  return locked;
}

async function checkPassword(
  ctx: IdentityContext,
  email: string,
  password: string,
  stored: string | null | undefined,
  address: string | null,
): Promise<void> {
  await assertNotLocked(ctx, email, address);
  const ok = await verifyPassword(password, stored ?? (await decoyHash(ctx.settings.scrypt)));
  if (ok && stored) {
    await ctx.rt.locks.run(`login_attempts:account:${email}`, () => ctx.m.LoginAttempt.deleteOne({ _id: `account:${email}` }));
    return;
  }
  throw (await recordFailure(ctx, email, address)) ?? invalidCredentials();
}

// ---- customers ----------------------------------------------------------------------------------

export function assertMayAct(c: Pick<CustomerDoc, 'status' | 'until' | 'reason'>): void {
  const r = refusal(c);
  if (r)
    throw new ForbiddenError(
      r.code,
      r.message,
      r.code === 'customer_suspended' ? 'wait until the suspension ends or contact support' : 'contact support',
      r.until ? { until: r.until } : undefined,
    );
}

export interface RegisterInput {
  email: string;
  password: string;
  displayName?: string;
  dataRegion: string;
  deviceId?: string;
}

export async function register(
  ctx: IdentityContext,
  input: RegisterInput,
  meta: RequestMeta,
): Promise<{ customer: CustomerDoc; tokens: Tokens }> {
  const problem = passwordProblem(input.password);
  if (problem) throw new ValidationError('weak_password', problem, 'choose a password of 10 to 200 characters');
  const email = normaliseEmail(input.email);
  const id = randomUUID();
  // Personal data entered on a channel that may not hold this region's data is refused before it is stored.
  await assertResidency(ctx, {
    channel: meta.channel,
    customerId: null,
    dataRegion: input.dataRegion,
    action: 'POST /auth/register',
    actor: null,
    correlationId: meta.correlationId,
  });
  await claimEmail(ctx, email, id);
  const now = new Date();
  const doc: CustomerDoc = {
    _id: id,
    email,
    passwordHash: await hashPassword(input.password, ctx.settings.scrypt),
    displayName: input.displayName ?? null,
    status: 'active',
    reason: null,
    until: null,
    loyaltyTier: 'standard',
    verified: false,
    dataRegion: input.dataRegion,
    registeredChannel: meta.channel,
    consents: {},
    mergedInto: null,
    erasedAt: null,
    erasedEmailDigest: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  let customer: CustomerDoc;
  try {
    customer = await ctx.rt.outbox.create(ctx.m.Customer, doc, [
      customerStatusChanged(doc, 'registered', { correlationId: meta.correlationId, sourceChannel: meta.channel }),
    ]);
  } catch (err) {
    if (!isDuplicateKeyError(err)) {
      await ctx.m.CustomerEmail.collection.deleteOne({ _id: email, customerId: id } as never).catch(() => undefined);
      throw err;
    }
    // The unique index says another account has this email, though its document named nobody who
    // does (a leftover): point the document back at that account (a rare query by email), or drop
    // this registration's claim if none has it.
    const holder = await ctx.m.Customer.findOne({ email }, { _id: 1 }).lean();
    const claim = { _id: email, customerId: id } as never;
    if (holder) await ctx.m.CustomerEmail.collection.updateOne(claim, { $set: { customerId: holder._id } });
    else await ctx.m.CustomerEmail.collection.deleteOne(claim);
    throw emailTaken();
  }
  if (input.deviceId && meta.channel)
    await linkIdentity(ctx, id, { type: 'device', externalId: input.deviceId, channel: meta.channel }, id, meta).catch(() => undefined);
  const tokens = await openSession(ctx, { sub: id, kind: 'customer', roles: [], channels: [], channel: meta.channel }, meta);
  return { customer, tokens };
}

/**
 * Claims the email document for a new customer. One held by a customer who still has that email
 * means the email is taken; one left by an erased account or an interrupted registration is taken
 * over (a compare-and-set on its holder, so of two registrations one wins).
 */
async function claimEmail(ctx: IdentityContext, email: string, customerId: string): Promise<void> {
  const keys = ctx.m.CustomerEmail.collection;
  try {
    await keys.insertOne({ _id: email, customerId } as never);
    return;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  const key = await ctx.m.CustomerEmail.findById(email).lean();
  const holder = key ? await ctx.m.Customer.findById(key.customerId, { email: 1 }).lean() : null;
  if (!key || holder?.email === email) throw emailTaken();
  const res = await keys.updateOne({ _id: email, customerId: key.customerId } as never, { $set: { customerId } });
  if (!res.matchedCount) throw emailTaken();
}

/** The customer an email belongs to, through its email document (null when none holds it now). */
async function customerByEmail(ctx: IdentityContext, email: string): Promise<CustomerDoc | null> {
  const key = await ctx.m.CustomerEmail.findById(email).lean();
  const customer = key ? ((await ctx.m.Customer.findById(key.customerId).lean()) as CustomerDoc | null) : null;
  return customer?.email === email ? customer : null;
}

const emailTaken = (): ConflictError =>
  new ConflictError('email_taken', 'an account with this email already exists', 'log in instead, or reset the password');

export interface LoginResult {
  customer: CustomerDoc;
  channel: string | null;
  tokens: Tokens;
  deviceLink?: { status: 'linked' | 'already_linked' | 'conflict'; customerId?: string };
}

/**
 * Logs a customer in on any channel: the answer is the global account (a merged profile answers
 * with the profile it was merged into) and the channel the session was opened from.
 */
export async function login(
  ctx: IdentityContext,
  input: { email: string; password: string; deviceId?: string },
  meta: RequestMeta,
): Promise<LoginResult> {
  const email = normaliseEmail(input.email);
  const found = await customerByEmail(ctx, email);
  await checkPassword(ctx, email, input.password, found?.passwordHash, meta.address);
  let customer = found!;
  for (let hops = 0; customer.mergedInto && hops < 5; hops++) {
    const target = await ctx.m.Customer.findById(customer.mergedInto).lean();
    if (!target) break;
    customer = target;
  }
  assertMayAct(customer);
  await assertResidency(ctx, {
    channel: meta.channel,
    customerId: customer._id,
    dataRegion: customer.dataRegion,
    action: 'POST /auth/login',
    actor: customer._id,
    correlationId: meta.correlationId,
  });
  let deviceLink: LoginResult['deviceLink'];
  if (input.deviceId && meta.channel) {
    try {
      const r = await linkIdentity(
        ctx,
        customer._id,
        { type: 'device', externalId: input.deviceId, channel: meta.channel },
        customer._id,
        meta,
      );
      deviceLink = { status: r.created ? 'linked' : 'already_linked' };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      deviceLink = { status: 'conflict', customerId: (err.details as { existingCustomerId?: string }).existingCustomerId };
    }
  }
  const tokens = await openSession(ctx, { sub: customer._id, kind: 'customer', roles: [], channels: [], channel: meta.channel }, meta);
  return { customer, channel: meta.channel, tokens, deviceLink };
}

// ---- staff --------------------------------------------------------------------------------------

export async function staffLogin(
  ctx: IdentityContext,
  input: { email: string; password: string },
  meta: RequestMeta,
): Promise<{ staff: StaffDoc; tokens: Tokens }> {
  const email = normaliseEmail(input.email);
  const staff = await ctx.m.Staff.findOne({ email }).lean();
  await checkPassword(ctx, email, input.password, staff?.passwordHash, meta.address);
  const tokens = await openSession(
    ctx,
    { sub: staff!._id, kind: 'staff', roles: staff!.roles as StaffRole[], channels: staff!.channels, channel: meta.channel },
    meta,
  );
  return { staff: staff!, tokens };
}

export async function createStaff(
  ctx: IdentityContext,
  input: { email: string; password: string; roles: StaffRole[]; channels: string[] },
  createdBy: string,
): Promise<StaffDoc> {
  const problem = passwordProblem(input.password);
  if (problem) throw new ValidationError('weak_password', problem, 'choose a password of 10 to 200 characters');
  if (input.roles.includes('channel_manager') && !input.channels.length) {
    throw new ValidationError(
      'channel_scope_required',
      'a channel_manager needs at least one channel code in `channels`',
      'list the channels this manager may act on',
    );
  }
  const doc: StaffDoc = {
    _id: randomUUID(),
    email: normaliseEmail(input.email),
    passwordHash: await hashPassword(input.password, ctx.settings.scrypt),
    roles: [...new Set(input.roles)],
    channels: [...new Set(input.channels)],
    createdBy,
    createdAt: new Date(),
  };
  try {
    await ctx.m.Staff.create(doc);
  } catch (err) {
    if (isDuplicateKeyError(err))
      throw new ConflictError('email_taken', 'a staff account with this email already exists', 'use another email');
    throw err;
  }
  return doc;
}

/** Creates the first admin from BOOTSTRAP_ADMIN_EMAIL / _PASSWORD once; later starts leave it as it is. */
export async function bootstrapAdmin(ctx: IdentityContext): Promise<'created' | 'exists' | 'not_configured'> {
  const b = ctx.settings.bootstrapAdmin;
  if (!b) return 'not_configured';
  const email = normaliseEmail(b.email);
  if (await ctx.m.Staff.exists({ email })) return 'exists';
  try {
    await ctx.m.Staff.create({
      _id: randomUUID(),
      email,
      passwordHash: await hashPassword(b.password, ctx.settings.scrypt),
      roles: ['admin'],
      channels: [],
      createdBy: 'bootstrap',
      createdAt: new Date(),
    });
    ctx.rt.logger.info('bootstrap admin created', { email });
    return 'created';
  } catch (err) {
    if (isDuplicateKeyError(err)) return 'exists'; // another instance created it first
    throw err;
  }
}
