import type { Model } from 'mongoose';
import type { AttemptState } from '../domain/login-throttle';
import type { LoginAttemptDoc } from './models';

/** Login-throttle counters by key (`account:<email>`, `address:<ip>`), written under the caller's lock. */
export interface LoginAttemptRepository {
  get(key: string): Promise<AttemptState | null>;
  put(key: string, state: AttemptState): Promise<void>;
  clear(key: string): Promise<void>;
}

export function loginAttemptRepository(LoginAttempt: Model<LoginAttemptDoc>): LoginAttemptRepository {
  return {
    async get(key) {
      return (await LoginAttempt.findById(key).lean()) as AttemptState | null;
    },
    async put(key, state) {
      await LoginAttempt.updateOne({ _id: key }, { $set: state }, { upsert: true });
    },
    async clear(key) {
      await LoginAttempt.deleteOne({ _id: key });
    },
  };
}
