import { NotFoundError } from '@omnimall/service-kit';
import type { AssignmentDoc, ConflictDoc, EvidenceDoc, LocalItemDoc, RefusalDoc, StagedDiffDoc } from '../store/models';
import type { CatalogContext } from './context';

/** Read models: where a product is listed, a channel's catalogue, its conflicts and diffs, evidence. */

/** Internal fields items do not show. */
const HIDDEN = { writeToken: 0 } as const;

export interface Listing {
  channel: string;
  sku: string;
  status: LocalItemDoc['status'];
  statusReason: string | null;
  prices: LocalItemDoc['shown']['price'];
  primaryCurrency: string | null;
  listedSince: Date | null;
  priceSince: Date | null;
  masterVersion: number;
  ruleVersions: Record<string, number>;
  inheritedFrom: string | null;
  version: number;
}

export function listingOf(i: LocalItemDoc): Listing {
  return {
    channel: i.channel,
    sku: i.sku,
    status: i.status,
    statusReason: i.statusReason,
    prices: i.shown.price,
    primaryCurrency: i.primaryCurrency,
    listedSince: i.listedSince,
    priceSince: i.priceSince,
    masterVersion: i.masterVersion,
    ruleVersions: i.ruleVersions,
    inheritedFrom: i.inheritedFrom,
    version: i.version,
  };
}

/** Every local item a product ever had, across all channels (by id: no scan). */
export async function listingsOf(
  ctx: CatalogContext,
  productId: string,
): Promise<{ product: { id: string; version: number; sellerId: string }; listings: Listing[] }> {
  const product = await ctx.m.Product.findById(productId, { version: 1, sellerId: 1 }).lean();
  if (!product) throw new NotFoundError('product_not_found', `no product ${productId}`, 'check the product id');
  const a = (await ctx.m.Assignment.findById(productId).lean()) as AssignmentDoc | null;
  const items = (await Promise.all((a?.items ?? []).map((id) => ctx.m.LocalItem.findById(id).lean()))) as (LocalItemDoc | null)[];
  return {
    product: { id: productId, version: product.version, sellerId: product.sellerId },
    listings: items
      .filter((i): i is LocalItemDoc => !!i)
      .map(listingOf)
      .sort((x, y) => x.channel.localeCompare(y.channel) || x.sku.localeCompare(y.sku)),
  };
}

export async function itemOf(ctx: CatalogContext, channel: string, sku: string): Promise<LocalItemDoc> {
  const item = (await ctx.m.LocalItem.findById(`${channel}:${sku}`, HIDDEN).lean()) as LocalItemDoc | null;
  if (!item)
    throw new NotFoundError(
      'item_not_found',
      `SKU ${sku} is not in channel ${channel}'s catalogue`,
      'list the channel catalogue with GET /channels/{code}/items',
    );
  return item;
}

export async function channelItems(ctx: CatalogContext, channel: string, limit: number): Promise<LocalItemDoc[]> {
  return (await ctx.m.LocalItem.find({ channel }, HIDDEN).limit(limit).lean()) as LocalItemDoc[];
}

export async function channelConflicts(ctx: CatalogContext, channel: string, status: 'open' | 'resolved'): Promise<ConflictDoc[]> {
  return (await ctx.m.Conflict.find({ channel, status }).lean()) as ConflictDoc[];
}

export async function channelDiffs(ctx: CatalogContext, channel: string, status: StagedDiffDoc['status']): Promise<StagedDiffDoc[]> {
  return (await ctx.m.StagedDiff.find({ channel, status }).lean()) as StagedDiffDoc[];
}

export async function refusalsOf(ctx: CatalogContext, productId: string): Promise<RefusalDoc[]> {
  return (await ctx.m.Refusal.find({ productId }).sort({ at: 1 }).lean()) as RefusalDoc[];
}

/** The evidence records of an item, latest first (by id: no scan). */
export async function evidenceOf(ctx: CatalogContext, item: LocalItemDoc): Promise<EvidenceDoc[]> {
  const docs = (await Promise.all([...item.evidence].reverse().map((id) => ctx.m.Evidence.findById(id).lean()))) as (EvidenceDoc | null)[];
  return docs.filter((d): d is EvidenceDoc => !!d);
}
