/**
 * Stage 4, retry and dead-letter: where a record goes when it cannot be handled.
 *
 * Guarantees: a record whose handler failed every in-process attempt goes to `<topic>.retry` once,
 * tagged with this group, its attempt count and the time before which it must not be tried again;
 * a record that failed again from there, or that could not be read as an event of its topic, goes to
 * `<topic>.dlq` with the reason in `x-dlq-reason`. Both
 * copies keep the original key, bytes and headers (so a fixed consumer or an operator can replay
 * them as they were) and add why they moved. The partition keeps going either way.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { deadLetterTopic, retryTopic } from '@omnimall/contracts';
import type { Logger } from '../../observability/logger';
import type { ServiceMetrics } from '../../observability/metrics';
import type { EventPublisher } from '../../kafka/publisher';
import type { RefusalReason } from '../topic-schemas';
import { errorText } from './types';

/** Why a record was dead-lettered: it could not be read as an event of its topic, or its handler kept failing. */
export type DeadLetterReason = RefusalReason | 'handler_failed';

/** The headers of a record's copy on the retry topic. */
export function retryHeaders(message: KafkaMessage, group: string, attempt: number, notBefore: number, err: unknown): IHeaders {
  return {
    ...message.headers,
    'x-consumer': group,
    'x-attempt': String(attempt),
    'x-not-before': String(notBefore),
    'x-error': errorText(err),
  };
}

/** The headers of a record's copy on the dead-letter topic. */
export function deadLetterHeaders(
  message: KafkaMessage,
  group: string,
  source: { topic: string; partition: number },
  reason: DeadLetterReason,
  err: unknown,
  at = new Date(),
): IHeaders {
  return {
    ...message.headers,
    'x-consumer': group,
    'x-dlq-reason': reason,
    'x-error': errorText(err),
    'x-error-class': err instanceof Error ? err.name : 'Error',
    'x-source-topic': source.topic,
    'x-source-partition': String(source.partition),
    'x-source-offset': message.offset,
    'x-failed-at': at.toISOString(),
  };
}

export class FailureRoutes {
  constructor(
    private readonly deps: { publisher: EventPublisher; metrics: ServiceMetrics; logger: Logger },
    private readonly group: string,
    private readonly retryDelayMs: number,
  ) {}

  /** Sends the record to `<topic>.retry`, to be tried once more after `retryDelayMs`. */
  async retry(topic: string, message: KafkaMessage, attempt: number, err: unknown): Promise<void> {
    const headers = retryHeaders(message, this.group, attempt, Date.now() + this.retryDelayMs, err);
    await this.deps.publisher.sendRaw(retryTopic(topic), [{ key: message.key, value: message.value, headers }]);
  }

  /** Sends the record to `<topic>.dlq` with its original bytes and headers and the error. */
  async deadLetter(topic: string, partition: number, message: KafkaMessage, reason: DeadLetterReason, err: unknown): Promise<void> {
    const headers = deadLetterHeaders(message, this.group, { topic, partition }, reason, err);
    await this.deps.publisher.sendRaw(deadLetterTopic(topic), [{ key: message.key, value: message.value, headers }]);
    this.deps.metrics.deadLettered.labels(topic, this.group, reason).inc();
    this.deps.logger.error('record dead-lettered', { topic, partition, offset: message.offset, reason, err: errorText(err) });
  }
}
