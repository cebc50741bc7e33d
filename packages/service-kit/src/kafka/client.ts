/**
 * The Kafka client of a service: one per process, named after the instance, its log routed into the
 * service's logger (warnings and errors only).
 *
 * Retries: a broker call is retried 8 times from 100 ms on, so a broker restart of a few seconds
 * is ridden out instead of failing the call; the producer (publisher.ts) retries on its own, without
 * limit.
 *
 * Security: the TLS and SASL settings of the service's configuration (kafka/security.ts) apply to
 * this client and so to every producer, consumer and admin made from it.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from '../observability/logger';
import { kafkaConnectionOptions, type KafkaSecurity } from './security';

export function createKafka(clientId: string, brokers: string[], logger: Logger, security?: KafkaSecurity): Kafka {
  return new Kafka({
    clientId,
    brokers,
    ...kafkaConnectionOptions(security),
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 100, retries: 8 },
    logCreator:
      () =>
      ({ level, log }) => {
        if (level <= logLevel.WARN) logger.warn(`kafkajs: ${log.message}`, { namespace: log.namespace });
      },
  });
}
