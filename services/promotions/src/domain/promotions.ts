/**
 * The promotion aggregate: a pricing definition with its lifecycle, per-channel overrides and per-channel
 * readiness. Pure rules: every change is computed here and written by the application through the outbox.
 */
import {
  validatePromotion,
  type ChannelOverride,
  type Condition,
  type Problem,
  type Promotion,
  type PublishedPromotion,
} from '@omnimall/pricing';
import { ConflictError, PreconditionFailedError, ValidationError } from '@omnimall/service-kit/errors';

export type Status = 'draft' | 'scheduled' | 'live' | 'ended' | 'withdrawn';
export type OverrideField = 'value' | 'dates' | 'exclusion';
export type OverrideRole = 'admin' | 'channel_manager';
export type Phase = 'started' | 'ended' | 'changed' | 'withdrawn';

/** Which fields a channel may override, and who may ask. */
export interface OverridableRule {
  field: OverrideField;
  by: OverrideRole[];
}

/** A channel's accepted override, with who decided it and why. */
export interface StoredOverride extends ChannelOverride {
  reason: string;
  actor: string;
  decisionId: string;
  at: number;
}

export type ReadinessState = 'acknowledged' | 'missing' | 'error';
export interface ChannelReadiness {
  channel: string;
  state: ReadinessState;
  reason: string | null;
  at: number;
  /** The definition version this state is about. */
  version: number;
}

export interface PromotionRecord {
  id: string;
  /** The pricing definition (its id is the promotion's). */
  definition: Promotion;
  overridable: OverridableRule[];
  status: Status;
  version: number;
  overrides: StoredOverride[];
  readiness: ChannelReadiness[];
  exhausted: boolean;
  /** `<phase>@<version>` of every lifecycle event emitted (each once). */
  emitted: string[];
  /** The next instant the lifecycle worker must look at it (start, end, an override's until); null: none. */
  nextDue: number | null;
  createdBy: string;
  createdAt: number;
  updatedBy: string;
  updatedAt: number;
}

/** A promotion as an author writes it: the definition without its id, and the override rules. */
export type PromotionInput = Omit<Promotion, 'id'> & { overridable: OverridableRule[] };

/** What a change of the aggregate publishes (the application maps these to events). */
export interface Effects {
  /** Publish promotions.definition for the record as it now is. */
  definition: boolean;
  /** Lifecycle phases to emit, in order. */
  phases: Phase[];
  /** Override decisions other than a request's (a lapsed `until`). */
  expired: { channel: string; before: StoredOverride; decisionId: string }[];
  /** With `started`: the channels that had not acknowledged the definition. */
  notReady: string[];
}

const noEffects = (): Effects => ({ definition: false, phases: [], expired: [], notReady: [] });

/** 400 rule_not_evaluable with every problem (path, code, hint). */
export function notEvaluable(problems: Problem[]): ValidationError {
  return new ValidationError(
    'rule_not_evaluable',
    `the promotion cannot be evaluated: ${problems.map((p) => `${p.path || '(root)'} ${p.code}`).join(', ')}`,
    problems[0]?.hint ?? 'correct the definition',
    { problems },
  );
}

export function checkDefinition(definition: Promotion): void {
  const problems = validatePromotion(definition);
  if (problems.length) throw notEvaluable(problems);
}

/** Whether the promotion is distributed (its definition is on promotions.definition). */
export const isPublished = (s: Status): boolean => s === 'scheduled' || s === 'live';

/** The channels a published promotion targets: its own list, or every active channel when it names none. */
export const targetsOf = (r: Pick<PromotionRecord, 'definition'>, activeChannels: readonly string[]): string[] =>
  r.definition.channels ?? [...activeChannels];

/** The SKUs the condition names through line.sku predicates (eq or in, outside a `not`). */
export function skusOf(condition: Condition | null): string[] {
  const out = new Set<string>();
  const walk = (c: Condition): void => {
    if ('all' in c) c.all.forEach(walk);
    else if ('any' in c) c.any.forEach(walk);
    else if ('field' in c && c.field === 'line.sku' && (c.op === 'eq' || c.op === 'in'))
      for (const v of Array.isArray(c.value) ? c.value : [c.value]) out.add(String(v));
  };
  if (condition) walk(condition);
  return [...out].sort();
}

/** The next instant the worker must act on: the start, the end, the first override to lapse. */
export function nextDueOf(r: Pick<PromotionRecord, 'status' | 'definition' | 'overrides'>): number | null {
  if (!isPublished(r.status)) return null;
  const instants: number[] = [];
  if (r.status === 'scheduled') instants.push(r.definition.startsAt);
  if (r.definition.endsAt !== null) instants.push(r.definition.endsAt);
  for (const o of r.overrides) if (o.until !== null) instants.push(o.until);
  return instants.length ? Math.min(...instants) : null;
}

/** Every targeted channel `missing` for the version about to be published. */
export const resetReadiness = (targets: readonly string[], version: number, at: number): ChannelReadiness[] =>
  targets.map((channel) => ({ channel, state: 'missing', reason: null, at, version }));

export function newPromotion(id: string, input: PromotionInput, actor: string, now: number): PromotionRecord {
  const { overridable, ...rest } = input;
  const definition: Promotion = { id, ...rest };
  checkDefinition(definition);
  return {
    id,
    definition,
    overridable,
    status: 'draft',
    version: 1,
    overrides: [],
    readiness: [],
    exhausted: false,
    emitted: [],
    nextDue: null,
    createdBy: actor,
    createdAt: now,
    updatedBy: actor,
    updatedAt: now,
  };
}

/** A new version of a published record: readiness reset for it, the next due instant recomputed. */
function republished(r: PromotionRecord, targets: readonly string[], actor: string, now: number): PromotionRecord {
  const version = r.version + 1;
  const next = { ...r, version, updatedBy: actor, updatedAt: now };
  return { ...next, readiness: isPublished(r.status) ? resetReadiness(targets, version, now) : [], nextDue: nextDueOf(next) };
}

/** The record with a channel's override set or removed: a new version (republished when distributed). */
export function withOverrides(
  r: PromotionRecord,
  overrides: StoredOverride[],
  targets: readonly string[],
  actor: string,
  now: number,
): { record: PromotionRecord; effects: Effects } {
  return { record: republished({ ...r, overrides }, targets, actor, now), effects: { ...noEffects(), definition: isPublished(r.status) } };
}

/** The lead a scheduled start needs: refused unless `startNow` when the start is closer than `leadMs`. */
function checkLead(startsAt: number, now: number, leadMs: number, startNow: boolean): void {
  if (!startNow && startsAt - now < leadMs)
    throw new ConflictError(
      'lead_time_too_short',
      `the promotion starts in ${Math.max(0, startsAt - now)} ms, less than the ${leadMs} ms the channels are given to prepare`,
      `move startsAt at least ${leadMs} ms ahead, or pass startNow=true to accept that channels may start late`,
      { startsAt, leadMs },
    );
}

export interface EditOptions {
  expectedVersion: number;
  leadMs: number;
  startNow: boolean;
}

/** An author's edit: the whole definition and override rules replaced (If-Match: version). */
export function editPromotion(
  r: PromotionRecord,
  input: PromotionInput,
  targets: readonly string[],
  actor: string,
  now: number,
  o: EditOptions,
): { record: PromotionRecord; effects: Effects } {
  if (r.version !== o.expectedVersion)
    throw new PreconditionFailedError(
      'version_mismatch',
      `promotion ${r.id} is at version ${r.version}, not ${o.expectedVersion}`,
      'read the promotion again and send its version in If-Match',
      { version: r.version },
    );
  if (r.status === 'ended' || r.status === 'withdrawn')
    throw new ConflictError('promotion_closed', `promotion ${r.id} is ${r.status}`, 'create a new promotion instead');
  const { overridable, ...rest } = input;
  const definition: Promotion = { id: r.id, ...rest };
  checkDefinition(definition);
  let status = r.status;
  if (r.status === 'live' && definition.startsAt !== r.definition.startsAt) {
    if (definition.startsAt < now)
      throw new ValidationError(
        'starts_in_past',
        'a live promotion’s start cannot move into the past',
        'keep startsAt, or move it to a future instant (the promotion is then scheduled again)',
        { startsAt: r.definition.startsAt },
      );
    status = 'scheduled';
  }
  if (r.status === 'scheduled' && definition.startsAt !== r.definition.startsAt) checkLead(definition.startsAt, now, o.leadMs, o.startNow);
  const record = republished({ ...r, definition, overridable, status }, targets, actor, now);
  return {
    record,
    effects: { ...noEffects(), definition: isPublished(status), phases: r.status === 'live' ? ['changed'] : [] },
  };
}

/** draft → scheduled: the definition goes out now, `leadMs` (or more) before the start. */
export function schedulePromotion(
  r: PromotionRecord,
  targets: readonly string[],
  actor: string,
  now: number,
  o: Omit<EditOptions, 'expectedVersion'>,
): { record: PromotionRecord; effects: Effects } | null {
  if (r.status === 'scheduled' || r.status === 'live') return null;
  if (r.status !== 'draft')
    throw new ConflictError('promotion_closed', `promotion ${r.id} is ${r.status}`, 'create a new promotion instead');
  if (r.definition.endsAt !== null && r.definition.endsAt <= now)
    throw new ConflictError('promotion_over', `promotion ${r.id} ended before it could start`, 'move endsAt into the future first');
  checkLead(r.definition.startsAt, now, o.leadMs, o.startNow);
  const record = republished({ ...r, status: 'scheduled' }, targets, actor, now);
  return { record, effects: { ...noEffects(), definition: true } };
}

/** Withdrawn: consumers drop it (definition withdrawn=true), the lifecycle says so when it was published. */
export function withdrawPromotion(r: PromotionRecord, actor: string, now: number): { record: PromotionRecord; effects: Effects } | null {
  if (r.status === 'withdrawn') return null;
  const wasPublished = isPublished(r.status);
  const record: PromotionRecord = {
    ...r,
    status: 'withdrawn',
    version: r.version + 1,
    nextDue: null,
    updatedBy: actor,
    updatedAt: now,
    emitted: wasPublished ? [...r.emitted, `withdrawn@${r.version + 1}`] : r.emitted,
  };
  return { record, effects: { ...noEffects(), definition: wasPublished, phases: wasPublished ? ['withdrawn'] : [] } };
}

/** The campaign's budget ran out (or came back): republished with `exhausted`. */
export function markExhausted(
  r: PromotionRecord,
  exhausted: boolean,
  targets: readonly string[],
  now: number,
): { record: PromotionRecord; effects: Effects } | null {
  if (r.exhausted === exhausted || r.status === 'withdrawn' || r.status === 'ended') return null;
  const record = republished({ ...r, exhausted }, targets, r.updatedBy, now);
  return { record, effects: { ...noEffects(), definition: isPublished(r.status) } };
}

/**
 * What is due at `now`: the start (notReady taken from readiness by the caller's event), the end,
 * overrides whose `until` passed. Each phase once per version (`emitted`).
 */
export function advance(
  r: PromotionRecord,
  targets: readonly string[],
  now: number,
  newDecisionId: () => string,
): { record: PromotionRecord; effects: Effects } | null {
  if (!isPublished(r.status)) return r.nextDue === null ? null : { record: { ...r, nextDue: null }, effects: noEffects() };
  let next = { ...r };
  const effects = noEffects();
  const lapsed = r.overrides.filter((o) => o.until !== null && o.until <= now);
  if (lapsed.length) {
    next = republished({ ...next, overrides: r.overrides.filter((o) => !lapsed.includes(o)) }, targets, 'system:override-expiry', now);
    effects.definition = true;
    effects.expired = lapsed.map((o) => ({ channel: o.channel, before: o, decisionId: newDecisionId() }));
  }
  const once = (phase: Phase): void => {
    const mark = `${phase}@${next.version}`;
    if (next.emitted.includes(mark)) return;
    next.emitted = [...next.emitted, mark];
    effects.phases.push(phase);
  };
  if (next.status === 'scheduled' && next.definition.startsAt <= now) {
    next.status = 'live';
    effects.notReady = notReadyOf(r);
    once('started');
  }
  if (next.status === 'live' && next.definition.endsAt !== null && next.definition.endsAt <= now) {
    next.status = 'ended';
    once('ended');
  }
  next.nextDue = nextDueOf(next);
  if (!lapsed.length && next.status === r.status && next.nextDue === r.nextDue) return null;
  return { record: next, effects };
}

/** Readiness reported by cart for one version: only the current version counts. */
export function applyReadiness(
  r: PromotionRecord,
  version: number,
  reports: readonly { channel: string; state: 'acknowledged' | 'error'; reason: string | null }[],
  now: number,
): PromotionRecord | null {
  if (version !== r.version || !isPublished(r.status)) return null;
  const readiness = [...r.readiness];
  let changed = false;
  for (const rep of reports) {
    const i = readiness.findIndex((x) => x.channel === rep.channel);
    const entry: ChannelReadiness = { channel: rep.channel, state: rep.state, reason: rep.reason, at: now, version };
    if (i < 0) readiness.push(entry);
    else if (readiness[i].state !== rep.state || readiness[i].reason !== rep.reason) readiness[i] = entry;
    else continue;
    changed = true;
  }
  return changed ? { ...r, readiness } : null;
}

/** Channels not acknowledged for the current version (missing or error). */
export const notReadyOf = (r: PromotionRecord): string[] =>
  r.readiness
    .filter((x) => x.version !== r.version || x.state !== 'acknowledged')
    .map((x) => x.channel)
    .sort();

/** What the channels receive: the definition, the overrides in force, the budget's state. */
export const publishedOf = (r: PromotionRecord): PublishedPromotion => ({
  promotion: r.definition,
  overrides: r.overrides.map(({ channel, excluded, reward, startsAt, endsAt, until }) => ({
    channel,
    excluded,
    reward,
    startsAt,
    endsAt,
    until,
  })),
  exhausted: r.exhausted,
});
