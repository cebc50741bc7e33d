import type { Model } from 'mongoose';
import type { StaffAccount } from '../domain/staff';
import { inserted } from './models';

/** Staff accounts; the unique email index decides between two creations of one email. */
export interface StaffRepository {
  get(id: string): Promise<StaffAccount | null>;
  byEmail(email: string): Promise<StaffAccount | null>;
  /** Inserts an account; false when the email is taken. */
  create(account: StaffAccount): Promise<boolean>;
}

export function staffRepository(Staff: Model<StaffAccount>): StaffRepository {
  return {
    async get(id) {
      return (await Staff.findById(id).lean()) as StaffAccount | null;
    },
    async byEmail(email) {
      return (await Staff.findOne({ email }).lean()) as StaffAccount | null;
    },
    create(account) {
      return inserted(() => Staff.create(account));
    },
  };
}
