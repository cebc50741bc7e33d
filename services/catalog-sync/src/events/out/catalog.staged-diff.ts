import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { StagedDiff } from '../../domain/records';
import { json, PRODUCER } from './common';

/** catalog.staged-diff (key `<channel>:<sku>|<ruleId>`): a diff a manual rule staged, approved or rejected, in full. */
export function stagedDiffEvent(d: StagedDiff, version: number, correlationId?: string): OutgoingEvent {
  return newEvent(
    'catalog.staged-diff',
    {
      type: `catalog.staged-diff.${d.status}`,
      producer: PRODUCER,
      aggregateId: d._id,
      aggregateVersion: version,
      sourceChannel: d.channel,
      correlationId,
    },
    {
      diffId: d._id,
      channel: d.channel,
      sku: d.sku,
      productId: d.productId,
      ruleId: d.ruleId,
      ruleVersion: d.ruleVersion,
      masterVersion: d.masterVersion,
      status: d.status,
      changes: d.changes.map((c) => ({ field: c.field, fromJson: c.from === undefined ? null : json(c.from), toJson: json(c.to) })),
      decidedBy: d.decidedBy,
    },
  );
}
