import { randomUUID } from 'node:crypto';
import type { Model } from 'mongoose';
import {
  ConflictError,
  ForbiddenError,
  isDuplicateKeyError,
  NotFoundError,
  UnprocessableError,
  ValidationError,
  type OutgoingEvent,
  type Principal,
} from '@omnimall/service-kit';
import { itemIdOf, type AttributeValue, type EditableField, type LocalValues, type MasterProduct, type Variant } from '../domain/catalog';
import { barringRestriction, describe, type Restriction } from '../domain/restrictions';
import { isKnownCurrency, isValidMinorAmount } from '../domain/money';
import { overlappingFields, type SyncRule } from '../domain/rules';
import { validRate, type RateEntry } from '../domain/rates';
import { MergeValueRequired, planApply, resolveConflict, shownValues, type Resolution, type SyncPlan } from '../domain/sync';
import type { AssignmentDoc, ChannelAssignment, ChannelDoc, ConflictDoc, LocalItemDoc, ProductDoc, StagedDiffDoc } from '../store/models';
import { conflictEvent, localItemEvent, stagedDiffEvent } from '../events/outgoing';
import { propagateProduct, recordRefusal, writeItems, type PropagationReport } from './propagation';
import type { CatalogContext } from './context';

/** The use cases behind the HTTP API: who may do what, and the writes it causes. */

const isAdmin = (p: Principal): boolean => p.roles.includes('admin');

export interface ProductInput {
  defaultLocale: string;
  title: Record<string, string>;
  description: Record<string, string>;
  category: string;
  attributes: Record<string, AttributeValue>;
  variants: Variant[];
  restrictions: Omit<Restriction, 'id'>[] | Restriction[];
}

function checkProductInput(input: ProductInput): void {
  const skus = input.variants.map((v) => v.sku);
  const dup = skus.find((s, i) => skus.indexOf(s) !== i);
  if (dup) throw new ValidationError('duplicate_sku', `SKU ${dup} appears twice`, 'give every variant its own SKU');
  for (const v of input.variants) {
    if (!isKnownCurrency(v.price.currency))
      throw new ValidationError(
        'unknown_currency',
        `variant ${v.sku}: ${v.price.currency} is not a known ISO 4217 currency`,
        'use an ISO 4217 code such as EUR, USD, JPY, KWD',
      );
  }
  if (!input.title[input.defaultLocale])
    throw new ValidationError(
      'default_locale_missing',
      `the title has no text in the default locale ${input.defaultLocale}`,
      'add the title in the default locale',
    );
}

function withRestrictionIds(rs: ProductInput['restrictions']): Restriction[] {
  return rs.map((r) => ({ ...r, id: 'id' in r && r.id ? r.id : `${r.kind}-${r.value}`.toLowerCase() }));
}

function assertOwner(p: Principal, product: { sellerId: string; _id: string }): void {
  if (isAdmin(p) || product.sellerId === p.sub) return;
  throw new ForbiddenError(
    'not_product_owner',
    `product ${product._id} belongs to another seller`,
    'sellers edit and assign only their own products',
  );
}

async function loadProduct(ctx: CatalogContext, id: string): Promise<ProductDoc> {
  const product = (await ctx.m.Product.findById(id).lean()) as ProductDoc | null;
  if (!product) throw new NotFoundError('product_not_found', `no product ${id}`, 'create it with POST /products first');
  return product;
}

async function knownChannel(ctx: CatalogContext, code: string): Promise<ChannelDoc> {
  const channel = (await ctx.m.Channel.findById(code).lean()) as ChannelDoc | null;
  if (!channel)
    throw new NotFoundError(
      'channel_unknown',
      `channel ${code} is not known to the catalogue`,
      'the channel registry announces channels on channels.channel-changed; register it there first',
    );
  return channel;
}

export async function createProduct(ctx: CatalogContext, p: Principal, input: ProductInput & { id?: string }): Promise<ProductDoc> {
  checkProductInput(input);
  const now = new Date();
  const doc: ProductDoc = {
    _id: input.id ?? randomUUID(),
    sellerId: p.sub,
    version: 1,
    ...input,
    restrictions: withRestrictionIds(input.restrictions),
    createdAt: now,
    updatedAt: now,
  };
  await ctx.m.Product.collection.insertOne(doc as never); // unique _id: a duplicate answers 409 through the app
  return doc;
}

/** A master change: bumps the version and propagates it to every local item at once. */
export async function updateProduct(
  ctx: CatalogContext,
  p: Principal,
  id: string,
  input: ProductInput,
  correlationId?: string,
): Promise<{ product: MasterProduct; propagation: PropagationReport }> {
  checkProductInput(input);
  return ctx.productLock(id, async () =>
    ctx.withIntent({ kind: 'product', productId: id, itemIds: [] }, async () => {
      // One conditional write: only the owner (or an admin) bumps the version; a miss says why.
      const product = (await ctx.m.Product.collection.findOneAndUpdate(
        { _id: id, ...(isAdmin(p) ? {} : { sellerId: p.sub }) } as never,
        { $set: { ...input, restrictions: withRestrictionIds(input.restrictions), updatedAt: new Date() }, $inc: { version: 1 } },
        { returnDocument: 'after' },
      )) as ProductDoc | null;
      if (!product) {
        assertOwner(p, await loadProduct(ctx, id)); // 404 or 403
        throw new ConflictError('product_changed', `product ${id} changed while it was being edited`, 'read the product again and retry');
      }
      const propagation = await propagateProduct(ctx, id, { actor: p.sub, correlationId, product });
      return { product, propagation };
    }),
  );
}

export interface AssignInput {
  productId: string;
  skus: string[] | null;
  prices: { sku: string; currency: string; amountMinor: number }[];
}

function checkPrices(channel: ChannelDoc, product: MasterProduct, prices: AssignInput['prices']): void {
  for (const pr of prices) {
    if (!product.variants.some((v) => v.sku === pr.sku))
      throw new ValidationError('unknown_sku', `product ${product._id} has no SKU ${pr.sku}`, 'price only SKUs of the product');
    if (!channel.currencies.includes(pr.currency)) {
      throw new ValidationError(
        'currency_not_offered',
        `channel ${channel._id} does not sell in ${pr.currency}`,
        `use one of the channel's currencies: ${channel.currencies.join(', ')}`,
      );
    }
    if (!isValidMinorAmount(pr.amountMinor))
      throw new ValidationError(
        'invalid_amount',
        `amount ${pr.amountMinor} is not a whole non-negative number of minor units`,
        'send the price in minor units, e.g. 1999 for 19.99 EUR, 1999 for ¥1999',
      );
  }
}

/** Refuses (4xx naming the restriction, and recorded) when the product is barred from the channel. */
async function refuseIfBarred(
  ctx: CatalogContext,
  product: MasterProduct,
  channel: ChannelDoc,
  action: 'assignment' | 'approval',
  actor: string,
): Promise<void> {
  const r = barringRestriction(product.restrictions, { code: channel._id, region: channel.region, country: channel.country });
  if (!r) return;
  const events = await recordRefusal(ctx, product._id, channel._id, action, r, actor);
  await ctx.emit('refusal', events);
  throw new UnprocessableError(
    r.kind === 'channel' ? 'restricted_in_channel' : 'restricted_in_market',
    `product ${product._id} may not be sold in channel ${channel._id}: barred by ${describe(r)}`,
    r.basis === 'regulation'
      ? 'the product cannot be offered in this market; choose another channel'
      : 'the contract excludes this channel; ask the channel owner to amend it',
    { restriction: r, channel: channel._id },
  );
}

/** A seller assigns a product (all or some variants) to a channel, optionally with shelf prices. */
export async function assign(
  ctx: CatalogContext,
  p: Principal,
  code: string,
  input: AssignInput,
  correlationId?: string,
): Promise<PropagationReport> {
  const channel = await knownChannel(ctx, code);
  return ctx.productLock(input.productId, async () => {
    const product = await loadProduct(ctx, input.productId);
    assertOwner(p, product);
    if (input.skus) {
      const unknown = input.skus.filter((s) => !product.variants.some((v) => v.sku === s));
      if (unknown.length)
        throw new ValidationError(
          'unknown_sku',
          `product ${product._id} has no SKU ${unknown.join(', ')}`,
          'assign only SKUs of the product',
        );
    }
    checkPrices(channel, product, input.prices);
    if (['offboarding', 'retired'].includes(channel.state)) {
      throw new ConflictError(
        'channel_closed',
        `channel ${code} is ${channel.state} and takes no new listings`,
        'assign the product to an active channel',
      );
    }
    await refuseIfBarred(ctx, product, channel, 'assignment', p.sub);
    return ctx.withIntent({ kind: 'product', productId: product._id, itemIds: [] }, async () => {
      const current = (await ctx.m.Assignment.findById(product._id).lean()) as AssignmentDoc | null;
      const prev = current?.channels[code];
      const entry: ChannelAssignment = {
        skus: input.skus,
        prices: mergePrices(prev?.prices ?? [], input.prices),
        since: prev?.since ?? new Date(),
      };
      await ctx.m.Assignment.findOneAndUpdate(
        { _id: product._id },
        { $set: { [`channels.${code}`]: entry, sellerId: product.sellerId, ...(current ? {} : { items: [] }) } },
        { upsert: true },
      );
      return propagateProduct(ctx, product._id, { actor: p.sub, correlationId });
    });
  });
}

function mergePrices(prev: ChannelAssignment['prices'], next: ChannelAssignment['prices']): ChannelAssignment['prices'] {
  const key = (x: { sku: string; currency: string }): string => `${x.sku}\u0000${x.currency}`;
  const map = new Map(prev.map((x) => [key(x), x]));
  for (const x of next) map.set(key(x), x);
  return [...map.values()];
}

/** A seller sets shelf prices of one SKU in one channel (per currency). */
export async function setChannelPrices(
  ctx: CatalogContext,
  p: Principal,
  code: string,
  sku: string,
  prices: Record<string, number>,
  correlationId?: string,
): Promise<PropagationReport> {
  const channel = await knownChannel(ctx, code);
  const item = (await ctx.items.get([itemIdOf(code, sku)])).get(itemIdOf(code, sku)) ?? null; // only its product is used
  const productId = item?.productId;
  if (!productId)
    throw new NotFoundError(
      'item_not_found',
      `SKU ${sku} is not in channel ${code}'s catalogue`,
      'assign its product to the channel first',
    );
  return ctx.productLock(productId, async () => {
    const product = await loadProduct(ctx, productId);
    assertOwner(p, product);
    const list = Object.entries(prices).map(([currency, amountMinor]) => ({ sku, currency, amountMinor }));
    checkPrices(channel, product, list);
    return ctx.withIntent({ kind: 'product', productId, itemIds: [] }, async () => {
      const current = (await ctx.m.Assignment.findById(productId).lean()) as AssignmentDoc | null;
      const entry = current?.channels[code];
      if (!entry)
        throw new ConflictError(
          'inherited_listing',
          `SKU ${sku} is listed in ${code} through its master channel ${item.inheritedFrom ?? ''}`,
          'assign the product to this channel to give it its own prices',
        );
      await ctx.m.Assignment.findOneAndUpdate(
        { _id: productId },
        { $set: { [`channels.${code}.prices`]: mergePrices(entry.prices, list) } },
      );
      return propagateProduct(ctx, productId, { actor: p.sub, correlationId });
    });
  });
}

/** A seller removes a product (or some SKUs) from a channel: the items are withdrawn. */
export async function unassign(
  ctx: CatalogContext,
  p: Principal,
  code: string,
  productId: string,
  correlationId?: string,
): Promise<PropagationReport> {
  return ctx.productLock(productId, async () => {
    const product = await loadProduct(ctx, productId);
    assertOwner(p, product);
    const current = (await ctx.m.Assignment.findById(productId).lean()) as AssignmentDoc | null;
    if (!current?.channels[code])
      throw new NotFoundError('not_assigned', `product ${productId} is not assigned to channel ${code}`, 'nothing to remove');
    return ctx.withIntent({ kind: 'product', productId, itemIds: [] }, async () => {
      await ctx.m.Assignment.findOneAndUpdate({ _id: productId }, { $unset: { [`channels.${code}`]: '' } });
      return propagateProduct(ctx, productId, { actor: p.sub, correlationId });
    });
  });
}

/** The item as stored (read, not cached: curation decides on it and its write must apply). */
async function loadItem(ctx: CatalogContext, code: string, sku: string): Promise<LocalItemDoc> {
  const id = itemIdOf(code, sku);
  const item = (await ctx.items.get([id], true)).get(id) ?? null;
  if (!item)
    throw new NotFoundError(
      'item_not_found',
      `SKU ${sku} is not in channel ${code}'s catalogue`,
      'list the channel catalogue with GET /channels/{code}/items',
    );
  return item;
}

/** Writes a curated item and its events (caller holds the product lock). */
async function commitItem(
  ctx: CatalogContext,
  cur: LocalItemDoc,
  next: LocalItemDoc,
  extra: OutgoingEvent[],
  extraDocs: () => Promise<unknown> = async () => undefined,
): Promise<LocalItemDoc> {
  return ctx.withIntent({ kind: 'items', productId: cur.productId, itemIds: [cur._id] }, async () => {
    const { writeToken: _token, ...item } = { ...next, version: cur.version + 1, appliedAt: new Date() };
    const failed = await writeItems(ctx, [
      { cur, item, changed: true, conflicts: [], diffs: [], events: [], evidence: null, outcome: 'updated' },
    ]);
    if (failed.size)
      throw new ConflictError('item_changed', `item ${cur._id} changed while it was being curated`, 'read the item again and retry');
    await extraDocs();
    await ctx.emit('curation', [localItemEvent(item), ...extra]);
    return item;
  });
}

/** A channel manager edits fields of a local item (or reverts them to the master-derived value). */
export async function editItem(
  ctx: CatalogContext,
  code: string,
  sku: string,
  set: Partial<Record<EditableField, unknown>>,
  revert: EditableField[],
): Promise<LocalItemDoc> {
  const id = itemIdOf(code, sku);
  return ctx.itemProductLock(id, async () => {
    const cur = await loadItem(ctx, code, sku);
    if (cur.status !== 'listed')
      throw new ConflictError(
        'item_withdrawn',
        `SKU ${sku} is withdrawn from ${code} (${cur.statusReason ?? ''})`,
        'only listed items are curated',
      );
    const edits = { ...cur.edits };
    for (const f of revert) delete edits[f];
    for (const [f, v] of Object.entries(set)) edits[f as EditableField] = v;
    return commitItem(ctx, cur, { ...cur, edits, shown: shownValues(cur.synced, edits) }, []);
  });
}

export async function resolve(
  ctx: CatalogContext,
  p: Principal,
  code: string,
  sku: string,
  field: EditableField,
  resolution: Resolution,
  value: unknown,
): Promise<{ item: LocalItemDoc; conflict: ConflictDoc }> {
  const id = itemIdOf(code, sku);
  return ctx.itemProductLock(id, async () => {
    const cur = await loadItem(ctx, code, sku);
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
    const existing = (await ctx.m.Conflict.findById(ref.conflictId).lean()) as ConflictDoc | null;
    const conflict: ConflictDoc = {
      ...(existing as ConflictDoc),
      status: 'resolved',
      resolution,
      resolved: out.shown,
      resolvedBy: p.sub,
      resolvedAt: new Date(),
    };
    const item = await commitItem(
      ctx,
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
      () => ctx.m.Conflict.findOneAndUpdate({ _id: conflict._id }, { $set: conflict }),
    );
    return { item, conflict };
  });
}

/** A channel manager approves or rejects a staged diff; approval applies it (conflicts still surface). */
export async function decideDiff(
  ctx: CatalogContext,
  p: Principal,
  code: string,
  diffId: string,
  approve: boolean,
): Promise<{ diff: StagedDiffDoc; item: LocalItemDoc }> {
  const diff = (await ctx.m.StagedDiff.findById(diffId).lean()) as StagedDiffDoc | null;
  if (!diff || diff.channel !== code)
    throw new NotFoundError(
      'diff_not_found',
      `no staged diff ${diffId} in channel ${code}`,
      'list pending diffs with GET /channels/{code}/staged-diffs',
    );
  return ctx.itemProductLock(diff.itemId, async () => {
    const fresh = (await ctx.m.StagedDiff.findById(diffId).lean()) as StagedDiffDoc;
    if (fresh.status !== 'pending')
      throw new ConflictError('diff_decided', `diff ${diffId} was already ${fresh.status}`, 'a newer master change stages a new diff');
    const cur = await loadItem(ctx, code, diff.sku);
    if (approve) {
      const product = await loadProduct(ctx, diff.productId);
      await refuseIfBarred(ctx, product, await knownChannel(ctx, code), 'approval', p.sub);
    }
    const decided: StagedDiffDoc = { ...fresh, status: approve ? 'approved' : 'rejected', decidedBy: p.sub, decidedAt: new Date() };
    const staged = { ...cur.staged };
    delete staged[diff.ruleId];
    let next: LocalItemDoc = { ...cur, staged };
    const extra: OutgoingEvent[] = [stagedDiffEvent(decided, cur.version + 1)];
    const newConflicts: ConflictDoc[] = [];
    if (approve) {
      const plan: SyncPlan = { apply: {}, conflicts: [], staged: new Map() };
      for (const c of fresh.changes) planApply(plan, c.field as EditableField, cur.synced[c.field as keyof LocalValues], c.to, cur.edits);
      const synced: LocalValues = { ...cur.synced, ...plan.apply };
      const conflicts = { ...cur.conflicts };
      for (const c of plan.conflicts) {
        const conflictId = `${cur._id}|${c.field}`;
        conflicts[c.field] = { conflictId, base: c.base, master: c.master, masterVersion: fresh.masterVersion, openedAt: new Date() };
        const doc: ConflictDoc = {
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
    const item = await commitItem(ctx, cur, next, extra, () =>
      Promise.all([
        ctx.m.StagedDiff.findOneAndUpdate({ _id: diffId }, { $set: decided }),
        ...newConflicts.map((c) => ctx.m.Conflict.findOneAndUpdate({ _id: c._id }, { $set: c }, { upsert: true })),
      ]),
    );
    return { diff: decided, item };
  });
}

export interface RuleInput {
  name: string;
  mode: SyncRule['mode'];
  fields: SyncRule['fields'];
  localeFallbacks: string[];
  fieldMappings: SyncRule['fieldMappings'];
  attributeTransforms: SyncRule['attributeTransforms'];
  categoryMap: Record<string, string>;
}

/** Creates a rule (id null) or a new version of one; then re-propagates the channel's products. */
export async function putRule(
  ctx: CatalogContext,
  code: string,
  ruleId: string | null,
  input: RuleInput,
): Promise<{ rule: SyncRule; repropagated: number }> {
  await knownChannel(ctx, code);
  const rule = await compareAndSet(ctx.m.RuleSet, code, (set) => {
    const rules = set?.rules ?? [];
    const prev = ruleId ? rules.find((r) => r.id === ruleId) : undefined;
    if (ruleId && !prev)
      throw new NotFoundError('rule_not_found', `channel ${code} has no rule ${ruleId}`, 'create it with POST /channels/{code}/rules');
    const next: SyncRule = { ...input, id: prev?.id ?? randomUUID(), channel: code, version: (prev?.version ?? 0) + 1 };
    const others = rules.filter((r) => r.id !== next.id);
    const overlap = overlappingFields([...others, next]);
    if (overlap.length) {
      throw new ConflictError(
        'rule_fields_overlap',
        `another rule of channel ${code} already governs ${overlap.join(', ')}`,
        'give each field to one rule only; change the other rule first',
        { fields: overlap },
      );
    }
    return { set: { rules: [...others, next], history: [...(set?.history ?? []), next] }, result: next };
  });
  ctx.invalidateRules();
  return { rule, repropagated: await repropagateChannel(ctx, code) };
}

/**
 * Read-decide-write of one small document (a channel's rule set, the rate table) as a compare-and-set
 * on its `rev`: the write applies only if nobody wrote the document since it was read, else it is read
 * and decided again. One read and one write, no lock documents. `decide` may throw (nothing written).
 */
async function compareAndSet<D extends { _id: string }, R>(
  model: Model<D>,
  id: string,
  decide: (current: (D & { rev?: number }) | null) => { set: Partial<D>; result: R },
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const current = (await model.findById(id).lean()) as (D & { rev?: number }) | null;
    const { set, result } = decide(current);
    try {
      const res = await model.collection.updateOne(
        { _id: id, rev: current?.rev ?? { $exists: false } } as never,
        { $set: { ...set, rev: (current?.rev ?? 0) + 1 } } as never,
        { upsert: !current },
      );
      if (res.matchedCount + res.upsertedCount > 0) return result;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // created by another writer meanwhile: decide again
    }
    if (attempt >= 20) throw new ConflictError('concurrent_update', `${id} kept changing`, 'retry');
  }
}

/** Re-propagates every product assigned to a channel or to its master channel (after a rule or channel change). */
export async function repropagateChannel(ctx: CatalogContext, code: string): Promise<number> {
  const channels = await ctx.channels();
  const codes = [code, channels.get(code)?.masterChannel].filter((c): c is string => !!c);
  const assigned = await ctx.m.Assignment.find({ $or: codes.map((c) => ({ [`channels.${c}`]: { $exists: true } })) }, { _id: 1 }).lean();
  for (const a of assigned) {
    await ctx.productLock(a._id, () =>
      ctx.withIntent({ kind: 'product', productId: a._id, itemIds: [] }, () => propagateProduct(ctx, a._id)),
    );
  }
  return assigned.length;
}

export async function addRate(
  ctx: CatalogContext,
  input: Omit<RateEntry, 'version' | 'effectiveFrom'> & { effectiveFrom?: number },
): Promise<RateEntry> {
  if (!isKnownCurrency(input.base) || !isKnownCurrency(input.quote))
    throw new ValidationError('unknown_currency', `${input.base}/${input.quote}: unknown ISO 4217 currency`, 'use ISO 4217 codes');
  if (input.base === input.quote)
    throw new ValidationError('same_currency', 'base and quote are the same currency', 'quote a rate between two different currencies');
  if (!validRate(input.rate))
    throw new ValidationError(
      'invalid_rate',
      `rate ${input.rate} is not a positive decimal`,
      'send the rate as a decimal string, e.g. "1.0845"',
    );
  const entry = await compareAndSet(ctx.m.RateTable, 'table', (table) => {
    const entries = table?.entries ?? [];
    const entry: RateEntry = {
      base: input.base,
      quote: input.quote,
      rate: input.rate,
      source: input.source,
      effectiveFrom: input.effectiveFrom ?? Date.now(),
      version: entries.length + 1,
    };
    return { set: { entries: [...entries, entry] }, result: entry };
  });
  ctx.invalidateRates();
  return entry;
}
