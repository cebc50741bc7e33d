import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { ComplianceRecord } from '../../domain/residency';
import { PRODUCER, type Meta } from './customer';

/** A refusal by a compliance rule → identity.compliance-violation, keyed by the record's id. */
export function complianceViolation(record: ComplianceRecord, meta: Meta = {}): OutgoingEvent<'identity.compliance-violation'> {
  return newEvent(
    'identity.compliance-violation',
    { type: `compliance.${record.rule}_refused`, producer: PRODUCER, aggregateId: record._id, aggregateVersion: 1, ...meta },
    {
      rule: record.rule,
      customerId: record.customerId,
      channel: record.channel,
      dataRegion: record.dataRegion,
      allowedRegions: record.allowedRegions,
      action: record.action,
      actor: record.actor,
    },
  );
}
