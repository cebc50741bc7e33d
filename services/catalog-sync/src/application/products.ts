import { randomUUID } from 'node:crypto';
import { ConflictError, ValidationError, type Principal } from '@omnimall/service-kit';
import type { AttributeValue, MasterProduct, Variant } from '../domain/catalog';
import { isKnownCurrency } from '../domain/money';
import type { StoredProduct } from '../domain/records';
import type { Restriction } from '../domain/restrictions';
import type { Catalog } from './catalog';
import { claimSkus, releaseInserted, skuOwnedError } from './claims';
import { assertOwner, isAdmin, loadProduct } from './lookups';
import { propagateProduct, type PropagationReport } from './propagation';

/** The master catalogue: a seller creates products and changes them; a change propagates at once. */

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

export async function createProduct(c: Catalog, p: Principal, input: ProductInput & { id?: string }): Promise<StoredProduct> {
  checkProductInput(input);
  const now = new Date();
  const id = input.id ?? randomUUID();
  if (input.id && (await c.products.header(input.id)))
    throw new ConflictError(
      'product_exists',
      `product ${input.id} exists already`,
      'change it with PUT /products/{id}, or choose another id',
    );
  const doc: StoredProduct = {
    _id: id,
    sellerId: p.sub,
    version: 1,
    ...input,
    restrictions: withRestrictionIds(input.restrictions),
    createdAt: now,
    updatedAt: now,
  };
  // Its SKUs are claimed before the product is written: a SKU another product owns refuses it (409).
  const { refused, inserted } = await claimSkus(
    c,
    input.variants.map((v) => ({ productId: id, sku: v.sku })),
  );
  try {
    if (refused.length) throw skuOwnedError(refused[0]);
    await c.products.create(doc); // unique _id: a duplicate (a concurrent create) answers 409 through the app
  } catch (err) {
    await releaseInserted(c, inserted);
    throw err;
  }
  return doc;
}

/**
 * A master change: claims the SKUs it adds (409 when another product owns one), bumps the version,
 * releases the SKUs it dropped, and propagates to every local item at once.
 */
export async function updateProduct(
  c: Catalog,
  p: Principal,
  id: string,
  input: ProductInput,
  correlationId?: string,
): Promise<{ product: MasterProduct; propagation: PropagationReport }> {
  checkProductInput(input);
  const skus = input.variants.map((v) => v.sku);
  return c.locks.product(id, async () =>
    c.changes.run({ kind: 'product', productId: id, itemIds: [] }, async () => {
      const { refused, inserted } = await claimSkus(
        c,
        skus.map((sku) => ({ productId: id, sku })),
      );
      let changed;
      try {
        if (refused.length) {
          assertOwner(p, await loadProduct(c, id)); // not the caller's product: 404 or 403 first
          throw skuOwnedError(refused[0]);
        }
        // One conditional write: only the owner (or an admin) bumps the version; a miss says why.
        changed = await c.products.change(id, isAdmin(p) ? null : p.sub, {
          ...input,
          restrictions: withRestrictionIds(input.restrictions),
          updatedAt: new Date(),
        });
        if (!changed) {
          assertOwner(p, await loadProduct(c, id)); // 404 or 403
          throw new ConflictError('product_changed', `product ${id} changed while it was being edited`, 'read the product again and retry');
        }
      } catch (err) {
        await releaseInserted(c, inserted);
        throw err;
      }
      const { product, previous } = changed;
      await c.claims.release(
        id,
        previous.variants.map((v) => v.sku).filter((s) => !skus.includes(s)),
      );
      const propagation = await propagateProduct(c, id, { actor: p.sub, correlationId, product, skusClaimed: true });
      return { product, propagation };
    }),
  );
}
