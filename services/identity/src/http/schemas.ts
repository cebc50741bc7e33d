// The kit extends zod with .openapi(); this import brings that augmentation's types into this project.
import { STAFF_ROLES } from '@omnimall/contracts';
import '@asteasolutions/zod-to-openapi';
import { z } from '@omnimall/service-kit';
import { DATA_REGIONS, LOYALTY_TIERS } from '../domain/standing';

/** Request and response schemas: they validate requests and generate /openapi.json. */
export const ChannelCode = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'a channel code: lowercase letters, digits, - and _')
  .openapi({ example: 'web' });
export const Email = z.string().trim().email().max(254).openapi({ example: 'ada@example.com' });
export const Password = z.string().min(1).max(200).openapi({ example: 'correct horse battery' });
export const DataRegion = z.enum(DATA_REGIONS).openapi({ example: 'eu' });
export const Id = z.string().min(1).max(100);
export const IdParams = z.object({ id: Id });
export const ExternalId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s:]+$/, 'no spaces or colons');
export const IdentityType = z.enum(['device', 'app_installation', 'partner_account', 'external_login']);
export const StaffRoleSchema = z.enum(STAFF_ROLES);
export const ChannelHeader = z.object({ 'x-channel-code': ChannelCode.optional() });

/** Epoch milliseconds or an ISO 8601 string, as epoch milliseconds. */
export const Instant = z
  .union([z.number().int().positive(), z.string().datetime({ offset: true })])
  .transform((v) => (typeof v === 'number' ? v : Date.parse(v)));

export const Tokens = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number(),
    refreshToken: z.string(),
    sessionId: z.string(),
  })
  .openapi('Tokens');

export const Standing = z
  .object({
    status: z.enum(['active', 'suspended', 'banned', 'erased']),
    reason: z.string().nullable(),
    until: z.number().nullable(),
    loyaltyTier: z.string(),
    verified: z.boolean(),
    version: z.number(),
  })
  .openapi('Standing');

export const Profile = z
  .object({
    id: z.string(),
    email: z.string(),
    displayName: z.string().nullable(),
    dataRegion: z.string(),
    registeredChannel: z.string().nullable(),
    standing: Standing,
    mergedInto: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('CustomerProfile');

export const DeviceLink = z
  .object({ status: z.enum(['linked', 'already_linked', 'conflict']) })
  .openapi('DeviceLink', { description: 'What became of the device of the login (conflict: it is linked to another account, not named)' });
export const Session = z
  .object({ customer: Profile, channel: z.string(), tokens: Tokens, deviceLink: DeviceLink.optional() })
  .openapi('CustomerSession');

/** A device token from POST /devices: proves the device is the caller's (its id is linked on the way). */
const DeviceToken = z
  .string()
  .min(1)
  .max(4096)
  .openapi({ description: 'The device token POST /devices issued to this device: its device is linked to the account' });
/** Refused with 400 device_token_required: a bare device id proves nothing (anyone could name another's device). */
const BareDeviceId = ExternalId.optional().openapi({ description: 'No longer accepted: send deviceToken', deprecated: true });

export const RegisterBody = z.object({
  email: Email,
  password: Password,
  displayName: z.string().min(1).max(120).optional(),
  dataRegion: DataRegion,
  deviceToken: DeviceToken.optional(),
  deviceId: BareDeviceId,
});
export const LoginBody = z.object({ email: Email, password: Password, deviceToken: DeviceToken.optional(), deviceId: BareDeviceId });
export const RefreshBody = z.object({ refreshToken: z.string().min(1).max(300) });

export const StaffBody = z.object({
  email: Email,
  password: Password,
  roles: z.array(StaffRoleSchema).min(1),
  channels: z.array(ChannelCode).default([]),
});
export const StaffView = z
  .object({ id: z.string(), email: z.string(), roles: z.array(z.string()), channels: z.array(z.string()), disabled: z.boolean() })
  .openapi('StaffAccount');
export const StaffEditBody = z
  .object({
    disabled: z.boolean().optional().openapi({ description: 'true refuses its logins and refreshes and closes its sessions' }),
    roles: z.array(StaffRoleSchema).min(1).optional(),
    channels: z.array(ChannelCode).optional(),
  })
  .refine((b) => b.disabled !== undefined || b.roles !== undefined || b.channels !== undefined, {
    message: 'name at least one of disabled, roles, channels',
  });

export const PasswordChangeBody = z.object({ currentPassword: Password, newPassword: Password });
export const ResetRequestBody = z.object({ email: Email });
export const ResetConfirmBody = z.object({
  token: z.string().min(1).max(200).openapi({ description: 'the token the channel delivered' }),
  newPassword: Password,
});

export const LinkBody = z.object({
  type: IdentityType,
  externalId: ExternalId,
  channel: ChannelCode.optional().openapi({
    description:
      "Where the identifier came from: staff name it (default x-channel-code); a customer's or a channel app's is its own channel",
  }),
  deviceToken: DeviceToken.optional().openapi({
    description: "A customer linking a device or app installation: its device token (the externalId is the token's deviceId)",
  }),
});
export const LinkView = z
  .object({ type: IdentityType, externalId: z.string(), customerId: z.string(), channel: z.string(), linkedAt: z.string() })
  .openapi('LinkedIdentity');

export const MergeBody = z.object({
  sourceCustomerId: Id,
  targetCustomerId: Id,
  reason: z.string().min(3).max(500),
  evidence: z
    .record(z.string(), z.unknown())
    .default({})
    .openapi({ description: 'What justifies the merge (tickets, matching documents...), kept with the merge record' }),
});
export const MergeView = z
  .object({
    id: z.string(),
    sourceCustomerId: z.string(),
    targetCustomerId: z.string(),
    mergedBy: z.string(),
    reason: z.string(),
    evidence: z.record(z.string(), z.unknown()),
    movedIdentities: z.array(z.string()),
    at: z.string(),
  })
  .openapi('Merge');

export const ReasonBody = z.object({ reason: z.string().min(3).max(500) });
export const SuspendBody = z.object({
  reason: z.string().min(3).max(500),
  until: Instant.openapi({ description: 'epoch ms or ISO 8601', example: '2030-01-01T00:00:00Z' }),
});
export const ReinstateBody = z.object({ reason: z.string().max(500).optional() });
export const TierBody = z.object({ loyaltyTier: z.enum(LOYALTY_TIERS) });
export const BadgeBody = z.object({ verified: z.boolean() });
export const RegionBody = z.object({ dataRegion: DataRegion });

export const ConsentParams = z.object({ id: Id, channel: ChannelCode });
export const ConsentBody = z
  .object({
    marketing: z.boolean().optional(),
    analytics: z.boolean().optional(),
    personalisation: z.boolean().optional(),
    source: z.string().min(2).max(100).openapi({ example: 'settings_page' }),
  })
  .refine((b) => b.marketing !== undefined || b.analytics !== undefined || b.personalisation !== undefined, {
    message: 'name at least one of marketing, analytics, personalisation',
  });
const ConsentEntry = z.object({ granted: z.boolean(), at: z.string(), source: z.string() });
export const ConsentsView = z.record(z.string(), z.record(z.string(), ConsentEntry)).openapi('Consents');

export const DeviceIssued = z
  .object({
    deviceId: z.string().openapi({ description: 'Chosen by identity (random): the id carts and links know the device by' }),
    deviceToken: z.string().openapi({ description: 'Send as x-device-token (anonymous calls) or deviceToken (login, linking)' }),
    expiresAt: z.string().openapi({ description: 'ISO 8601: ask for a new device after it' }),
  })
  .openapi('DeviceIssued');

export const ResolveParams = z.object({ type: IdentityType, externalId: ExternalId });
