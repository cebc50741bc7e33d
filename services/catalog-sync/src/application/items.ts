import { randomUUID } from 'node:crypto';
import type { OutgoingEvent } from '@omnimall/service-kit';
import { sameValue, type EditableField, type LocalValues, type MasterProduct } from '../domain/catalog';
import type { Projection, SyncRule } from '../domain/rules';
import { planSync, shownValues, type SyncPlan } from '../domain/sync';
import { barredRegions } from '../domain/restrictions';
import type { Conflict, Evidence, LocalItem, StagedDiff } from '../domain/records';
import { conflictEvent, evidenceEvent, localItemEvent, stagedDiffEvent } from '../events/out';

/**
 * The next state of one local item after a projection, a withdrawal or an approved diff: the item
 * document, the conflict and staged-diff documents it opens, and the events of the change. Pure
 * (no I/O): the caller reads the current documents and writes the results under the item's lock.
 */
export const EVIDENCE_KEPT = 10;

export interface ItemChange {
  /** The item as the change was decided on (null: it did not exist); the write applies only if it is still so. */
  cur: LocalItem | null;
  item: LocalItem;
  changed: boolean;
  conflicts: Conflict[];
  diffs: StagedDiff[];
  events: OutgoingEvent[];
  /** Evidence of the applied projection, to be stored before the item (its id is on the item). */
  evidence: Evidence | null;
  outcome: 'listed' | 'updated' | 'unchanged' | 'staged' | 'conflict' | 'withdrawn';
}

export interface ProjectionTarget {
  channel: string;
  sku: string;
  product: MasterProduct;
  primaryCurrency: string | null;
  inheritedFrom: string | null;
}

const EMPTY: LocalValues = { title: '', description: '', category: '', attributes: {}, price: {} };

function bumped(cur: LocalItem | null, next: LocalItem): boolean {
  if (!cur) return true;
  return (
    cur.status !== next.status ||
    cur.masterVersion !== next.masterVersion ||
    !sameValue(cur.shown, next.shown) ||
    !sameValue(cur.ruleVersions, next.ruleVersions) ||
    !sameValue(cur.barredRegions, next.barredRegions) ||
    cur.primaryCurrency !== next.primaryCurrency
  );
}

function priceOf(v: LocalValues, currency: string | null): unknown {
  return currency ? v.price[currency] : undefined;
}

/** Applies a projection (and the rules that govern each field) to the current item. */
export function applyProjection(
  cur: LocalItem | null,
  t: ProjectionTarget,
  proj: Projection,
  rules: readonly SyncRule[],
  now: Date,
  correlationId?: string,
): ItemChange {
  const id = `${t.channel}:${t.sku}`;
  const edits: Partial<Record<EditableField, unknown>> = cur?.edits ?? {};
  // A new item, or one coming back after a withdrawal, takes the master values whole.
  const fresh = !cur || cur.status === 'withdrawn';
  const plan: SyncPlan = fresh
    ? { apply: { ...proj.values }, conflicts: [], staged: new Map() }
    : planSync(cur.synced, edits, proj.values, rules);
  const synced: LocalValues = { ...(cur?.synced ?? EMPTY), ...plan.apply };
  const shown = shownValues(synced, edits);
  const applied = Object.keys(plan.apply).length > 0;
  const fully = plan.conflicts.length === 0 && plan.staged.size === 0;

  const conflicts: Conflict[] = [];
  const conflictRefs = { ...(cur?.conflicts ?? {}) };
  for (const c of plan.conflicts) {
    const prev = conflictRefs[c.field];
    if (prev && sameValue(prev.master, c.master)) continue;
    const conflictId = `${id}|${c.field}`;
    conflictRefs[c.field] = { conflictId, base: c.base, master: c.master, masterVersion: t.product.version, openedAt: now };
    conflicts.push({
      _id: conflictId,
      itemId: id,
      channel: t.channel,
      sku: t.sku,
      productId: t.product._id,
      field: c.field,
      status: 'open',
      base: c.base,
      local: c.local,
      master: c.master,
      masterVersion: t.product.version,
      openedAt: now,
      resolution: null,
      resolved: null,
      resolvedBy: null,
      resolvedAt: null,
    });
  }

  const diffs: StagedDiff[] = [];
  const staged = { ...(cur?.staged ?? {}) };
  for (const [ruleId, { rule, changes }] of plan.staged) {
    const diffId = `${id}|${ruleId}`;
    staged[ruleId] = diffId;
    diffs.push({
      _id: diffId,
      itemId: id,
      channel: t.channel,
      sku: t.sku,
      productId: t.product._id,
      ruleId,
      ruleVersion: rule.version,
      masterVersion: t.product.version,
      status: 'pending',
      changes,
      stagedAt: now,
      decidedBy: null,
      decidedAt: null,
    });
  }

  const item: LocalItem = {
    _id: id,
    channel: t.channel,
    sku: t.sku,
    productId: t.product._id,
    sellerId: t.product.sellerId,
    status: 'listed',
    statusReason: null,
    version: cur?.version ?? 0,
    masterVersion: fully || applied || !cur ? t.product.version : cur.masterVersion,
    ruleVersions: proj.ruleVersions,
    synced,
    edits,
    shown,
    primaryCurrency: t.primaryCurrency,
    barredRegions: barredRegions(t.product.restrictions),
    conflicts: conflictRefs,
    staged,
    evidence: cur?.evidence ?? [],
    listedSince: cur && cur.status === 'listed' ? cur.listedSince : now,
    priceSince:
      cur && cur.status === 'listed' && sameValue(priceOf(cur.shown, cur.primaryCurrency), priceOf(shown, t.primaryCurrency))
        ? cur.priceSince
        : now,
    appliedAt: now,
    inheritedFrom: t.inheritedFrom,
  };
  const changed = bumped(cur, item);
  const events: OutgoingEvent[] = [];
  if (changed) {
    item.version += 1;
    events.push(localItemEvent(item, correlationId));
  }
  let evidence: Evidence | null = null;
  if (changed && applied) {
    const evidenceId = randomUUID();
    evidence = {
      _id: evidenceId,
      itemId: id,
      evidenceId,
      masterVersion: t.product.version,
      ruleVersions: proj.ruleVersions,
      at: now,
      steps: proj.steps,
    };
    item.evidence = [...item.evidence.slice(-(EVIDENCE_KEPT - 1)), evidenceId];
    events.push(evidenceEvent(item, evidence, correlationId));
  }
  for (const c of conflicts) events.push(conflictEvent(c, item.version, correlationId));
  for (const d of diffs) events.push(stagedDiffEvent(d, item.version, correlationId));
  const outcome: ItemChange['outcome'] =
    !cur || cur.status === 'withdrawn'
      ? 'listed'
      : conflicts.length
        ? 'conflict'
        : diffs.length
          ? 'staged'
          : changed
            ? 'updated'
            : 'unchanged';
  return { cur, item, changed: changed || conflicts.length > 0 || diffs.length > 0, conflicts, diffs, events, evidence, outcome };
}

/** Withdraws a listed item (unassigned, barred, or its channel retired), keeping its history. */
export function withdraw(cur: LocalItem, reason: string, now: Date, correlationId?: string): ItemChange | null {
  if (cur.status === 'withdrawn') return null;
  const item: LocalItem = {
    ...cur,
    status: 'withdrawn',
    statusReason: reason,
    version: cur.version + 1,
    appliedAt: now,
    listedSince: null,
  };
  return {
    cur,
    item,
    changed: true,
    conflicts: [],
    diffs: [],
    events: [localItemEvent(item, correlationId)],
    evidence: null,
    outcome: 'withdrawn',
  };
}
