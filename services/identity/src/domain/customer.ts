import type { LinkedIdentityType } from '@omnimall/contracts';
import type { Standing } from './standing';

/**
 * The global customer and what hangs off it: consents per channel, linked identifiers, merge
 * records and data-subject requests. Plain types: the store maps its documents to them.
 */
export interface ConsentEntry {
  granted: boolean;
  at: Date;
  source: string;
}
export type ConsentPurpose = 'marketing' | 'analytics' | 'personalisation';
export const CONSENT_PURPOSES: readonly ConsentPurpose[] = ['marketing', 'analytics', 'personalisation'];

/** channel code → purpose → consent. */
export type Consents = Record<string, Partial<Record<ConsentPurpose, ConsentEntry>>>;

/** A customer: the profile, its standing and entitlements, consents, and what became of it (merge, erasure). */
export interface Customer extends Standing {
  _id: string;
  email: string;
  passwordHash: string | null;
  displayName: string | null;
  registeredChannel: string | null;
  /** Every channel the customer registered or logged in through (older profiles may lack it). */
  channels?: string[];
  consents: Consents;
  mergedInto: string | null;
  erasedAt: Date | null;
  /** Salted digest of the erased email: evidence that lets compliance confirm an erasure. */
  erasedEmailDigest: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Whether the customer was active on `channel` (registered or logged in through it): a channel manager's reach. */
export function activeOn(c: Pick<Customer, 'registeredChannel' | 'channels'>, channel: string): boolean {
  return c.registeredChannel === channel || (c.channels ?? []).includes(channel);
}

export interface LinkedIdentity {
  /** `<type>:<externalId>`: the unique insert is the conflict check. */
  _id: string;
  type: LinkedIdentityType;
  externalId: string;
  customerId: string;
  channel: string;
  linkedAt: Date;
  linkedBy: string;
}

export const linkKey = (type: LinkedIdentityType, externalId: string): string => `${type}:${externalId}`;

export interface MergeRecord {
  _id: string;
  sourceCustomerId: string;
  targetCustomerId: string;
  mergedBy: string;
  reason: string;
  /** What justified the merge, as the admin sent it (kept as JSON text: arbitrary keys are safe to store). */
  evidenceJson: string;
  movedIdentities: string[];
  sourceSnapshot: Record<string, unknown>;
  /** When retention emptied the snapshot (null: still held). */
  snapshotPrunedAt?: Date | null;
  at: Date;
}

export interface DataRequest {
  _id: string;
  customerId: string;
  kind: 'export' | 'erasure';
  requestedBy: string;
  at: Date;
}
