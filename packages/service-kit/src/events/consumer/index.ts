/** The event consumer (see consumer.ts for its pipeline of stages). */
export { EventConsumer } from './consumer';
export { deadLetterNow, DLQ_VALUE_MAX_BYTES, type DeadLetterNow } from './dead-letter-now';
export type { ConsumerDeps, ConsumerOptions, EventContext, EventHandler, HandlerMap, Outcome } from './types';
export { consumerConfig } from './settings';
