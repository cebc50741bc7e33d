import type { Model } from 'mongoose';
import type { LinkedIdentity } from '../domain/customer';
import { inserted } from './models';

/** Linked identifiers, keyed `<type>:<externalId>`: the unique insert decides who holds one. */
export interface LinkRepository {
  get(key: string): Promise<LinkedIdentity | null>;
  /** Inserts a link; false when the identifier is linked already (to anyone). */
  insert(link: LinkedIdentity): Promise<boolean>;
  ofCustomer(customerId: string): Promise<LinkedIdentity[]>;
  /** Points every link of `from` at `to`; the keys it moved. */
  repoint(from: string, to: string): Promise<string[]>;
  removeOfCustomer(customerId: string): Promise<void>;
}

export function linkRepository(LinkedIdentity: Model<LinkedIdentity>): LinkRepository {
  return {
    async get(key) {
      return (await LinkedIdentity.findById(key).lean()) as LinkedIdentity | null;
    },
    insert(link) {
      return inserted(() => LinkedIdentity.create(link));
    },
    async ofCustomer(customerId) {
      return (await LinkedIdentity.find({ customerId }).lean()) as LinkedIdentity[];
    },
    async repoint(from, to) {
      const moved = await LinkedIdentity.find({ customerId: from }, { _id: 1 }).lean();
      await LinkedIdentity.updateMany({ customerId: from }, { $set: { customerId: to } });
      return moved.map((l) => l._id);
    },
    async removeOfCustomer(customerId) {
      await LinkedIdentity.deleteMany({ customerId });
    },
  };
}
