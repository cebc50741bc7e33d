import type { Model, UpdateQuery } from 'mongoose';
import type { Outbox, OutgoingEvent } from '@omnimall/service-kit';
import type { StaffAccount } from '../domain/staff';
import { inserted } from './models';

/**
 * Staff accounts; the unique email index decides between two creations of one email. Changes of
 * roles, channels or the disabled flag go through the outbox with their StaffChanged event.
 */
export interface StaffRepository {
  get(id: string): Promise<StaffAccount | null>;
  byEmail(email: string): Promise<StaffAccount | null>;
  /** Inserts an account; false when the email is taken. */
  create(account: StaffAccount): Promise<boolean>;
  /** Reads, decides and writes if unchanged (else decides again); the account after the change. */
  transact(
    id: string,
    decide: (current: StaffAccount | null) => { set: Partial<StaffAccount>; events: readonly OutgoingEvent[] } | null,
  ): Promise<StaffAccount | null>;
  /** Sets the password hash, with the events of the change (revocations) in the same write. */
  setPasswordHash(id: string, passwordHash: string, events?: readonly OutgoingEvent[]): Promise<void>;
}

export function staffRepository(Staff: Model<StaffAccount>, outbox: Outbox): StaffRepository {
  return {
    async get(id) {
      return (await Staff.findById(id, { outbox: 0 }).lean()) as StaffAccount | null;
    },
    async byEmail(email) {
      return (await Staff.findOne({ email }, { outbox: 0 }).lean()) as StaffAccount | null;
    },
    create(account) {
      return inserted(() => Staff.create(account));
    },
    async transact(id, decide) {
      const { doc } = await outbox.transact(Staff, id, (current) => {
        const change = decide(current as StaffAccount | null);
        return change && { update: { $set: change.set } as UpdateQuery<StaffAccount>, events: change.events };
      });
      return doc as StaffAccount | null;
    },
    async setPasswordHash(id, passwordHash, events = []) {
      await outbox.update(Staff, id, { $set: { passwordHash, updatedAt: new Date() } }, events);
    },
  };
}
