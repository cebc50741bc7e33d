/**
 * The master product a bulk benchmark seeds (straight into catalog-sync's `products` collection): one
 * variant, a weight and a price that vary with its index, no restrictions. Shared by the
 * catalog-bulk-sync row and the sync-monitor's bulk rows, so both sync the same catalogue.
 */
export function benchProduct(id: string, sellerId: string, index: number, now: Date) {
  return {
    _id: id,
    sellerId,
    version: 1,
    defaultLocale: 'en',
    title: { en: `Product ${index}`, de: `Produkt ${index}` },
    description: { en: 'Bulk benchmark product' },
    category: 'bench',
    attributes: { weight: { value: 0.25 + (index % 7), unit: 'kg' } },
    variants: [{ sku: `${id}-1`, attributes: {}, price: { amountMinor: 999 + (index % 5000), currency: 'EUR' } }],
    restrictions: [],
    createdAt: now,
    updatedAt: now,
  };
}
