/**
 * Usage limits of discount codes and campaign budgets. Pure: no I/O. Each limited thing (a code, a
 * campaign) is one counter: what committed holds used (in total and per customer), what open holds
 * take now (by hold id, each with its expiry) and what each committed hold took (so a revert gives it
 * back once). A hold is taken by one compare-and-set on the counter's document, so two instances can
 * never both take the last use; the functions below return a new counter or throw the refusal.
 */
import { ConflictError, ValidationError } from '@omnimall/service-kit/errors';

/** What one hold takes from a counter: one use of a code, or a campaign's count or amount. */
export interface Take {
  customerId: string;
  amount: number;
  expiresAt: number;
}

export interface Counter {
  used: number;
  perCustomerUsed: Record<string, number>;
  holds: Record<string, Take>;
  /** Committed holds (hold id → what it took), so a revert gives back what it took, and only once. */
  committed: Record<string, Omit<Take, 'expiresAt'>>;
}

export interface CounterLimits {
  total: number | null;
  perCustomer: number | null;
}

export interface CodeLimits {
  total: number | null;
  perCustomer: number | null;
  singleUse: boolean;
}

export interface CodeRecord extends Counter, Made {
  /** The normalised code (upper case, trimmed): the document's _id. */
  code: string;
  promotionId: string;
  limits: CodeLimits;
  active: boolean;
}

export interface Budget {
  kind: 'count' | 'amount';
  total: number;
  perCustomer: number | null;
}

export interface CampaignRecord extends Counter, Made {
  id: string;
  name: string;
  budget: Budget;
  /** Sum of the open holds (kept for reads; always recomputed on write). */
  held: number;
  /** used + held reached total when last settled (commit, release, revert, expiry). */
  exhausted: boolean;
}

export const emptyCounter = (): Counter => ({ used: 0, perCustomerUsed: {}, holds: {}, committed: {} });

/** Who made a code or campaign and when; its version. */
export interface Made {
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  version: number;
}

/** A new counter, made now by `actor` (version 1). */
export const newCounter = (actor: string, now: number): Counter & Made => ({
  ...emptyCounter(),
  createdBy: actor,
  createdAt: now,
  updatedAt: now,
  version: 1,
});

/** A code as it is stored and looked up: upper case, trimmed. */
export const canonicalCode = (raw: string): string => raw.trim().toUpperCase();

/** canonicalCode, refused unless letters, digits, `-` and `_`, 3 to 40 of them (a code being made or held). */
export function normaliseCode(raw: string): string {
  const code = canonicalCode(raw);
  if (!/^[A-Z0-9_-]{3,40}$/.test(code))
    throw new ValidationError('invalid_code', `${JSON.stringify(raw)} is not a valid code`, 'use 3 to 40 letters, digits, - or _', {
      code: raw,
    });
  return code;
}

/** An id of a hold, campaign or customer used as a key inside a document: no dots, no `$`. */
export function checkKey(kind: string, id: string): string {
  if (!/^[A-Za-z0-9_:@-]{1,120}$/.test(id))
    throw new ValidationError(
      `invalid_${kind}`,
      `${JSON.stringify(id)} is not a valid ${kind.replace('_', ' ')}`,
      'use letters, digits, -, _, : or @',
      {
        [kind]: id,
      },
    );
  return id;
}

/** What open holds take now. */
export const heldOf = (c: Pick<Counter, 'holds'>): number => Object.values(c.holds).reduce((n, t) => n + t.amount, 0);

const heldBy = (c: Pick<Counter, 'holds'>, customerId: string): number =>
  Object.values(c.holds).reduce((n, t) => n + (t.customerId === customerId ? t.amount : 0), 0);

/** The limit a take would pass (null: none): the total, or the customer's own. */
export function limitPassed(c: Counter, t: Take, limits: CounterLimits): 'total' | 'per_customer' | null {
  if (limits.total !== null && c.used + heldOf(c) + t.amount > limits.total) return 'total';
  if (limits.perCustomer !== null && (c.perCustomerUsed[t.customerId] ?? 0) + heldBy(c, t.customerId) + t.amount > limits.perCustomer)
    return 'per_customer';
  return null;
}

/** The counter with a hold added (unchanged when the hold is already there). The caller checked the limits. */
export function withHold<C extends Counter>(c: C, holdId: string, t: Take): C {
  if (c.holds[holdId]) return c;
  return { ...c, holds: { ...c.holds, [holdId]: t } };
}

/** Gives an open hold back; null when the hold holds nothing here. */
export function released<C extends Counter>(c: C, holdId: string): C | null {
  if (!c.holds[holdId]) return null;
  const holds = { ...c.holds };
  delete holds[holdId];
  return { ...c, holds };
}

/** Makes an open hold's take final (used, per customer); null when the hold holds nothing here. */
export function committed<C extends Counter>(c: C, holdId: string): C | null {
  const t = c.holds[holdId];
  if (!t) return null;
  const holds = { ...c.holds };
  delete holds[holdId];
  return {
    ...c,
    holds,
    used: c.used + t.amount,
    perCustomerUsed: { ...c.perCustomerUsed, [t.customerId]: (c.perCustomerUsed[t.customerId] ?? 0) + t.amount },
    committed: { ...c.committed, [holdId]: { customerId: t.customerId, amount: t.amount } },
  };
}

/** Gives a committed hold's take back; null when it committed nothing here (or was reverted already). */
export function reverted<C extends Counter>(c: C, holdId: string): C | null {
  const t = c.committed[holdId];
  if (!t) return null;
  const done = { ...c.committed };
  delete done[holdId];
  const mine = Math.max(0, (c.perCustomerUsed[t.customerId] ?? 0) - t.amount);
  const perCustomerUsed = { ...c.perCustomerUsed };
  if (mine) perCustomerUsed[t.customerId] = mine;
  else delete perCustomerUsed[t.customerId];
  return { ...c, committed: done, used: Math.max(0, c.used - t.amount), perCustomerUsed };
}

/** The holds expired by `now`, by id. */
export const expiredHolds = (c: Pick<Counter, 'holds'>, now: number): string[] =>
  Object.entries(c.holds)
    .filter(([, t]) => t.expiresAt <= now)
    .map(([id]) => id)
    .sort();

/** The earliest expiry of the open holds (null: none), kept on the document for the sweeper's scan. */
export function nextExpiry(c: { holds: Record<string, { expiresAt: number }> }): number | null {
  let min: number | null = null;
  for (const t of Object.values(c.holds)) if (min === null || t.expiresAt < min) min = t.expiresAt;
  return min;
}

// ---- codes ------------------------------------------------------------------------------------

/** A code's limits as counted: single use is one use per customer. */
export const codeLimits = (l: CodeLimits): CounterLimits => ({
  total: l.total,
  perCustomer: l.singleUse ? Math.min(1, l.perCustomer ?? 1) : l.perCustomer,
});

/**
 * Holds one use of a code for a hold. Idempotent (a hold already there is kept). Throws ConflictError
 * code_inactive, code_exhausted (total reached) or code_used_by_customer (per customer or single use).
 */
export function holdCode(c: CodeRecord, holdId: string, customerId: string, expiresAt: number): CodeRecord {
  if (c.holds[holdId]) return c;
  if (!c.active)
    throw new ConflictError('code_inactive', `code ${c.code} is no longer active`, 'remove the code from the order', { code: c.code });
  const t: Take = { customerId, amount: 1, expiresAt };
  const passed = limitPassed(c, t, codeLimits(c.limits));
  if (passed === 'total')
    throw new ConflictError('code_exhausted', `code ${c.code} has been used up`, 'remove the code from the order', {
      code: c.code,
      total: c.limits.total,
    });
  if (passed === 'per_customer')
    throw new ConflictError(
      'code_used_by_customer',
      `code ${c.code} was already used by this customer as often as it may be`,
      'remove the code from the order',
      { code: c.code, perCustomer: codeLimits(c.limits).perCustomer },
    );
  return withHold(c, holdId, t);
}

export function checkCodeLimits(l: CodeLimits): CodeLimits {
  for (const [field, v] of [
    ['total', l.total],
    ['perCustomer', l.perCustomer],
  ] as const)
    if (v !== null && (!Number.isSafeInteger(v) || v < 1))
      throw new ValidationError(
        'invalid_limit',
        `limits.${field} must be a whole number of 1 or more, or null`,
        `send limits.${field}: 1 or more, or null for no limit`,
      );
  return l;
}

// ---- campaigns --------------------------------------------------------------------------------

/** What a hold takes from a campaign's budget: one use of a count budget, the discount of an amount budget. */
export function campaignTake(b: Budget, amountMinor: number): number {
  if (b.kind === 'count') return 1;
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 1)
    throw new ValidationError(
      'invalid_amount',
      `a campaign amount must be a whole number of minor units, 1 or more, not ${amountMinor}`,
      'send amountMinor ≥ 1',
    );
  return amountMinor;
}

/** Holds part of a campaign's budget. Idempotent. Throws ConflictError budget_exhausted (total or per customer). */
export function holdBudget(c: CampaignRecord, holdId: string, customerId: string, amountMinor: number, expiresAt: number): CampaignRecord {
  if (c.holds[holdId]) return c;
  const t: Take = { customerId, amount: campaignTake(c.budget, amountMinor), expiresAt };
  const passed = limitPassed(c, t, c.budget);
  if (passed)
    throw new ConflictError(
      'budget_exhausted',
      passed === 'total'
        ? `campaign ${c.id} has ${remaining(c)} of its budget left, not ${t.amount}`
        : `this customer has used campaign ${c.id}'s budget as far as one customer may`,
      'order without the campaign’s promotion',
      { campaignId: c.id, limit: passed, remaining: remaining(c), asked: t.amount },
    );
  return settledCampaign(withHold(c, holdId, t), c.exhausted);
}

/** What is left of a campaign's budget. */
export const remaining = (c: Pick<CampaignRecord, 'used' | 'holds' | 'budget'>): number => Math.max(0, c.budget.total - c.used - heldOf(c));

/**
 * The campaign with `held` recomputed; `exhausted` re-decided when the change settles usage (commit,
 * release, revert, expiry), else kept (`keep`).
 */
export function settledCampaign(c: CampaignRecord, keep?: boolean): CampaignRecord {
  const held = heldOf(c);
  return { ...c, held, exhausted: keep ?? c.used + held >= c.budget.total };
}

export function checkBudget(b: Budget): Budget {
  if (!Number.isSafeInteger(b.total) || b.total < 1)
    throw new ValidationError('invalid_budget', 'budget.total must be a whole number of 1 or more', 'send budget.total ≥ 1');
  if (b.perCustomer !== null && (!Number.isSafeInteger(b.perCustomer) || b.perCustomer < 1))
    throw new ValidationError(
      'invalid_budget',
      'budget.perCustomer must be a whole number of 1 or more, or null',
      'send budget.perCustomer ≥ 1 or null',
    );
  return b;
}
