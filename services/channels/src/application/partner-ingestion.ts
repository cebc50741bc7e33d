/**
 * Partner ingestion: each partner system produces on its own topic, partner.<code>.order-status, which
 * only its Kafka principal may write (ACLs of the topics step). Records are validated, their partner
 * ids mapped to global ids, and published as channels.partner-order-status.
 *
 * Guarantees: the partner channel a record speaks for is the topic it was read from, never its body —
 * a record whose `partnerChannel` names another channel is refused (`partner_mismatch`), so partner A
 * cannot post as partner B. What is refused or invalid goes to that topic's .dlq at once (no retry can
 * fix it) as the bytes the partner wrote, with the reason in x-dlq-reason and the details in x-error.
 *
 * No partner record can stop channels' publishing: sizes are checked before anything else — a record
 * over PARTNER_RECORD_MAX_BYTES or with a string over its bound (domain/partner.ts) is dead-lettered
 * with `too_large` naming the field, and a correlation id that is not a safe one (the kit's pattern)
 * is `invalid` — so what is mapped and published carries only bounded strings. The dead letter itself
 * is bounded too: its headers copy a partner's string only within its bound (the correlation id only
 * when safe), and bytes too large to be re-published whole (over the kit's DLQ_VALUE_MAX_BYTES) are
 * left out (`x-value-omitted`; the source topic, partition and offset headers say where they are).
 */
import { partnerOfTopic, topicSpec, type TopicValues } from '@omnimall/contracts';
import {
  deadLetterNow,
  isSafeCorrelationId,
  NotFoundError,
  partnerTopicsOn,
  type EventContext,
  type ServiceRuntime,
} from '@omnimall/service-kit';
import { clipped, partnerOrderProblems, partnerRecordTooLarge, type PartnerOrder } from '../domain/partner';
import { partnerOrderStatusMapped } from '../events/out/channels.partner-order-status';
import type { ChannelRepository, PartnerIdRepository, PartnerOrderRepository } from '../store';
import { channelNotFound } from './channel-service';

type PartnerOrderStatus = TopicValues['partner.order-status'];

/** The per-partner family channels ingests. */
export const PARTNER_ORDER_FAMILY = 'partner.order-status';

type DeadLetterReason = 'invalid' | 'partner_mismatch' | 'too_large';

/** What partner ingestion reads and writes. */
export interface PartnerStores {
  channels: ChannelRepository;
  partnerIds: PartnerIdRepository;
  partnerOrders: PartnerOrderRepository;
}

export class PartnerIngestion {
  constructor(
    private readonly rt: Pick<ServiceRuntime, 'schemas' | 'publisher' | 'kafka' | 'metrics'>,
    private readonly store: PartnerStores,
  ) {}

  /**
   * The partners' order-status topics on the broker, each with its value subject registered
   * (`<topic>-value`, the family's schema) so the partner can encode with it and invalid records can
   * be dead-lettered. Empty when no partner is set up.
   */
  async partnerTopics(): Promise<string[]> {
    const topics = await partnerTopicsOn(this.rt.kafka, PARTNER_ORDER_FAMILY);
    await this.rt.schemas.register(topics.map((name) => ({ ...topicSpec(PARTNER_ORDER_FAMILY), name })));
    return topics;
  }

  /** Registers which global customer a partner's customer id stands for. */
  async mapCustomer(channel: string, partnerCustomerId: string, customerId: string): Promise<void> {
    if (!(await this.store.channels.exists(channel))) throw channelNotFound(channel);
    await this.store.partnerIds.mapCustomer(channel, partnerCustomerId, customerId);
  }

  async customerOf(channel: string, partnerCustomerId: string): Promise<string> {
    const id = await this.store.partnerIds.customerOf(channel, partnerCustomerId);
    if (!id)
      throw new NotFoundError(
        'partner_customer_not_mapped',
        `partner customer ${partnerCustomerId} is not mapped on ${channel}`,
        'PUT /channels/{code}/partner-customers/{partnerCustomerId}',
      );
    return id;
  }

  async handle(rec: PartnerOrderStatus, ctx: EventContext): Promise<void> {
    const tooLarge = partnerRecordTooLarge(rec, ctx.record?.value?.length);
    if (tooLarge.length) {
      await this.deadLetter(rec, ctx, 'too_large', tooLarge);
      return;
    }
    if (!isSafeCorrelationId(rec.envelope.correlationId)) {
      const problem = 'invalid_correlation_id: at most 128 letters, digits and ._:- (it is copied into events and headers)';
      await this.deadLetter(rec, ctx, 'invalid', [problem]);
      return;
    }
    const partner = partnerOfTopic(ctx.topic)?.partner;
    if (partner !== rec.partnerChannel) {
      const problem = partner
        ? `partner_mismatch: a record on ${ctx.topic} speaks for ${partner}, not ${rec.partnerChannel}`
        : `partner_mismatch: ${ctx.topic} is no partner's topic; partners write partner.<code>.order-status`;
      await this.deadLetter(rec, ctx, 'partner_mismatch', [problem]);
      return;
    }
    const channel = await this.store.channels.partnerViewOf(rec.partnerChannel);
    const problems = partnerOrderProblems(rec, channel);
    let customerId: string | null = null;
    if (!problems.length) {
      customerId = await this.store.partnerIds.customerOf(rec.partnerChannel, rec.partnerCustomerId);
      if (!customerId)
        problems.push(`unknown_partner_customer: ${rec.partnerCustomerId} is not mapped to a global customer on ${rec.partnerChannel}`);
    }
    if (problems.length || !customerId) {
      await this.deadLetter(rec, ctx, 'invalid', problems);
      return;
    }
    ctx.channel = rec.partnerChannel;
    const orderId = await this.store.partnerIds.orderIdOf(rec.partnerChannel, rec.partnerOrderId);
    const eventId = rec.envelope.eventId;
    await this.store.partnerOrders.transact(orderId, (cur) => {
      if (cur?.sourceEventIds.includes(eventId)) return null; // replay
      if (cur && cur.statusAt.getTime() > rec.statusAt) return null; // an older status arriving late
      const order: Omit<PartnerOrder, 'sourceEventIds'> = {
        _id: orderId,
        channel: rec.partnerChannel,
        partnerOrderId: rec.partnerOrderId,
        customerId: customerId!,
        status: rec.status,
        currency: rec.currency,
        totalMinor: rec.totalMinor,
        statusAt: new Date(rec.statusAt),
        version: (cur?.version ?? 0) + 1,
      };
      const { _id: _ignored, ...set } = order;
      void _ignored;
      return { set, sourceEventId: eventId, events: [partnerOrderStatusMapped(order, rec)] };
    });
  }

  /**
   * A refused record goes to its topic's .dlq at once, as the partner wrote it (the kit's
   * deadLetterNow; re-encoded with the family's schema when the original bytes are not at hand:
   * channels owns that partner contract, which is why the manifest lists partner.order-status under produces).
   */
  private async deadLetter(rec: PartnerOrderStatus, ctx: EventContext, reason: DeadLetterReason, problems: string[]): Promise<void> {
    await deadLetterNow(this.rt, ctx, {
      reason,
      problems,
      fallbackValue: () => this.rt.schemas.encode(PARTNER_ORDER_FAMILY, rec),
      log: { partnerChannel: clipped(rec.partnerChannel), partnerOrderId: clipped(rec.partnerOrderId) },
    });
  }
}
