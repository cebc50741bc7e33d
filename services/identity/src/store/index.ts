import type { ServiceRuntime } from '@omnimall/service-kit';
import type { IdentitySettings } from '../settings';
import { channelRuleRepository, type ChannelRuleRepository } from './channel-rules';
import { customerEmailRepository, customerRepository, type CustomerEmailRepository, type CustomerRepository } from './customers';
import { linkRepository, type LinkRepository } from './links';
import { loginAttemptRepository, type LoginAttemptRepository } from './login-attempts';
import { ensureIndexes, identityModels } from './models';
import { passwordResetRepository, type PasswordResetRepository } from './password-resets';
import { addressLimiter, ensureRateLimitIndexes, pruneRateLimits, type AddressLimiter } from './rate-limits';
import {
  complianceRecordRepository,
  dataRequestRepository,
  mergeRepository,
  type ComplianceRecordRepository,
  type DataRequestRepository,
  type MergeRepository,
} from './records';
import { sessionRepository, type SessionRepository } from './sessions';
import { signingKeyModel, signingKeyRepository, type SigningKeyRepository } from './signing-keys';
import { staffRepository, type StaffRepository } from './staff';

/** Every repository of the identity database: the application's only way to it. */
export interface IdentityStore {
  customers: CustomerRepository;
  emails: CustomerEmailRepository;
  links: LinkRepository;
  sessions: SessionRepository;
  staff: StaffRepository;
  loginAttempts: LoginAttemptRepository;
  channelRules: ChannelRuleRepository;
  merges: MergeRepository;
  complianceRecords: ComplianceRecordRepository;
  dataRequests: DataRequestRepository;
  passwordResets: PasswordResetRepository;
  /** The token keys published on identity.signing-keys, as last announced. */
  signingKeys: SigningKeyRepository;
  /** Requests per client address: registrations and password-reset requests. */
  limits: { register: AddressLimiter; resetRequest: AddressLimiter };
  /** Deletes expired throttle counters, rate-limit counters and reset tokens; how many (the retention pass runs it). */
  prune(now?: Date): Promise<number>;
}

/**
 * Builds the repositories on the runtime's database, registers the outbox-carrying collections for
 * the relay's recovery poll, creates the indexes the conflict checks rely on, and runs the one-time
 * e-mail backfill (marked done in `migrations`).
 */
export async function createStore(
  runtime: Pick<ServiceRuntime, 'db' | 'outbox'>,
  limits: Pick<IdentitySettings, 'registerLimit' | 'resetRequestLimit'>,
): Promise<IdentityStore> {
  const m = identityModels(runtime.db, runtime.outbox);
  await Promise.all([ensureIndexes(m), ensureRateLimitIndexes(runtime.db)]);
  const loginAttempts = loginAttemptRepository(m.LoginAttempt);
  const passwordResets = passwordResetRepository(m.PasswordReset, runtime.outbox);
  const store: IdentityStore = {
    customers: customerRepository(m.Customer, runtime.outbox),
    emails: customerEmailRepository(runtime.db, m.Customer),
    links: linkRepository(m.LinkedIdentity),
    sessions: sessionRepository(m.Session),
    staff: staffRepository(m.Staff, runtime.outbox),
    loginAttempts,
    channelRules: channelRuleRepository(m.ChannelRule),
    merges: mergeRepository(m.Merge),
    complianceRecords: complianceRecordRepository(m.ComplianceRecord, runtime.outbox),
    dataRequests: dataRequestRepository(m.DataRequest, runtime.outbox),
    passwordResets,
    signingKeys: signingKeyRepository(signingKeyModel(runtime.db, runtime.outbox), runtime.outbox),
    limits: {
      register: addressLimiter(runtime.db, 'register', limits.registerLimit),
      resetRequest: addressLimiter(runtime.db, 'reset-request', limits.resetRequestLimit),
    },
    async prune(now = new Date()) {
      const counts = await Promise.all([loginAttempts.prune(now), pruneRateLimits(runtime.db, now), passwordResets.prune(now)]);
      return counts.reduce((a, b) => a + b, 0);
    },
  };
  await store.emails.backfillOnce();
  return store;
}
