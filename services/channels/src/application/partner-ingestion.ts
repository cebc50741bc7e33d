/**
 * Partner ingestion: records partner systems produce on partner.order-status are validated, their
 * partner ids mapped to global ids, and published as channels.partner-order-status. What is invalid
 * goes to partner.order-status.dlq at once (no retry can fix it), with the reasons in x-error.
 */
import { deadLetterTopic, type TopicValues } from '@omnimall/contracts';
import { NotFoundError, type EventContext, type ServiceRuntime } from '@omnimall/service-kit';
import { partnerOrderProblems, type PartnerOrder } from '../domain/partner';
import { partnerOrderStatusMapped } from '../events/out/channels.partner-order-status';
import type { ChannelRepository, PartnerIdRepository, PartnerOrderRepository } from '../store';
import { channelNotFound } from './channel-service';

type PartnerOrderStatus = TopicValues['partner.order-status'];

/** What partner ingestion reads and writes. */
export interface PartnerStores {
  channels: ChannelRepository;
  partnerIds: PartnerIdRepository;
  partnerOrders: PartnerOrderRepository;
}

export class PartnerIngestion {
  constructor(
    private readonly rt: Pick<ServiceRuntime, 'schemas' | 'publisher'>,
    private readonly store: PartnerStores,
  ) {}

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
    const channel = await this.store.channels.partnerViewOf(rec.partnerChannel);
    const problems = partnerOrderProblems(rec, channel);
    let customerId: string | null = null;
    if (!problems.length) {
      customerId = await this.store.partnerIds.customerOf(rec.partnerChannel, rec.partnerCustomerId);
      if (!customerId)
        problems.push(`unknown_partner_customer: ${rec.partnerCustomerId} is not mapped to a global customer on ${rec.partnerChannel}`);
    }
    if (problems.length || !customerId) {
      await this.deadLetter(rec, ctx, problems);
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
   * An invalid record goes to partner.order-status.dlq at once, re-encoded with its own schema:
   * channels owns that partner contract, which is why the manifest lists partner.order-status
   * under produces (the runtime registers the schema it encodes with).
   */
  private async deadLetter(rec: PartnerOrderStatus, ctx: EventContext, problems: string[]): Promise<void> {
    const value = await this.rt.schemas.encode('partner.order-status', rec);
    await this.rt.publisher.sendRaw(deadLetterTopic('partner.order-status'), [
      {
        key: rec.envelope.aggregateId,
        value,
        headers: {
          eventId: rec.envelope.eventId,
          correlationId: rec.envelope.correlationId,
          type: rec.envelope.type,
          producer: rec.envelope.producer,
          'x-consumer': ctx.consumer,
          'x-dlq-reason': 'invalid',
          'x-error': problems.join('; '),
          'x-source-topic': ctx.topic,
          'x-source-partition': String(ctx.partition),
          'x-source-offset': ctx.offset,
          'x-failed-at': new Date().toISOString(),
        },
      },
    ]);
    ctx.logger.warn('partner record dead-lettered', { problems, partnerChannel: rec.partnerChannel, partnerOrderId: rec.partnerOrderId });
  }
}
