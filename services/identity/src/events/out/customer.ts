import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { LinkedIdentityType } from '@omnimall/contracts';
import type { ConsentEntry, ConsentPurpose, Customer } from '../../domain/customer';

/**
 * Changes of a customer → the Avro events identity publishes about it, keyed by the customer id
 * (a merge by the target's). Callers commit them with the change, through the outbox.
 */
export const PRODUCER = 'identity';

export interface Meta {
  correlationId?: string;
  sourceChannel?: string | null;
}

/** Full standing after a change; `doc` is the customer as it will be after the write (version included). */
export function customerStatusChanged(doc: Customer, change: string, meta: Meta = {}): OutgoingEvent<'identity.customer-status'> {
  return newEvent(
    'identity.customer-status',
    { type: `customer.${change}`, producer: PRODUCER, aggregateId: doc._id, aggregateVersion: doc.version, ...meta },
    {
      customerId: doc._id,
      status: doc.status,
      reason: doc.reason,
      until: doc.until,
      loyaltyTier: doc.loyaltyTier,
      verified: doc.verified,
      dataRegion: doc.dataRegion,
      change,
    },
  );
}

export function identityLinked(
  customerId: string,
  version: number,
  link: { type: LinkedIdentityType; externalId: string; channel: string },
  meta: Meta = {},
): OutgoingEvent<'identity.identity-linked'> {
  return newEvent(
    'identity.identity-linked',
    { type: 'customer.identity_linked', producer: PRODUCER, aggregateId: customerId, aggregateVersion: version, ...meta },
    { customerId, identityType: link.type, externalId: link.externalId, channel: link.channel },
  );
}

export function customerMerged(
  sourceCustomerId: string,
  targetCustomerId: string,
  targetVersion: number,
  mergedBy: string,
  meta: Meta = {},
): OutgoingEvent<'identity.customer-merged'> {
  return newEvent(
    'identity.customer-merged',
    { type: 'customer.merged', producer: PRODUCER, aggregateId: targetCustomerId, aggregateVersion: targetVersion, ...meta },
    { sourceCustomerId, targetCustomerId, mergedBy },
  );
}

export function consentChanged(
  customerId: string,
  version: number,
  channel: string,
  consents: Partial<Record<ConsentPurpose, ConsentEntry>>,
  source: string,
  changedAt: number,
  meta: Meta = {},
): OutgoingEvent<'identity.consent-changed'> {
  return newEvent(
    'identity.consent-changed',
    { type: 'customer.consent_changed', producer: PRODUCER, aggregateId: customerId, aggregateVersion: version, ...meta },
    {
      customerId,
      channel,
      marketing: consents.marketing?.granted ?? false,
      analytics: consents.analytics?.granted ?? false,
      personalisation: consents.personalisation?.granted ?? false,
      source,
      changedAt,
    },
  );
}

export function dataSubjectRequest(
  requestId: string,
  customerId: string,
  version: number,
  kind: 'export' | 'erasure',
  requestedBy: string,
  completedAt: number,
  meta: Meta = {},
): OutgoingEvent<'identity.data-request'> {
  return newEvent(
    'identity.data-request',
    { type: `customer.data_${kind}`, producer: PRODUCER, aggregateId: customerId, aggregateVersion: version, ...meta },
    { requestId, customerId, kind, requestedBy, completedAt },
  );
}
