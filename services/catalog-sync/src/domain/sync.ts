import { EDITABLE_FIELDS, SYNC_FIELDS, sameValue, type EditableField, type LocalValues, type SyncField } from './catalog';
import { ruleFor, type SyncRule } from './rules';

/**
 * How a projected master change lands on a local item. Three values per field:
 *   synced  — the master-derived value the item last took (the base of a three-way comparison);
 *   edits   — values a channel manager set locally;
 *   shown   — what the channel shows: the local edit when there is one, else synced.
 * A field whose projected value equals synced did not change in master: nothing to do.
 * A changed field governed by a manual rule is staged; by an automatic rule it is applied, unless it
 * was edited locally: then it is a conflict, and the local value stays until someone resolves it.
 */
export interface FieldChange {
  field: SyncField;
  from: unknown;
  to: unknown;
}

export interface OpenConflict {
  field: EditableField;
  base: unknown;
  local: unknown;
  master: unknown;
}

export interface SyncPlan {
  /** Fields whose synced (and, unless edited locally, shown) value changes now. */
  apply: Partial<LocalValues>;
  conflicts: OpenConflict[];
  /** Manual rule id → the changes it holds for approval. */
  staged: Map<string, { rule: SyncRule; changes: FieldChange[] }>;
}

export function planSync(
  synced: LocalValues,
  edits: Partial<Record<EditableField, unknown>>,
  projected: LocalValues,
  rules: readonly SyncRule[],
): SyncPlan {
  const plan: SyncPlan = { apply: {}, conflicts: [], staged: new Map() };
  for (const field of SYNC_FIELDS) {
    const to = projected[field];
    const from = synced[field];
    if (sameValue(from, to)) continue;
    const rule = ruleFor(rules, field);
    if (rule.mode === 'manual') {
      const entry = plan.staged.get(rule.id) ?? { rule, changes: [] };
      entry.changes.push({ field, from, to });
      plan.staged.set(rule.id, entry);
      continue;
    }
    planApply(plan, field, from, to, edits);
  }
  return plan;
}

/** Applying one change (automatic rule, or an approved staged diff): conflict when edited locally. */
export function planApply(
  plan: SyncPlan,
  field: SyncField,
  from: unknown,
  to: unknown,
  edits: Partial<Record<EditableField, unknown>>,
): void {
  if (isEditable(field) && field in edits && !sameValue(edits[field], to)) {
    plan.conflicts.push({ field, base: from, local: edits[field], master: to });
    return;
  }
  (plan.apply as Record<string, unknown>)[field] = to;
}

export function isEditable(field: string): field is EditableField {
  return (EDITABLE_FIELDS as readonly string[]).includes(field);
}

/** The values a channel shows: each field's local edit when present, else its synced value. */
export function shownValues(synced: LocalValues, edits: Partial<Record<EditableField, unknown>>): LocalValues {
  return { ...synced, ...(edits as Partial<LocalValues>) };
}

export type Resolution = 'keep_local' | 'take_master' | 'merge';

export interface ResolutionOutcome {
  /** The field's new synced value (always the master's: the conflict is acknowledged). */
  synced: unknown;
  /** The field's local edit afterwards; undefined removes it. */
  edit: unknown;
  shown: unknown;
}

export class MergeValueRequired extends Error {}

/**
 * keep_local: the local edit stays, the master value is acknowledged (no new conflict for it);
 * take_master: the local edit is dropped; merge: the given value becomes the local edit, or — for
 * attribute maps without a given value — the master's attributes overlaid with the locally edited ones.
 */
export function resolveConflict(resolution: Resolution, local: unknown, master: unknown, merged?: unknown): ResolutionOutcome {
  switch (resolution) {
    case 'keep_local':
      return { synced: master, edit: local, shown: local };
    case 'take_master':
      return { synced: master, edit: undefined, shown: master };
    case 'merge': {
      let value = merged;
      if (value === undefined) {
        const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
        if (!isMap(local) || !isMap(master)) throw new MergeValueRequired('merge of a non-map field needs the merged value');
        value = { ...master, ...local };
      }
      return { synced: master, edit: value, shown: value };
    }
  }
}
