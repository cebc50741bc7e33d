import type { ServiceRuntime } from '@omnimall/service-kit';
import { MongoCartClaims, MongoOrderRepository, type CartClaims, type OrderRepository } from './orders';
import { projections, type Projections } from './projections';

export type { CartClaims, OrderQuery, OrderRepository, OrderWrite } from './orders';
export type { Projections } from './projections';

/** The orders database, one repository per aggregate (store/<aggregate>.ts). */
export interface OrdersStore {
  orders: OrderRepository;
  claims: CartClaims;
  projections: Projections;
}

/** Builds the repositories on the runtime's database; orders are tracked by the outbox `exclusive` and indexed by saga deadline, customer, channel and age. */
export async function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): Promise<OrdersStore> {
  return {
    orders: await MongoOrderRepository.create(runtime.db, runtime.outbox),
    claims: MongoCartClaims.of(runtime.db),
    projections: projections(runtime.db),
  };
}
