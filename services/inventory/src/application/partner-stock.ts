/**
 * Partner stock: each drop-ship partner produces on its own topic, partner.<code>.stock-adjustment,
 * which only its Kafka principal may write (the ACLs of the topics step), the on-hand stock of SKUs
 * at the drop-ship locations it owns. A valid record is one stock operation (set or adjust of onHand
 * at that location) through StockService.operate, like a staff member's, with the partner as actor.
 *
 * Guarantees: the partner a record speaks for is the topic it was read from, never its body — a
 * record whose `partnerChannel` names another partner is refused (`partner_mismatch`) — and a partner
 * changes only its own locations: a location that is not a drop-ship location whose `partner` is
 * that partner (or no location at all) is refused (`location_not_partners`). Sizes come first (a
 * record over PARTNER_RECORD_MAX_BYTES or a string over its bound is `too_large`), then an unsafe
 * correlation id and insane values (a malformed SKU, a negative set, a zero adjust, a quantity over
 * MAX_PARTNER_QUANTITY) are `invalid`. What is refused goes to the topic's .dlq at once, as the
 * partner wrote it (the kit's deadLetterNow), and so does a record the stock refuses (its code as
 * the reason: below_committed, invalid_quantity...): no retry could make either apply. Each record
 * applies once: its operation key is `partner:<code>:<eventId>`, so a replay applies nothing.
 * Partners' topics are found on the broker at start; a partner added later is read after the next start.
 */
import { partnerOfTopic, topicSpec, type TopicValues } from '@omnimall/contracts';
import { deadLetterNow, isSafeCorrelationId, partnerTopicsOn, type EventContext, type ServiceRuntime } from '@omnimall/service-kit';
import { AppError } from '@omnimall/service-kit/errors';
import type { StockOp } from '../domain/types';
import type { ConfigRepository } from '../store';
import type { StockService } from './stock';

type PartnerStockAdjustment = TopicValues['partner.stock-adjustment'];

/** The per-partner family the inventory applies. */
export const PARTNER_STOCK_FAMILY = 'partner.stock-adjustment';

/** The largest partner record accepted, in encoded bytes (records are a few hundred bytes). */
export const PARTNER_RECORD_MAX_BYTES = 64 * 1024;

/** The largest quantity a record may set, or add or remove. */
export const MAX_PARTNER_QUANTITY = 10_000_000;

/** A SKU as the HTTP API takes it. */
const SKU = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** The `too_large` problems of a record (each string against its bound, and the whole); empty when it fits. */
export function partnerStockTooLarge(rec: PartnerStockAdjustment, recordBytes?: number): string[] {
  const e = rec.envelope;
  const bounds: [string, string | null | undefined, number][] = [
    ['envelope.eventId', e.eventId, 64],
    ['envelope.type', e.type, 64],
    ['envelope.producer', e.producer, 64],
    ['envelope.sourceChannel', e.sourceChannel, 64],
    ['envelope.correlationId', e.correlationId, 128],
    ['envelope.aggregateId', e.aggregateId, 128],
    ['partnerChannel', rec.partnerChannel, 64],
    ['location', rec.location, 64],
    ['sku', rec.sku, 64],
    ['reason', rec.reason, 200],
    ['reference', rec.reference, 128],
  ];
  const problems =
    recordBytes !== undefined && recordBytes > PARTNER_RECORD_MAX_BYTES
      ? [`too_large: record is ${recordBytes} bytes (at most ${PARTNER_RECORD_MAX_BYTES})`]
      : [];
  for (const [field, value, max] of bounds)
    if (value && value.length > max) problems.push(`too_large: ${field} is ${value.length} characters (at most ${max})`);
  return problems;
}

/** The `invalid` problems of a record's SKU and quantity; empty when they are sane. */
export function partnerStockValueProblems(rec: PartnerStockAdjustment): string[] {
  const problems: string[] = [];
  if (!SKU.test(rec.sku)) problems.push(`invalid_sku: ${JSON.stringify(rec.sku)} (letters, digits and ._:-, at most 64)`);
  const q = rec.quantity;
  if (!Number.isInteger(q) || Math.abs(q) > MAX_PARTNER_QUANTITY)
    problems.push(`invalid_quantity: ${q} is not a whole number of at most ${MAX_PARTNER_QUANTITY} units`);
  else if (rec.mode === 'set' && q < 0) problems.push(`invalid_quantity: a set of ${q} (onHand is never negative)`);
  else if (rec.mode === 'adjust' && q === 0) problems.push('invalid_quantity: an adjust of 0 changes nothing');
  return problems;
}

export class PartnerStock {
  constructor(
    private readonly rt: Pick<ServiceRuntime, 'schemas' | 'publisher' | 'kafka' | 'metrics'>,
    private readonly config: Pick<ConfigRepository, 'location'>,
    private readonly stock: Pick<StockService, 'operate'>,
  ) {}

  /**
   * The partners' stock-adjustment topics on the broker, each with its value subject registered
   * (`<topic>-value`, the family's schema) so the partner can encode with it and refused records can
   * be re-encoded for their dead letter. Empty when no partner is set up.
   */
  async partnerTopics(): Promise<string[]> {
    const topics = await partnerTopicsOn(this.rt.kafka, PARTNER_STOCK_FAMILY);
    await this.rt.schemas.register(topics.map((name) => ({ ...topicSpec(PARTNER_STOCK_FAMILY), name })));
    return topics;
  }

  async handle(rec: PartnerStockAdjustment, ctx: EventContext): Promise<void> {
    const tooLarge = partnerStockTooLarge(rec, ctx.record?.value?.length);
    if (tooLarge.length) return this.refuse(rec, ctx, 'too_large', tooLarge);
    if (!isSafeCorrelationId(rec.envelope.correlationId))
      return this.refuse(rec, ctx, 'invalid', [
        'invalid_correlation_id: at most 128 letters, digits and ._:- (it is copied into events and headers)',
      ]);
    const partner = partnerOfTopic(ctx.topic)?.partner;
    if (partner !== rec.partnerChannel)
      return this.refuse(rec, ctx, 'partner_mismatch', [
        partner
          ? `partner_mismatch: a record on ${ctx.topic} speaks for ${partner}, not ${rec.partnerChannel}`
          : `partner_mismatch: ${ctx.topic} is no partner's topic; partners write partner.<code>.stock-adjustment`,
      ]);
    ctx.channel = partner;
    const location = await this.config.location(rec.location);
    if (!location || location.kind !== 'dropship' || location.partner !== partner)
      return this.refuse(rec, ctx, 'location_not_partners', [
        !location
          ? `location_not_partners: there is no location ${rec.location}`
          : location.kind !== 'dropship'
            ? `location_not_partners: ${rec.location} is a ${location.kind}, not a drop-ship location`
            : `location_not_partners: ${rec.location} is a drop-ship location of ${location.partner ?? 'no partner'}, not of ${partner}`,
      ]);
    const invalid = partnerStockValueProblems(rec);
    if (invalid.length) return this.refuse(rec, ctx, 'invalid', invalid);

    const op: StockOp =
      rec.mode === 'set'
        ? { kind: 'set', location: rec.location, bucket: 'onHand', quantity: rec.quantity }
        : { kind: 'adjust', location: rec.location, bucket: 'onHand', delta: rec.quantity };
    try {
      const done = await this.stock.operate(rec.sku, {
        op,
        provenance: {
          operation: 'partner',
          actor: `partner:${partner}`,
          actorKind: 'partner',
          reason: rec.reason,
          reference: rec.reference ?? null,
          channel: partner,
        },
        origin: { correlationId: rec.envelope.correlationId, sourceChannel: partner },
        opKey: `partner:${partner}:${rec.envelope.eventId}`,
      });
      if (done.replayed) ctx.skip();
    } catch (err) {
      // the database or broker, or a configuration this instance read before the location existed: retried
      if (!(err instanceof AppError) || err.code === 'unknown_location') throw err;
      await this.refuse(rec, ctx, err.code, [`${err.code}: ${err.message}`]);
    }
  }

  /** Sends a refused record to its topic's .dlq at once, as the partner wrote it (reason: a refusal, or the stock's error code). */
  private refuse(rec: PartnerStockAdjustment, ctx: EventContext, reason: string, problems: string[]): Promise<void> {
    return deadLetterNow(this.rt, ctx, {
      reason,
      problems,
      fallbackValue: () => this.rt.schemas.encode(ctx.topic, rec),
      // the record's strings are bounded once it is not too large
      log: reason === 'too_large' ? {} : { partnerChannel: rec.partnerChannel, location: rec.location, sku: rec.sku },
    });
  }
}
