/**
 * A channel as this service holds it, and the records of its history. `_id` is the channel code:
 * the stored shape and the domain shape are one, so a read needs no mapping.
 */
import type { CredentialStatus } from './credentials';
import type { ChannelState, Checklists } from './lifecycle';
import type { ChannelKind } from './registry';

export interface Credential {
  keyId: string;
  hash: string;
  createdAt: Date;
  createdBy: string;
  revokedAt: Date | null;
  /**
   * The state last published on channels.channel-credentials, written with that event; absent on a
   * key issued before keys were published (published once at start, see ChannelService.publishCredentials).
   */
  published?: CredentialStatus | null;
}

export interface Channel {
  _id: string; // the channel code
  name: string;
  kind: ChannelKind;
  branding: Record<string, unknown>;
  country: string;
  region: string;
  languages: string[];
  currencies: string[];
  manager: { accountId: string };
  masterChannel: string | null;
  allowedDataRegions: string[];
  state: ChannelState;
  previousState: ChannelState | null;
  expectedBackAt: Date | null;
  checklists: Checklists;
  blockReasons: string[];
  appliedConfigVersion: number | null;
  configReportedAt: Date | null;
  /** A list: configuration keys contain dots, which MongoDB field names should not. */
  overrides: { key: string; value: unknown }[];
  credentials: Credential[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** One lifecycle step. Its _id is the eventId of the step's channels.channel-changed event. */
export interface TransitionStep {
  _id: string;
  channel: string;
  action: string;
  from: string;
  to: string;
  by: string;
  at: Date;
  expectedBackAt: Date | null;
  reason: string | null;
  version: number;
}

/** One configuration override decision of a channel. */
export interface OverrideLogEntry {
  channel: string;
  key: string;
  action: 'set' | 'removed';
  value: unknown;
  previous: unknown;
  configVersion: number;
  by: string;
  reason: string | null;
  at: Date;
}

export function overridesOf(channel: Pick<Channel, 'overrides'>): Record<string, unknown> {
  return Object.fromEntries((channel.overrides ?? []).map((o) => [o.key, o.value]));
}
