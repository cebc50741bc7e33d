import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, isDuplicateKeyError, outboxPaths, type Outbox } from '@omnimall/service-kit';
import type { Customer, DataRequest, LinkedIdentity, MergeRecord } from '../domain/customer';
import type { AttemptCount } from '../domain/login-throttle';
import type { PasswordReset } from '../domain/password-reset';
import type { Session } from '../domain/refresh-tokens';
import type { ChannelRule, ComplianceRecord } from '../domain/residency';
import type { StaffAccount } from '../domain/staff';

/**
 * The identity database. Documents stay flat and small (FerretDB): one customer per document with
 * its consents inline, linked identities and refresh-token families in their own collections keyed
 * so that a unique `_id` insert is the atomic conflict check. Only the repositories of this folder
 * use these models.
 */

/** A login-attempt counter of one window: `_id` is `<key>#<window>` (see login-attempts.ts). */
export interface LoginAttemptDoc extends AttemptCount {
  _id: string;
  expiresAt: Date;
}

/** A channel rule plus the effect-once marks of the events applied to it. */
export interface ChannelRuleDoc extends ChannelRule {
  appliedEvents: string[];
}

/**
 * email → customer. A login finds the customer through this document (by `_id`): a query by email
 * reads every customer on FerretDB. Register claims it before creating the customer; the unique
 * index on customers.email still decides a race.
 */
export interface CustomerEmailDoc {
  _id: string;
  customerId: string;
}

export interface IdentityModels {
  Customer: Model<Customer>;
  LinkedIdentity: Model<LinkedIdentity>;
  Merge: Model<MergeRecord>;
  Session: Model<Session>;
  Staff: Model<StaffAccount>;
  LoginAttempt: Model<LoginAttemptDoc>;
  ChannelRule: Model<ChannelRuleDoc>;
  ComplianceRecord: Model<ComplianceRecord>;
  DataRequest: Model<DataRequest>;
  PasswordReset: Model<PasswordReset>;
}

/** Runs an insert; false when a unique index (the `_id` or an email) refuses it, as the conflict checks rely on. */
export async function inserted(insert: () => Promise<unknown>): Promise<boolean> {
  try {
    await insert();
    return true;
  } catch (err) {
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
}

function model<T>(db: Connection, name: string, schema: Schema<T>, collection: string): Model<T> {
  return (db.models[name] as Model<T>) ?? db.model<T>(name, schema, collection);
}

const opts = { versionKey: false } as const;

const customerSchema = (): Schema<Customer> =>
  new Schema<Customer>(
    {
      _id: String,
      email: { type: String, required: true, unique: true },
      passwordHash: { type: String, default: null },
      displayName: { type: String, default: null },
      status: { type: String, default: 'active' },
      reason: { type: String, default: null },
      until: { type: Number, default: null },
      loyaltyTier: { type: String, default: 'standard' },
      verified: { type: Boolean, default: false },
      dataRegion: { type: String, required: true },
      registeredChannel: { type: String, default: null },
      channels: { type: [String], default: [] },
      consents: { type: Object, default: {} },
      mergedInto: { type: String, default: null },
      erasedAt: { type: Date, default: null },
      erasedEmailDigest: { type: String, default: null },
      version: { type: Number, default: 1 },
      createdAt: Date,
      updatedAt: Date,
      ...outboxPaths,
    },
    opts,
  );

const linkSchema = (): Schema<LinkedIdentity> =>
  new Schema<LinkedIdentity>(
    {
      _id: String,
      type: String,
      externalId: String,
      customerId: { type: String, index: true },
      channel: String,
      linkedAt: Date,
      linkedBy: String,
    },
    opts,
  );

const mergeSchema = (): Schema<MergeRecord> =>
  new Schema<MergeRecord>(
    {
      _id: String,
      sourceCustomerId: { type: String, index: true },
      targetCustomerId: { type: String, index: true },
      mergedBy: String,
      reason: String,
      evidenceJson: { type: String, default: '{}' },
      movedIdentities: [String],
      sourceSnapshot: { type: Object, default: {} },
      snapshotPrunedAt: { type: Date, default: null },
      at: Date,
      ...outboxPaths,
    },
    { ...opts, minimize: false },
  );

const sessionSchema = (): Schema<Session> =>
  new Schema<Session>(
    {
      _id: String,
      subject: { type: String, index: true },
      kind: String,
      channel: { type: String, default: null },
      currentHash: String,
      usedHashes: { type: [String], default: [] },
      revokedAt: { type: Date, default: null },
      revokedReason: { type: String, default: null },
      createdAt: Date,
      lastUsedAt: Date,
      expiresAt: Date,
      address: { type: String, default: null },
    },
    opts,
  );

const staffSchema = (): Schema<StaffAccount> =>
  new Schema<StaffAccount>(
    {
      _id: String,
      email: { type: String, required: true, unique: true },
      passwordHash: String,
      roles: [String],
      channels: [String],
      disabled: { type: Boolean, default: false },
      version: { type: Number, default: 1 },
      createdBy: String,
      createdAt: Date,
      updatedAt: Date,
      ...outboxPaths,
    },
    opts,
  );

const complianceSchema = (): Schema<ComplianceRecord> =>
  new Schema<ComplianceRecord>(
    {
      _id: String,
      rule: String,
      customerId: { type: String, default: null, index: true },
      channel: { type: String, default: null },
      dataRegion: { type: String, default: null },
      allowedRegions: [String],
      action: String,
      actor: { type: String, default: null },
      at: Date,
      ...outboxPaths,
    },
    opts,
  );

export function identityModels(db: Connection, outbox: Outbox): IdentityModels {
  const attempt = new Schema<LoginAttemptDoc>({ _id: String, n: Number, last: Number, expiresAt: Date }, opts);
  const channelRule = new Schema<ChannelRuleDoc>(
    { _id: String, allowedDataRegions: [String], state: String, version: Number, ...appliedEventsPath },
    opts,
  );
  const dataRequest = new Schema<DataRequest>(
    { _id: String, customerId: { type: String, index: true }, kind: String, requestedBy: String, at: Date, ...outboxPaths },
    opts,
  );
  const passwordReset = new Schema<PasswordReset>(
    {
      _id: String,
      requestId: String,
      subject: { type: String, index: true },
      channel: { type: String, default: null },
      createdAt: Date,
      expiresAt: Date,
      usedAt: { type: Date, default: null },
      ...outboxPaths,
    },
    opts,
  );
  return {
    Customer: outbox.track(model(db, 'Customer', customerSchema(), 'customers')),
    LinkedIdentity: model(db, 'LinkedIdentity', linkSchema(), 'linked_identities'),
    Merge: outbox.track(model(db, 'Merge', mergeSchema(), 'merges')),
    Session: model(db, 'Session', sessionSchema(), 'sessions'),
    Staff: outbox.track(model(db, 'Staff', staffSchema(), 'staff')),
    LoginAttempt: model(db, 'LoginAttempt', attempt, 'login_attempts'),
    ChannelRule: model(db, 'ChannelRule', channelRule, 'channel_rules'),
    ComplianceRecord: outbox.track(model(db, 'ComplianceRecord', complianceSchema(), 'compliance_records')),
    DataRequest: outbox.track(model(db, 'DataRequest', dataRequest, 'data_requests')),
    PasswordReset: outbox.track(model(db, 'PasswordReset', passwordReset, 'password_resets')),
  };
}

/** Creates the unique indexes the conflict checks rely on (email uniqueness, one staff per email). */
export async function ensureIndexes(m: IdentityModels): Promise<void> {
  await Promise.all([
    m.Customer.createIndexes(),
    m.Staff.createIndexes(),
    m.LinkedIdentity.createIndexes(),
    m.Session.createIndexes(),
    m.Merge.createIndexes(),
    m.LoginAttempt.createIndexes(),
  ]);
}
