import { randomUUID } from 'node:crypto';
import { ConflictError, TooManyRequestsError, ValidationError } from '@omnimall/service-kit/errors';
import { activeOn, type Customer } from '../domain/customer';
import { hashPassword, passwordProblem } from '../domain/passwords';
import { normaliseEmail } from '../domain/staff';
import { assertMayAct } from '../domain/standing';
import { customerStatusChanged } from '../events/out/customer';
import type { IdentityContext, RequestMeta } from './context';
import { linkIdentity } from './links';
import { assertResidency } from './residency';
import { openSession, type Tokens } from './sessions';
import { checkPassword } from './throttle';

/**
 * Customer accounts: registration and login on any channel. Both come through a channel app (its
 * credential named the channel): the session and its tokens are bound to that channel, and the
 * residency rule is always that channel's. A customer is found by email through its email document
 * (`store.emails`), claimed at registration and freed at erasure; the unique email index on
 * customers still decides between two registrations of one email.
 */
export interface RegisterInput {
  email: string;
  password: string;
  displayName?: string;
  dataRegion: string;
  /** A device whose token the request showed (proof of possession): linked on the way. */
  deviceId?: string;
}

/** A request from a channel app: its channel is known (from its credential), never absent. */
export type ChannelMeta = RequestMeta & { channel: string };

/** What became of the device a login or registration came with (a conflict names no other account). */
export interface DeviceLink {
  status: 'linked' | 'already_linked' | 'conflict';
}

const emailTaken = (): ConflictError =>
  new ConflictError('email_taken', 'an account with this email already exists', 'log in instead, or reset the password');

export async function register(ctx: IdentityContext, input: RegisterInput, meta: ChannelMeta): Promise<LoginResult> {
  await withinLimit(ctx.store.limits.register, meta.address, 'register_rate_limited', 'registrations');
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
  const doc: Customer = {
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
    channels: [meta.channel],
    consents: {},
    mergedInto: null,
    erasedAt: null,
    erasedEmailDigest: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  let customer: Customer | null;
  try {
    customer = await ctx.store.customers.create(doc, [
      customerStatusChanged(doc, 'registered', { correlationId: meta.correlationId, sourceChannel: meta.channel }),
    ]);
  } catch (err) {
    await ctx.store.emails.release(email, id).catch(() => undefined);
    throw err;
  }
  if (!customer) {
    // The unique index says another account has this email, though its document named nobody who
    // does (a leftover): point the document back at that account (a rare query by email), or drop
    // this registration's claim if none has it.
    const holder = await ctx.store.customers.idByEmail(email);
    if (holder) await ctx.store.emails.reassign(email, id, holder);
    else await ctx.store.emails.release(email, id);
    throw emailTaken();
  }
  const deviceLink = input.deviceId ? await linkDevice(ctx, id, input.deviceId, meta) : undefined;
  const tokens = await openSession(ctx, { sub: id, kind: 'customer', roles: [], channels: [], channel: meta.channel }, meta);
  return { customer, channel: meta.channel, tokens, deviceLink };
}

/**
 * Links the device a login or registration came with (its token was verified by the caller, so the
 * id is the caller's own). A device already linked to another account is reported as a conflict
 * naming nobody: the login itself still succeeds.
 */
async function linkDevice(ctx: IdentityContext, customerId: string, deviceId: string, meta: ChannelMeta): Promise<DeviceLink> {
  try {
    const link = { type: 'device' as const, externalId: deviceId, channel: meta.channel };
    const r = await linkIdentity(ctx, customerId, link, customerId, { correlationId: meta.correlationId });
    return { status: r.created ? 'linked' : 'already_linked' };
  } catch (err) {
    if (err instanceof ConflictError) return { status: 'conflict' };
    throw err;
  }
}

/**
 * Claims the email document for a new customer. One held by a customer who still has that email
 * means the email is taken; one left by an erased account or an interrupted registration is taken
 * over (a compare-and-set on its holder, so of two registrations one wins).
 */
async function claimEmail(ctx: IdentityContext, email: string, customerId: string): Promise<void> {
  const emails = ctx.store.emails;
  if (await emails.insert(email, customerId)) return;
  const holderId = await emails.holderOf(email);
  const holder = holderId ? await ctx.store.customers.get(holderId) : null;
  if (!holderId || holder?.email === email) throw emailTaken();
  if (!(await emails.reassign(email, holderId, customerId))) throw emailTaken();
}

/**
 * Counts a request from `address` on a per-address limit; over it, 429 `code` with the seconds to
 * wait (Retry-After). Requests without a known address share one count.
 */
export async function withinLimit(
  limiter: { consume(address: string): Promise<number> },
  address: string | null,
  code: string,
  what: string,
): Promise<void> {
  const seconds = await limiter.consume(address ?? 'unknown');
  if (seconds > 0)
    throw new TooManyRequestsError(
      code,
      `too many ${what} from this address; try again in ${seconds} s`,
      `wait ${seconds} s (Retry-After)`,
      {
        retryAfterSeconds: seconds,
      },
    );
}

/** Adds `channel` to the channels the customer was active on (a channel manager's reach), once. */
async function noteChannel(ctx: IdentityContext, customer: Customer, channel: string): Promise<void> {
  if (activeOn(customer, channel)) return;
  await ctx.store.customers.transact(customer._id, (c) =>
    c && !activeOn(c, channel) ? { set: { channels: [...(c.channels ?? []), channel] }, events: [] } : null,
  );
}

/** The customer an email belongs to, through its email document (null when none holds it now). */
export async function customerByEmail(ctx: IdentityContext, email: string): Promise<Customer | null> {
  const holderId = await ctx.store.emails.holderOf(email);
  const customer = holderId ? await ctx.store.customers.get(holderId) : null;
  return customer?.email === email ? customer : null;
}

export interface LoginResult {
  customer: Customer;
  channel: string;
  tokens: Tokens;
  deviceLink?: DeviceLink;
}

/**
 * Logs a customer in on any channel: the answer is the global account (a merged profile answers
 * with the profile it was merged into) and the channel the session was opened from.
 */
export async function login(
  ctx: IdentityContext,
  input: { email: string; password: string; deviceId?: string },
  meta: ChannelMeta,
): Promise<LoginResult> {
  const email = normaliseEmail(input.email);
  const found = await customerByEmail(ctx, email);
  await checkPassword(ctx, email, input.password, found?.passwordHash, meta.address);
  let customer = found!;
  for (let hops = 0; customer.mergedInto && hops < 5; hops++) {
    const target = await ctx.store.customers.get(customer.mergedInto);
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
  await noteChannel(ctx, customer, meta.channel);
  const deviceLink = input.deviceId ? await linkDevice(ctx, customer._id, input.deviceId, meta) : undefined;
  const tokens = await openSession(ctx, { sub: customer._id, kind: 'customer', roles: [], channels: [], channel: meta.channel }, meta);
  return { customer, channel: meta.channel, tokens, deviceLink };
}
