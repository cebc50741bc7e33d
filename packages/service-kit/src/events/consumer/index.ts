/** The event consumer (see consumer.ts for its pipeline of stages). */
export { EventConsumer } from './consumer';
export type { ConsumerDeps, ConsumerOptions, EventContext, EventHandler, HandlerMap, Outcome } from './types';
