/**
 * Partner ingestion: records partner systems produce on partner.order-status are validated, their
 * partner ids mapped to global ids, and published as channels.partner-order-status. What is invalid
 * goes to partner.order-status.dlq at once (no retry can fix it), with the reasons in x-error.
 */
import { randomUUID } from 'node:crypto';
import { deadLetterTopic, type TopicValues } from '@omnimall/contracts';
import { isDuplicateKeyError, newEvent, NotFoundError, type EventContext, type ServiceRuntime } from '@omnimall/service-kit';
import { partnerOrderProblems } from '../domain/partner';
import type { PartnerOrderDoc, Store } from '../store/models';
import { channelNotFound } from './channel-service';

type PartnerOrderStatus = TopicValues['partner.order-status'];

export class PartnerIngestion {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly store: Store,
  ) {}

  /** Registers which global customer a partner's customer id stands for. */
  async mapCustomer(channel: string, partnerCustomerId: string, customerId: string): Promise<void> {
    if (!(await this.store.channels.exists({ _id: channel }))) throw channelNotFound(channel);
    const _id = `${channel}:customer:${partnerCustomerId}`;
    await this.rt.locks.run(`partner_ids:${_id}`, () =>
      this.store.partnerIds.updateOne(
        { _id },
        { $set: { channel, kind: 'customer', partnerId: partnerCustomerId, globalId: customerId, createdAt: new Date() } },
        { upsert: true },
      ),
    );
  }

  async customerOf(channel: string, partnerCustomerId: string): Promise<string> {
    const m = await this.store.partnerIds.findById(`${channel}:customer:${partnerCustomerId}`).lean();
    if (!m)
      throw new NotFoundError(
        'partner_customer_not_mapped',
        `partner customer ${partnerCustomerId} is not mapped on ${channel}`,
        'PUT /channels/{code}/partner-customers/{partnerCustomerId}',
      );
    return m.globalId;
  }

  /** The global order id of a partner order, assigned on first sight (an insert on a unique id decides races). */
  private async orderIdOf(channel: string, partnerOrderId: string): Promise<string> {
    const _id = `${channel}:order:${partnerOrderId}`;
    const existing = await this.store.partnerIds.findById(_id).lean();
    if (existing) return existing.globalId;
    try {
      await this.store.partnerIds.create({
        _id,
        channel,
        kind: 'order',
        partnerId: partnerOrderId,
        globalId: `ord_${randomUUID()}`,
        createdAt: new Date(),
      });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    return (await this.store.partnerIds.findById(_id).lean())!.globalId;
  }

  async handle(rec: PartnerOrderStatus, ctx: EventContext): Promise<void> {
    const channel = await this.store.channels.findById(rec.partnerChannel, { kind: 1, state: 1, currencies: 1 }).lean();
    const problems = partnerOrderProblems(rec, channel);
    let customerId: string | null = null;
    if (!problems.length) {
      const m = await this.store.partnerIds.findById(`${rec.partnerChannel}:customer:${rec.partnerCustomerId}`).lean();
      if (m) customerId = m.globalId;
      else problems.push(`unknown_partner_customer: ${rec.partnerCustomerId} is not mapped to a global customer on ${rec.partnerChannel}`);
    }
    if (problems.length || !customerId) {
      await this.deadLetter(rec, ctx, problems);
      return;
    }
    ctx.channel = rec.partnerChannel;
    const orderId = await this.orderIdOf(rec.partnerChannel, rec.partnerOrderId);
    await this.rt.outbox.transact(this.store.partnerOrders, orderId, (cur: PartnerOrderDoc | null) => {
      if (cur?.sourceEventIds.includes(rec.envelope.eventId)) return null; // replay
      if (cur && cur.statusAt.getTime() > rec.statusAt) return null; // an older status arriving late
      const version = (cur?.version ?? 0) + 1;
      const set = {
        channel: rec.partnerChannel,
        partnerOrderId: rec.partnerOrderId,
        customerId: customerId!,
        status: rec.status,
        currency: rec.currency,
        totalMinor: rec.totalMinor,
        statusAt: new Date(rec.statusAt),
        version,
      };
      return {
        update: { $set: set, $push: { sourceEventIds: { $each: [rec.envelope.eventId], $slice: -50 } } },
        events: [
          newEvent(
            'channels.partner-order-status',
            {
              type: `partner_order.${rec.status}`,
              producer: 'channels',
              aggregateId: orderId,
              aggregateVersion: version,
              correlationId: rec.envelope.correlationId,
              sourceChannel: rec.partnerChannel,
            },
            {
              orderId,
              customerId: customerId!,
              channel: rec.partnerChannel,
              partnerOrderId: rec.partnerOrderId,
              status: rec.status,
              currency: rec.currency,
              totalMinor: rec.totalMinor,
              statusAt: rec.statusAt,
              sourceEventId: rec.envelope.eventId,
            },
          ),
        ],
      };
    });
  }

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
