import { ConflictError, NotFoundError, UnprocessableError, ValidationError, type Principal } from '@omnimall/service-kit';
import { CLOSED_STATES, itemIdOf, type MasterProduct } from '../domain/catalog';
import { isValidMinorAmount } from '../domain/money';
import type { ChannelAssignment, KnownChannel, ShelfPrice } from '../domain/records';
import { barringRestriction, describe } from '../domain/restrictions';
import type { Catalog } from './catalog';
import { assertOwnsSkus } from './claims';
import { assertOwner, knownChannel, loadProduct } from './lookups';
import { propagateProduct, recordRefusal, type PropagationReport } from './propagation';

/** Assignment: a seller lists a product (or some SKUs) in a channel, prices it there, or removes it. */

export interface AssignInput {
  productId: string;
  skus: string[] | null;
  prices: ShelfPrice[];
}

function checkPrices(channel: KnownChannel, product: MasterProduct, prices: AssignInput['prices']): void {
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
export async function refuseIfBarred(
  c: Catalog,
  product: MasterProduct,
  channel: KnownChannel,
  action: 'assignment' | 'approval',
  actor: string,
): Promise<void> {
  const r = barringRestriction(product.restrictions, { code: channel._id, region: channel.region, country: channel.country });
  if (!r) return;
  const events = await recordRefusal(c, product._id, channel._id, action, r, actor);
  await c.journal.append('refusal', events);
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
  c: Catalog,
  p: Principal,
  code: string,
  input: AssignInput,
  correlationId?: string,
): Promise<PropagationReport> {
  const channel = await knownChannel(c, code);
  return c.locks.product(input.productId, async () => {
    const product = await loadProduct(c, input.productId);
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
    await assertOwnsSkus(c, product._id, input.skus ?? product.variants.map((v) => v.sku)); // 409 naming the owner product
    if (CLOSED_STATES.has(channel.state)) {
      throw new ConflictError(
        'channel_closed',
        `channel ${code} is ${channel.state} and takes no new listings`,
        'assign the product to an active channel',
      );
    }
    await refuseIfBarred(c, product, channel, 'assignment', p.sub);
    return c.changes.run({ kind: 'product', productId: product._id, itemIds: [] }, async () => {
      const current = await c.assignments.byId(product._id);
      const prev = current?.channels[code];
      const entry: ChannelAssignment = {
        skus: input.skus,
        prices: mergePrices(prev?.prices ?? [], input.prices),
        since: prev?.since ?? new Date(),
      };
      await c.assignments.setChannel(product._id, product.sellerId, code, entry, !current);
      return propagateProduct(c, product._id, { actor: p.sub, correlationId });
    });
  });
}

function mergePrices(prev: ShelfPrice[], next: ShelfPrice[]): ShelfPrice[] {
  const key = (x: { sku: string; currency: string }): string => `${x.sku}\u0000${x.currency}`;
  const map = new Map(prev.map((x) => [key(x), x]));
  for (const x of next) map.set(key(x), x);
  return [...map.values()];
}

/** A seller sets shelf prices of one SKU in one channel (per currency). */
export async function setChannelPrices(
  c: Catalog,
  p: Principal,
  code: string,
  sku: string,
  prices: Record<string, number>,
  correlationId?: string,
): Promise<PropagationReport> {
  const channel = await knownChannel(c, code);
  const item = (await c.items.get([itemIdOf(code, sku)])).get(itemIdOf(code, sku)) ?? null; // only its product is used
  const productId = item?.productId;
  if (!productId)
    throw new NotFoundError(
      'item_not_found',
      `SKU ${sku} is not in channel ${code}'s catalogue`,
      'assign its product to the channel first',
    );
  return c.locks.product(productId, async () => {
    const product = await loadProduct(c, productId);
    assertOwner(p, product);
    const list = Object.entries(prices).map(([currency, amountMinor]) => ({ sku, currency, amountMinor }));
    checkPrices(channel, product, list);
    await assertOwnsSkus(c, productId, [sku]);
    return c.changes.run({ kind: 'product', productId, itemIds: [] }, async () => {
      const current = await c.assignments.byId(productId);
      const entry = current?.channels[code];
      if (!entry)
        throw new ConflictError(
          'inherited_listing',
          `SKU ${sku} is listed in ${code} through its master channel ${item.inheritedFrom ?? ''}`,
          'assign the product to this channel to give it its own prices',
        );
      await c.assignments.setPrices(productId, code, mergePrices(entry.prices, list));
      return propagateProduct(c, productId, { actor: p.sub, correlationId });
    });
  });
}

/** A seller removes a product (or some SKUs) from a channel: the items are withdrawn. */
export async function unassign(
  c: Catalog,
  p: Principal,
  code: string,
  productId: string,
  correlationId?: string,
): Promise<PropagationReport> {
  return c.locks.product(productId, async () => {
    const product = await loadProduct(c, productId);
    assertOwner(p, product);
    const current = await c.assignments.byId(productId);
    if (!current?.channels[code])
      throw new NotFoundError('not_assigned', `product ${productId} is not assigned to channel ${code}`, 'nothing to remove');
    return c.changes.run({ kind: 'product', productId, itemIds: [] }, async () => {
      await c.assignments.removeChannel(productId, code);
      return propagateProduct(c, productId, { actor: p.sub, correlationId });
    });
  });
}
