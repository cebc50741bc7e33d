import type { Restriction } from './restrictions';

/** The master catalogue as sellers maintain it, and the local item as one channel shows it. */

export type Localised = Record<string, string>;

/** An attribute: a plain value, a quantity with a unit, or a size in a size system. */
export type AttributeValue = string | number | boolean | { value: number; unit: string } | { size: string; system: string };

export interface Variant {
  sku: string;
  attributes: Record<string, AttributeValue>;
  /** Net (tax-exclusive) master price in minor units of `currency`. */
  price: { amountMinor: number; currency: string };
}

export interface MasterProduct {
  _id: string;
  sellerId: string;
  /** Bumped on every change; every local item records the version it came from. */
  version: number;
  defaultLocale: string;
  title: Localised;
  description: Localised;
  category: string;
  attributes: Record<string, AttributeValue>;
  variants: Variant[];
  restrictions: Restriction[];
}

/** Fields of a local item that master changes propagate into. */
export const SYNC_FIELDS = ['title', 'description', 'category', 'attributes', 'price'] as const;
export type SyncField = (typeof SYNC_FIELDS)[number];

/** Fields a channel manager may edit locally (prices are the seller's, per channel and currency). */
export const EDITABLE_FIELDS = ['title', 'description', 'category', 'attributes'] as const;
export type EditableField = (typeof EDITABLE_FIELDS)[number];

export interface DisplayPrice {
  amountMinor: number;
  taxInclusive: boolean;
}

export interface LocalValues {
  title: string;
  description: string;
  category: string;
  attributes: Record<string, AttributeValue>;
  /** Displayed price per channel currency. */
  price: Record<string, DisplayPrice>;
}

/** Structural equality of JSON-like values (key order ignored). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export const itemIdOf = (channel: string, sku: string): string => `${channel}:${sku}`;

/** Channel states that take no listings: their items are withdrawn, and nothing new is assigned there. */
export const CLOSED_STATES: ReadonlySet<string> = new Set(['offboarding', 'retired']);
