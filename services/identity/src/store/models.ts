import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, outboxPaths, type Outbox } from '@omnimall/service-kit';
import type { CustomerStanding, LinkedIdentityType } from '@omnimall/contracts';

/**
 * The identity database. Documents stay flat and small (FerretDB): one customer per document with
 * its consents inline, linked identities and refresh-token families in their own collections keyed
 * so that a unique `_id` insert is the atomic conflict check.
 */
export interface ConsentEntry {
  granted: boolean;
  at: Date;
  source: string;
}
export type ConsentPurpose = 'marketing' | 'analytics' | 'personalisation';
export const CONSENT_PURPOSES: readonly ConsentPurpose[] = ['marketing', 'analytics', 'personalisation'];

export interface CustomerDoc {
  _id: string;
  email: string;
  passwordHash: string | null;
  displayName: string | null;
  status: CustomerStanding;
  reason: string | null;
  until: number | null;
  loyaltyTier: string;
  verified: boolean;
  dataRegion: string;
  registeredChannel: string | null;
  /** channel code → purpose → consent. */
  consents: Record<string, Partial<Record<ConsentPurpose, ConsentEntry>>>;
  mergedInto: string | null;
  erasedAt: Date | null;
  /** Salted digest of the erased email: evidence that lets compliance confirm an erasure. */
  erasedEmailDigest: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface LinkedIdentityDoc {
  /** `<type>:<externalId>`: the unique insert is the conflict check. */
  _id: string;
  type: LinkedIdentityType;
  externalId: string;
  customerId: string;
  channel: string;
  linkedAt: Date;
  linkedBy: string;
}

export interface MergeDoc {
  _id: string;
  sourceCustomerId: string;
  targetCustomerId: string;
  mergedBy: string;
  reason: string;
  /** What justified the merge, as the admin sent it (kept as JSON text: arbitrary keys are safe to store). */
  evidenceJson: string;
  movedIdentities: string[];
  sourceSnapshot: Record<string, unknown>;
  at: Date;
}

export interface SessionDoc {
  /** The refresh-token family id (the `sid` claim). */
  _id: string;
  subject: string;
  kind: 'customer' | 'staff';
  channel: string | null;
  currentHash: string;
  usedHashes: string[];
  revokedAt: Date | null;
  revokedReason: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  address: string | null;
}

export interface StaffDoc {
  _id: string;
  email: string;
  passwordHash: string;
  roles: string[];
  channels: string[];
  createdBy: string;
  createdAt: Date;
}

export interface LoginAttemptDoc {
  /** `account:<email>` or `address:<ip>`. */
  _id: string;
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

/** What identity knows about each channel's data-residency rule (projection of channels.channel-changed). */
export interface ChannelRuleDoc {
  _id: string;
  allowedDataRegions: string[];
  state: string;
  version: number;
  appliedEvents: string[];
}

export interface ComplianceRecordDoc {
  _id: string;
  rule: string;
  customerId: string | null;
  channel: string | null;
  dataRegion: string | null;
  allowedRegions: string[];
  action: string;
  actor: string | null;
  at: Date;
}

export interface DataRequestDoc {
  _id: string;
  customerId: string;
  kind: 'export' | 'erasure';
  requestedBy: string;
  at: Date;
}

const consentsType = { type: Object, default: {} };

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
  Customer: Model<CustomerDoc>;
  CustomerEmail: Model<CustomerEmailDoc>;
  LinkedIdentity: Model<LinkedIdentityDoc>;
  Merge: Model<MergeDoc>;
  Session: Model<SessionDoc>;
  Staff: Model<StaffDoc>;
  LoginAttempt: Model<LoginAttemptDoc>;
  ChannelRule: Model<ChannelRuleDoc>;
  ComplianceRecord: Model<ComplianceRecordDoc>;
  DataRequest: Model<DataRequestDoc>;
}

function model<T>(db: Connection, name: string, schema: Schema<T>, collection: string): Model<T> {
  return (db.models[name] as Model<T>) ?? db.model<T>(name, schema, collection);
}

export function identityModels(db: Connection, outbox: Outbox): IdentityModels {
  const opts = { versionKey: false } as const;
  const customer = new Schema<CustomerDoc>(
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
      consents: consentsType,
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
  const linked = new Schema<LinkedIdentityDoc>(
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
  const merge = new Schema<MergeDoc>(
    {
      _id: String,
      sourceCustomerId: { type: String, index: true },
      targetCustomerId: { type: String, index: true },
      mergedBy: String,
      reason: String,
      evidenceJson: { type: String, default: '{}' },
      movedIdentities: [String],
      sourceSnapshot: { type: Object, default: {} },
      at: Date,
      ...outboxPaths,
    },
    { ...opts, minimize: false },
  );
  const session = new Schema<SessionDoc>(
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
  const staff = new Schema<StaffDoc>(
    {
      _id: String,
      email: { type: String, required: true, unique: true },
      passwordHash: String,
      roles: [String],
      channels: [String],
      createdBy: String,
      createdAt: Date,
    },
    opts,
  );
  const attempt = new Schema<LoginAttemptDoc>({ _id: String, failures: Number, windowStart: Number, lockedUntil: Number }, opts);
  const channelRule = new Schema<ChannelRuleDoc>(
    { _id: String, allowedDataRegions: [String], state: String, version: Number, ...appliedEventsPath },
    opts,
  );
  const compliance = new Schema<ComplianceRecordDoc>(
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
  const dataRequest = new Schema<DataRequestDoc>(
    { _id: String, customerId: { type: String, index: true }, kind: String, requestedBy: String, at: Date, ...outboxPaths },
    opts,
  );

  return {
    Customer: outbox.track(model(db, 'Customer', customer, 'customers')),
    CustomerEmail: model(db, 'CustomerEmail', new Schema<CustomerEmailDoc>({ _id: String, customerId: String }, opts), 'customer_emails'),
    LinkedIdentity: model(db, 'LinkedIdentity', linked, 'linked_identities'),
    Merge: outbox.track(model(db, 'Merge', merge, 'merges')),
    Session: model(db, 'Session', session, 'sessions'),
    Staff: model(db, 'Staff', staff, 'staff'),
    LoginAttempt: model(db, 'LoginAttempt', attempt, 'login_attempts'),
    ChannelRule: model(db, 'ChannelRule', channelRule, 'channel_rules'),
    ComplianceRecord: outbox.track(model(db, 'ComplianceRecord', compliance, 'compliance_records')),
    DataRequest: outbox.track(model(db, 'DataRequest', dataRequest, 'data_requests')),
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
  ]);
}

/** Adds the email documents of customers registered before they existed (idempotent). */
export async function backfillCustomerEmails(m: IdentityModels): Promise<number> {
  const customers = await m.Customer.find({ erasedAt: null }, { email: 1 }).lean();
  if (!customers.length) return 0;
  const res = await m.CustomerEmail.bulkWrite(
    customers.map((c) => ({
      updateOne: { filter: { _id: c.email }, update: { $setOnInsert: { customerId: c._id } }, upsert: true },
    })),
    { ordered: false },
  );
  return res.upsertedCount;
}

const EMAIL_BACKFILL = 'customer-emails-v1';

/**
 * Runs the backfill once per database, not at every start: it reads every customer (on FerretDB a
 * query by anything but `_id` reads them all anyway). A `migrations` document marks it done.
 */
export async function backfillCustomerEmailsOnce(m: IdentityModels): Promise<void> {
  const migrations = m.Customer.db.collection<{ _id: string; at: Date; added: number }>('migrations');
  if (await migrations.findOne({ _id: EMAIL_BACKFILL })) return;
  const added = await backfillCustomerEmails(m);
  await migrations.updateOne({ _id: EMAIL_BACKFILL }, { $setOnInsert: { at: new Date(), added } }, { upsert: true });
}
