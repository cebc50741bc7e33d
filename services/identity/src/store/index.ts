import type { ServiceRuntime } from '@omnimall/service-kit';
import { channelRuleRepository, type ChannelRuleRepository } from './channel-rules';
import { customerEmailRepository, customerRepository, type CustomerEmailRepository, type CustomerRepository } from './customers';
import { linkRepository, type LinkRepository } from './links';
import { loginAttemptRepository, type LoginAttemptRepository } from './login-attempts';
import { ensureIndexes, identityModels } from './models';
import {
  complianceRecordRepository,
  dataRequestRepository,
  mergeRepository,
  type ComplianceRecordRepository,
  type DataRequestRepository,
  type MergeRepository,
} from './records';
import { sessionRepository, type SessionRepository } from './sessions';
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
}

/**
 * Builds the repositories on the runtime's database, registers the outbox-carrying collections for
 * the relay's recovery poll, creates the indexes the conflict checks rely on, and runs the one-time
 * e-mail backfill (marked done in `migrations`).
 */
export async function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): Promise<IdentityStore> {
  const m = identityModels(runtime.db, runtime.outbox);
  await ensureIndexes(m);
  const store: IdentityStore = {
    customers: customerRepository(m.Customer, runtime.outbox),
    emails: customerEmailRepository(runtime.db, m.Customer),
    links: linkRepository(m.LinkedIdentity),
    sessions: sessionRepository(m.Session),
    staff: staffRepository(m.Staff),
    loginAttempts: loginAttemptRepository(m.LoginAttempt),
    channelRules: channelRuleRepository(m.ChannelRule),
    merges: mergeRepository(m.Merge),
    complianceRecords: complianceRecordRepository(m.ComplianceRecord, runtime.outbox),
    dataRequests: dataRequestRepository(m.DataRequest, runtime.outbox),
  };
  await store.emails.backfillOnce();
  return store;
}
