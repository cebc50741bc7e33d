/**
 * Stage 5, acknowledge: counts each record's outcome and reports it on `sync.applied`, which the
 * sync-monitor turns into propagation tracking and lag; a record of bulk work (header `lane: bulk`)
 * is acknowledged on `sync.applied.bulk` instead, with the same header, so that a bulk job's acks
 * form a lane of their own and never hold up those of everyday events.
 *
 * Guarantees: every record handled, skipped, retried or dead-lettered is counted
 * (omnimall_events_consumed_total) and, unless `acknowledge: false`, acknowledged once per outcome
 * with the time its effect committed. Acks are sent without holding up the partition, kept by the
 * publisher until sent (`keep`: a broker outage delays them, in order, never drops them; only an ack
 * the broker refuses for itself is lost, and logged) and linger a few milliseconds for company,
 * since the lag they report was stamped at the effect's commit. A record whose envelope could not be
 * read is acknowledged only when its headers name a well-formed event id; its correlation id and type
 * headers are copied only when safe (see envelope.ts).
 */
import type { KafkaMessage } from 'kafkajs';
import type { EventEnvelope } from '@omnimall/contracts';
import type { Logger } from '../../observability/logger';
import type { ServiceMetrics } from '../../observability/metrics';
import { headerString, laneOf, type EventPublisher, type Lane } from '../../kafka/publisher';
import { newEvent, safeCorrelationId, type OutgoingEvent } from '../envelope';
import { errorText, type Outcome } from './types';

/** How long an ack waits for other records to share its produce request (see EventPublisher). */
const ACK_LINGER_MS = 5;

export interface AckFacts {
  topic: string;
  eventId: string;
  type: string;
  occurredAt: number;
  correlationId: string;
  outcome: Outcome;
  attempt: number;
  channel: string | null;
  err?: unknown;
  /** When the effect committed; default now. */
  appliedAt?: number;
  /** The acked record's lane: `bulk` acks go to sync.applied.bulk. */
  lane?: Lane;
}

/** The ack topic of a record's lane. */
export const ackTopicOf = (lane: Lane | undefined): 'sync.applied' | 'sync.applied.bulk' =>
  lane === 'bulk' ? 'sync.applied.bulk' : 'sync.applied';

/** The sync.applied (or, for bulk work, sync.applied.bulk) event for one outcome of one record. */
export function ackEvent(service: string, consumer: string, f: AckFacts): OutgoingEvent<'sync.applied' | 'sync.applied.bulk'> {
  return newEvent(
    ackTopicOf(f.lane),
    {
      type: 'sync.applied',
      producer: service,
      aggregateId: f.eventId,
      aggregateVersion: f.attempt,
      correlationId: f.correlationId,
      sourceChannel: f.channel,
    },
    {
      ackedEventId: f.eventId,
      ackedType: f.type,
      topic: f.topic,
      consumer,
      channel: f.channel,
      occurredAt: f.occurredAt,
      appliedAt: f.appliedAt ?? Date.now(),
      outcome: f.outcome,
      attempt: f.attempt,
      error: f.err === undefined ? null : errorText(f.err),
    },
  );
}

export class Acknowledger {
  constructor(
    private readonly deps: { publisher: EventPublisher; metrics: ServiceMetrics; logger: Logger; service: string },
    private readonly group: string,
    private readonly opts: { acknowledge?: boolean; ackLingerMs?: number },
  ) {}

  /** Counts and acknowledges the outcome of a decoded record. */
  finish(
    topic: string,
    message: KafkaMessage,
    value: { envelope: EventEnvelope },
    outcome: Outcome,
    attempt: number,
    channel: string | null,
    err?: unknown,
    appliedAt?: number,
  ): void {
    this.deps.metrics.consumed.labels(topic, this.group, outcome).inc();
    if (this.opts.acknowledge === false) return;
    const e = value.envelope;
    const { eventId, type, occurredAt, correlationId } = e;
    this.send({
      topic,
      eventId,
      type,
      occurredAt,
      correlationId,
      outcome,
      attempt,
      channel,
      err,
      appliedAt,
      lane: laneOf(message.headers),
    });
  }

  /** Ack for a record whose envelope could not be read: ids come from the headers when present. */
  finishRaw(topic: string, message: KafkaMessage, outcome: Outcome, attempt: number, err: unknown): void {
    this.deps.metrics.consumed.labels(topic, this.group, outcome).inc();
    const eventId = headerString(message.headers, 'eventId');
    if (this.opts.acknowledge === false || !eventId || !/^[0-9a-f-]{36}$/i.test(eventId)) return;
    this.send({
      topic,
      eventId,
      type: safeCorrelationId(headerString(message.headers, 'type'), 'unknown'),
      occurredAt: Number(message.timestamp),
      correlationId: safeCorrelationId(headerString(message.headers, 'correlationId'), eventId),
      outcome,
      attempt,
      channel: null,
      err,
      lane: laneOf(message.headers),
    });
  }

  private send(facts: AckFacts): void {
    this.deps.publisher
      .publish([ackEvent(this.deps.service, this.group, facts)], {
        lingerMs: this.opts.ackLingerMs ?? ACK_LINGER_MS,
        keep: true,
        lane: facts.lane,
      })
      .catch((e) => this.deps.logger.warn('ack not sent', { eventId: facts.eventId, err: errorText(e) }));
  }
}
