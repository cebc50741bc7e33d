/**
 * The Kafka client of a service: one per process, named after the instance, its log routed into the
 * service's logger (warnings and errors only).
 *
 * Retries: a broker call (and the connection pool's reconnects, which every producer and admin of
 * this client goes through) is retried from 100 ms on, each wait capped at 1 s, for about 28 s: a
 * broker restart is ridden out instead of failing the call, and the next attempt after the broker is
 * back is at most a second away. Uncapped (the kafkajs default, 30 s) the waits grew to 3.2 and 6.4 s,
 * and the cart's outbox published what was written during a broker restart 7.9 s after the broker
 * was ready (the chaos run). The publisher's producer retries on its own as well (kafka/publisher).
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
    retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 30 },
    logCreator:
      () =>
      ({ level, log }) => {
        if (level <= logLevel.WARN) logger.warn(`kafkajs: ${log.message}`, { namespace: log.namespace });
      },
  });
}
