import { ConflictError, NotFoundError, ValidationError, type OutgoingEvent, type Principal } from '@omnimall/service-kit';
import { itemIdOf, type EditableField, type LocalValues } from '../domain/catalog';
import type { Conflict, LocalItem, StagedDiff } from '../domain/records';
import { MergeValueRequired, planApply, resolveConflict, shownValues, type Resolution, type SyncPlan } from '../domain/sync';
import { conflictEvent, localItemEvent, stagedDiffEvent } from '../events/out';
import { refuseIfBarred } from './assignments';
import type { Catalog } from './catalog';
import { knownChannel, loadItem, loadProduct } from './lookups';
import { writeItems } from './propagation';

/**
 * Curation: channel managers edit local items, resolve conflicts and decide staged diffs. Each
 * decides on the item as stored (not a remembered copy) under its product's lock, and its item
 * write applies only if the item is still as read (else 409 item_changed).
 */

/** Writes a curated item and its events (caller holds the product lock). */
async function commitItem(
  c: Catalog,
  cur: LocalItem,
  next: LocalItem,
  extra: OutgoingEvent[],
  extraDocs: () => Promise<unknown> = async () => undefined,
): Promise<LocalItem> {
  return c.changes.run({ kind: 'items', productId: cur.productId, itemIds: [cur._id] }, async () => {
    const { writeToken: _token, ...item } = { ...next, version: cur.version + 1, appliedAt: new Date() };
    const failed = await writeItems(c, [
      { cur, item, changed: true, conflicts: [], diffs: [], events: [], evidence: null, outcome: 'updated' },
    ]);
    if (failed.size)
      throw new ConflictError('item_changed', `item ${cur._id} changed while it was being curated`, 'read the item again and retry');
    await extraDocs();
    await c.journal.append('curation', [localItemEvent(item), ...extra]);
    return item;
  });
}

/** A channel manager edits fields of a local item (or reverts them to the master-derived value). */
export async function editItem(
  c: Catalog,
  code: string,
  sku: string,
  set: Partial<Record<EditableField, unknown>>,
  revert: EditableField[],
): Promise<LocalItem> {
  const id = itemIdOf(code, sku);
  return c.locks.ofItem(id, async () => {
    const cur = await loadItem(c, code, sku);
    if (cur.status !== 'listed')
      throw new ConflictError(
        'item_withdrawn',
        `SKU ${sku} is withdrawn from ${code} (${cur.statusReason ?? ''})`,
        'only listed items are curated',
      );
    const edits = { ...cur.edits };
    for (const f of revert) delete edits[f];
    for (const [f, v] of Object.entries(set)) edits[f as EditableField] = v;
    return commitItem(c, cur, { ...cur, edits, shown: shownValues(cur.synced, edits) }, []);
  });
}

export async function resolve(
  c: Catalog,
  p: Principal,
  code: string,
  sku: string,
  field: EditableField,
  resolution: Resolution,
  value: unknown,
): Promise<{ item: LocalItem; conflict: Conflict }> {
  const id = itemIdOf(code, sku);
  return c.locks.ofItem(id, async () => {
    const cur = await loadItem(c, code, sku);
    const ref = cur.conflicts[field];
    if (!ref)
      throw new NotFoundError(
        'conflict_not_found',
        `no open conflict on ${field} of ${sku} in ${code}`,
        'list open conflicts with GET /channels/{code}/conflicts',
      );
    let out;
    try {
      out = resolveConflict(resolution, cur.edits[field], ref.master, value);
    } catch (err) {
      if (err instanceof MergeValueRequired)
        throw new ValidationError('merge_value_required', err.message, 'send the merged value in `value`');
      throw err;
    }
    const edits = { ...cur.edits };
    if (out.edit === undefined) delete edits[field];
    else edits[field] = out.edit;
    const synced: LocalValues = { ...cur.synced, [field]: out.synced };
    const conflicts = { ...cur.conflicts };
    delete conflicts[field];
    const existing = await c.conflicts.byId(ref.conflictId);
    const conflict: Conflict = {
      ...(existing as Conflict),
      status: 'resolved',
      resolution,
      resolved: out.shown,
      resolvedBy: p.sub,
      resolvedAt: new Date(),
    };
    const item = await commitItem(
      c,
      cur,
      {
        ...cur,
        edits,
        synced,
        shown: shownValues(synced, edits),
        conflicts,
        masterVersion: Math.max(cur.masterVersion, ref.masterVersion),
      },
      [conflictEvent(conflict, cur.version + 1)],
      () => c.conflicts.update(conflict),
    );
    return { item, conflict };
  });
}

/** A channel manager approves or rejects a staged diff; approval applies it (conflicts still surface). */
export async function decideDiff(
  c: Catalog,
  p: Principal,
  code: string,
  diffId: string,
  approve: boolean,
): Promise<{ diff: StagedDiff; item: LocalItem }> {
  const diff = await c.diffs.byId(diffId);
  if (!diff || diff.channel !== code)
    throw new NotFoundError(
      'diff_not_found',
      `no staged diff ${diffId} in channel ${code}`,
      'list pending diffs with GET /channels/{code}/staged-diffs',
    );
  return c.locks.ofItem(diff.itemId, async () => {
    const fresh = (await c.diffs.byId(diffId))!; // it existed a moment ago, and diffs are never deleted
    if (fresh.status !== 'pending')
      throw new ConflictError('diff_decided', `diff ${diffId} was already ${fresh.status}`, 'a newer master change stages a new diff');
    const cur = await loadItem(c, code, diff.sku);
    if (approve) {
      const product = await loadProduct(c, diff.productId);
      await refuseIfBarred(c, product, await knownChannel(c, code), 'approval', p.sub);
    }
    const decided: StagedDiff = { ...fresh, status: approve ? 'approved' : 'rejected', decidedBy: p.sub, decidedAt: new Date() };
    const staged = { ...cur.staged };
    delete staged[diff.ruleId];
    let next: LocalItem = { ...cur, staged };
    const extra: OutgoingEvent[] = [stagedDiffEvent(decided, cur.version + 1)];
    const newConflicts: Conflict[] = [];
    if (approve) {
      const plan: SyncPlan = { apply: {}, conflicts: [], staged: new Map() };
      for (const c of fresh.changes) planApply(plan, c.field as EditableField, cur.synced[c.field as keyof LocalValues], c.to, cur.edits);
      const synced: LocalValues = { ...cur.synced, ...plan.apply };
      const conflicts = { ...cur.conflicts };
      for (const c of plan.conflicts) {
        const conflictId = `${cur._id}|${c.field}`;
        conflicts[c.field] = { conflictId, base: c.base, master: c.master, masterVersion: fresh.masterVersion, openedAt: new Date() };
        const doc: Conflict = {
          _id: conflictId,
          itemId: cur._id,
          channel: code,
          sku: cur.sku,
          productId: cur.productId,
          field: c.field,
          status: 'open',
          base: c.base,
          local: c.local,
          master: c.master,
          masterVersion: fresh.masterVersion,
          openedAt: new Date(),
          resolution: null,
          resolved: null,
          resolvedBy: null,
          resolvedAt: null,
        };
        newConflicts.push(doc);
        extra.push(conflictEvent(doc, cur.version + 1));
      }
      next = {
        ...next,
        synced,
        shown: shownValues(synced, cur.edits),
        conflicts,
        masterVersion: Math.max(cur.masterVersion, fresh.masterVersion),
      };
      if (
        cur.primaryCurrency &&
        JSON.stringify(cur.shown.price[cur.primaryCurrency]) !== JSON.stringify(next.shown.price[cur.primaryCurrency])
      )
        next.priceSince = new Date();
    }
    const item = await commitItem(c, cur, next, extra, () => Promise.all([c.diffs.update(decided), c.conflicts.upsertAll(newConflicts)]));
    return { diff: decided, item };
  });
}
