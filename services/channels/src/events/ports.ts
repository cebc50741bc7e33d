/** What the handlers are given: the parts of the application they call, as interfaces. */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { DeliverableEvent, Endpoint } from '../domain/delivery';

/** The webhook delivery's queue. */
export interface DeliveryQueue {
  /** Queues the event for every active endpoint of its channel subscribed to its type; idempotent per event. */
  enqueue(ev: DeliverableEvent): Promise<number>;
  /** Active endpoints by channel. */
  activeEndpoints(): Promise<Map<string, Endpoint[]>>;
}

export type Handler<T extends keyof TopicValues> = (ev: TopicValues[T], ctx: EventContext) => Promise<void>;
