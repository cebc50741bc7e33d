import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { ConflictDoc, EvidenceRecord, LocalItemDoc, RefusalDoc, StagedDiffDoc } from '../store/models';

/** The mapping of catalogue changes to the Avro events catalog-sync publishes (schemas/avro/catalog). */
export const PRODUCER = 'catalog-sync';

export const PRODUCED_TOPICS = [
  'catalog.local-item',
  'catalog.staged-diff',
  'catalog.conflict',
  'catalog.transformation-evidence',
  'catalog.restriction-refused',
] as const;

const json = (v: unknown): string => JSON.stringify(v ?? null);

/** Full state of a local item: listed (with its primary-currency shelf price) or withdrawn. */
export function localItemEvent(item: LocalItemDoc, correlationId?: string): OutgoingEvent {
  const price = item.primaryCurrency ? item.shown.price[item.primaryCurrency] : undefined;
  return newEvent(
    'catalog.local-item',
    {
      type: `catalog.local-item.${item.status}`,
      producer: PRODUCER,
      aggregateId: item._id,
      aggregateVersion: item.version,
      sourceChannel: item.channel,
      correlationId,
    },
    {
      channel: item.channel,
      sku: item.sku,
      productId: item.productId,
      status: item.status,
      title: item.shown.title,
      priceMinor: price?.amountMinor ?? null,
      currency: price ? item.primaryCurrency : null,
      taxInclusive: price?.taxInclusive ?? true,
      barredRegions: item.barredRegions,
      masterVersion: item.masterVersion,
      sellerId: item.sellerId,
    },
  );
}

export function evidenceEvent(item: LocalItemDoc, record: EvidenceRecord, correlationId?: string): OutgoingEvent {
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

export function conflictEvent(c: ConflictDoc, version: number, correlationId?: string): OutgoingEvent {
  return newEvent(
    'catalog.conflict',
    {
      type: `catalog.conflict.${c.status === 'open' ? 'opened' : 'resolved'}`,
      producer: PRODUCER,
      aggregateId: c.itemId,
      aggregateVersion: version,
      sourceChannel: c.channel,
      correlationId,
    },
    {
      conflictId: c._id,
      channel: c.channel,
      sku: c.sku,
      productId: c.productId,
      field: c.field,
      status: c.status,
      baseJson: c.base === undefined ? null : json(c.base),
      localJson: json(c.local),
      masterJson: json(c.master),
      masterVersion: c.masterVersion,
      resolution: c.resolution,
      resolvedJson: c.status === 'resolved' ? json(c.resolved) : null,
      resolvedBy: c.resolvedBy,
    },
  );
}

export function stagedDiffEvent(d: StagedDiffDoc, version: number, correlationId?: string): OutgoingEvent {
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

export function refusalEvent(r: RefusalDoc, correlationId?: string): OutgoingEvent {
  return newEvent(
    'catalog.restriction-refused',
    {
      type: `catalog.restriction-refused.${r.action}`,
      producer: PRODUCER,
      aggregateId: r.productId,
      aggregateVersion: 0,
      sourceChannel: r.channel,
      correlationId,
    },
    {
      refusalId: r._id,
      productId: r.productId,
      channel: r.channel,
      action: r.action,
      restrictionId: r.restriction.id,
      restrictionKind: r.restriction.kind,
      restrictionValue: r.restriction.value,
      basis: r.restriction.basis,
      reason: r.restriction.reason,
      actor: r.actor,
    },
  );
}
