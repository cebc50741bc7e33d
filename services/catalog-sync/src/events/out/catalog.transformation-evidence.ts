import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { EvidenceRecord, LocalItem } from '../../domain/records';
import { json, PRODUCER } from './common';

/** catalog.transformation-evidence (key `<channel>:<sku>`): every step of one propagation into an item (audit). */
export function evidenceEvent(item: LocalItem, record: EvidenceRecord, correlationId?: string): OutgoingEvent {
  return newEvent(
    'catalog.transformation-evidence',
    {
      type: 'catalog.transformation-evidence',
      producer: PRODUCER,
      aggregateId: item._id,
      aggregateVersion: item.version,
      sourceChannel: item.channel,
      correlationId,
    },
    {
      evidenceId: record.evidenceId,
      channel: item.channel,
      sku: item.sku,
      productId: item.productId,
      masterVersion: record.masterVersion,
      steps: record.steps.map((s) => ({
        field: s.field,
        kind: s.kind,
        ruleId: s.ruleId,
        ruleVersion: s.ruleVersion,
        inputJson: json(s.input),
        outputJson: json(s.output),
        rate: s.rate
          ? {
              base: s.rate.base,
              quote: s.rate.quote,
              rate: s.rate.rate,
              source: s.rate.source,
              effectiveFrom: s.rate.effectiveFrom,
              version: s.rate.version,
            }
          : null,
      })),
    },
  );
}
