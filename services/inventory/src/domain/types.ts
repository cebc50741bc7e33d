/**
 * The inventory's shared types: the stock document of one SKU (levels per location, holds,
 * quota use, what was last published per channel) and everything availability reads besides it.
 * Types only; the rules live in stock.ts, availability.ts and reservations.ts.
 */

/** Units on their way to a location (a purchase order, a transfer in transit). */
export interface Incoming {
  quantity: number;
  /** Epoch ms. */
  expectedAt: number;
  reference: string;
}

/** One SKU's stock at one location. Damaged and quality-held units are part of onHand, not sellable. */
export interface Level {
  onHand: number;
  reserved: number;
  damaged: number;
  qualityHold: number;
  safetyStock: number;
  incoming: Incoming[];
}

export type Bucket = 'onHand' | 'reserved' | 'damaged' | 'qualityHold' | 'safetyStock' | 'incoming';

/** One reservation's part on this SKU. */
export interface Hold {
  reservationId: string;
  channel: string;
  /** Units held (not backordered). */
  quantity: number;
  /** Where the held units are reserved. */
  byLocation: Record<string, number>;
  /** Units accepted beyond availability (backorder policy only). */
  backordered: number;
  /** Units counted against the channel's quota. */
  quotaCounted: number;
  expiresAt: number;
  /** cart:<id> or order:<id>. */
  reference: string;
}

/** Where a reservation's units of one SKU are (held) or came from (shipped): per location, and how many count against the channel's quota. */
export interface Placement {
  byLocation: Record<string, number>;
  quotaCounted: number;
}

export type StockState = 'in_stock' | 'low_stock' | 'out_of_stock' | 'backorder';

/** What a channel was last told about a SKU. */
export interface Published {
  available: number;
  state: StockState;
  rule: string;
}

/** The `stock` document: one aggregate per SKU, `_id = sku`. */
export interface StockRecord {
  sku: string;
  sellerId: string | null;
  /** aggregateVersion, +1 per change. */
  version: number;
  levels: Record<string /* locationId */, Level>;
  holds: Record<string /* reservationId */, Hold>;
  quotaUsed: Record<string /* channel */, number>;
  published: Record<string /* channel */, Published>;
  /** Idempotency of stock operations, the last 200 kept. */
  ops: Record<string /* opKey */, { hash: string; at: number; adjustmentId: string }>;
  updatedAt: number;
}

/** One change to the stock levels of a SKU. */
export type StockOp =
  | { kind: 'set'; location: string; bucket: Bucket /* not reserved/incoming */; quantity: number }
  | { kind: 'adjust'; location: string; bucket: Bucket /* not reserved */; delta: number }
  | { kind: 'transfer'; from: string; to: string; quantity: number }
  /** incoming → onHand (matching reference first, then earliest expected). */
  | { kind: 'receive'; location: string; quantity: number; reference?: string }
  | { kind: 'expect'; location: string; quantity: number; expectedAt: number; reference: string };

/** What one change did to one bucket at one location; `after` is the new value (incoming: the total). */
export interface Delta {
  location: string;
  bucket: Bucket;
  delta: number;
  after: number;
}

export type Allocation = { kind: 'shared' } | { kind: 'quota'; units: number } | { kind: 'percentage'; percent: number };

/** How a channel sells: where its stock comes from, how much of it, and what it shows. */
export interface ChannelPolicy {
  source: 'auto' | 'own' | 'master';
  allocation: Allocation;
  lowStock: number;
  displayFloor: number;
  backorder: boolean;
  maxPerOrder: number | null;
}

export type ExceptionKind = 'master_only' | 'threshold_exempt' | 'embargo';

/** A business exception to the policies; ignored once past `expiresAt`. */
export interface Exception {
  id: string;
  kind: ExceptionKind;
  /** null: every SKU. */
  sku: string | null;
  /** null: every channel. */
  channel: string | null;
  owner: string;
  reason: string;
  expiresAt: number;
  /** Embargo end. */
  until?: number;
  createdAt: number;
}

/** The channel projection availability reads. */
export interface ChannelInfo {
  code: string;
  state: string;
  masterChannel: string | null;
}

/** Everything availability reads besides the stock document. */
export interface World {
  channels: ReadonlyMap<string, ChannelInfo>;
  /** Per channel, its linked locations sorted by priority (lower first). */
  links: ReadonlyMap<string, readonly { locationId: string; priority: number }[]>;
  policies: ReadonlyMap<string, ChannelPolicy>;
  exceptions: readonly Exception[];
  now: number;
}

/** Whose locations a channel sells from. */
export interface Source {
  kind: 'own' | 'master' | 'none';
  /** Whose locations. */
  channel: string;
  /** By priority. */
  locations: string[];
}

export type Rule =
  'shared_pool' | 'quota' | 'percentage_of_master' | 'display_floor' | 'master_only' | 'embargo' | 'no_source' | 'channel_closed';

/** What a channel may sell of a SKU, and why. */
export interface Availability {
  channel: string;
  sku: string;
  available: number;
  state: StockState;
  rule: Rule;
  maxPerOrder: number | null;
  backorder: boolean;
  explanation: {
    source: Source;
    pool: number;
    allocated: number;
    allocation: Allocation;
    exception: Exception | null;
    thresholds: { lowStock: number; displayFloor: number; exempt: boolean };
    steps: string[];
  };
}

/** One line of a reservation. */
export interface ReserveLine {
  sku: string;
  quantity: number;
}
