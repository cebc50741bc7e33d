/**
 * Who may call each route of the platform (issue 17, "Done when"): one row per route of every
 * service, keyed `'<service> <METHOD> <OpenAPI path>'`, naming the principals allowed. Every other
 * principal must be refused with 401 or 403; an allowed one must get neither (a 400, 404, 409 or 422
 * of a well-formed request is "allowed": the caller got past every check of who it is). The test
 * (authorization-matrix.test.ts) fails when a route has no row or a row names no route, so a new
 * route without a decision here fails the suite.
 *
 * The principals, as the platform models them (each request also names the managed channel M in
 * x-channel-code, so a header alone never grants anything):
 *   anonymous              no credential at all
 *   customer               the subject: a customer registered through M's app (token bound to M);
 *                          path ids name this customer
 *   otherCustomer          another customer of M
 *   managerOfChannel       staff, channel_manager of M and of the partner channel P
 *   managerOfOtherChannel  staff, channel_manager of another channel O only
 *   seller                 staff, seller; owns the fixture product
 *   complianceOfficer      staff, compliance_officer
 *   admin                  staff, admin
 *   channelCredential      M's app: x-channel-code M + x-channel-key (no token)
 *   partner                a partner's app: the API key of P, an affiliate channel of M. A partner's
 *                          systems also write their own Kafka topic (partner.<code>.order-status, as
 *                          principal partner-<code>), which is not HTTP and not in this table; over
 *                          HTTP a partner is its channel's credential, nothing more.
 *   device                 an anonymous device of M's app: x-device-token from POST /devices
 *
 * Requests are well-formed (bodies valid), so a refusal inside a handler (channel scope, ownership,
 * self-only) is not hidden behind a 400. Rows that change what later rows rely on act on their own
 * fixtures (`subject: 'fresh'`, a `victim` customer, a spare staff account) or run `last`.
 */
import type { CustomerSession, ChannelCredential, Device } from '../support/omnimall';

export const PRINCIPALS = [
  'anonymous',
  'customer',
  'otherCustomer',
  'managerOfChannel',
  'managerOfOtherChannel',
  'seller',
  'complianceOfficer',
  'admin',
  'channelCredential',
  'partner',
  'device',
] as const;
export type PrincipalName = (typeof PRINCIPALS)[number];

export const STAFF_PRINCIPALS = ['managerOfChannel', 'managerOfOtherChannel', 'seller', 'complianceOfficer', 'admin'] as const;
export type StaffPrincipal = (typeof STAFF_PRINCIPALS)[number];

export interface StaffAccount {
  id: string;
  email: string;
  password: string;
  token: string;
}

/** What the rows fill path parameters and bodies from (built once per platform start). */
export interface Fixtures {
  /** M: the subject's channel, managed by managerOfChannel. */
  channel: string;
  /** O: managed by managerOfOtherChannel. */
  otherChannel: string;
  /** P: an affiliate of M (a partner channel), managed by managerOfChannel. */
  partnerChannel: string;
  credential: ChannelCredential;
  partnerCredential: ChannelCredential;
  subject: CustomerSession;
  otherCustomer: CustomerSession;
  /** A customer no principal is, for staff actions that would disturb the subject (ban, region). */
  victim: CustomerSession;
  device: Device;
  staff: Record<StaffPrincipal, StaffAccount>;
  /** A staff account no principal is, for admin edits. */
  spareStaff: StaffAccount;
  /** An external login of the subject, linked on M. */
  linkedLogin: string;
  /** The seller's product and its SKU, listed on M. */
  productId: string;
  sku: string;
  /** A fresh, unique name. */
  unique(prefix: string): string;
  /** A new session of the subject through M's app (its refresh token is used once). */
  newSession(): Promise<CustomerSession>;
}

export interface RouteRow {
  allow: readonly PrincipalName[];
  /** Path parameters beyond the defaults (see DEFAULT_PARAMS); `id` always comes from here. */
  params?: (f: Fixtures) => Record<string, string>;
  query?: string;
  /** A valid body; called once per request. */
  body?: (f: Fixtures, who: PrincipalName) => unknown;
  /** The row gets a subject of its own (registered for it): the row erases, or ends its sessions. */
  subject?: 'fresh';
  /** Runs after every other row, one principal at a time: it ends the callers' own sessions. */
  last?: true;
}

export const DEFAULT_PARAMS = (f: Fixtures): Record<string, string> => ({
  code: f.channel,
  channel: f.channel,
  sku: f.sku,
  productId: f.productId,
  keyId: '000000000000',
  eventId: '00000000-0000-4000-8000-000000000000',
  diffId: 'e2e-no-diff',
  decision: 'approve',
  field: 'title',
  ruleId: 'e2e-no-rule',
  list: 'onboarding',
  item: 'handoff',
  key: 'e2e.not_overridable',
  version: '1',
  type: 'external_login',
  externalId: 'e2e-unlinked',
  partnerCustomerId: 'e2e-partner-customer',
});

const ALL = PRINCIPALS;
const CUSTOMERS = ['customer', 'otherCustomer'] as const;
const STAFF = STAFF_PRINCIPALS;
/** A channel's app: its API key (M's or the partner P's). */
const APPS = ['channelCredential', 'partner'] as const;
const ADMIN = ['admin'] as const;
const CHANNEL_STAFF = ['managerOfChannel', 'admin'] as const;
/** channels' staff guard: admins and channel managers (managers see their scope). */
const MANAGERS = ['managerOfChannel', 'managerOfOtherChannel', 'admin'] as const;
const PRODUCT_READERS = ['seller', 'complianceOfficer', 'admin'] as const;
/** audit's readers of evidence: admins and compliance officers. */
const AUDITORS = ['complianceOfficer', 'admin'] as const;
/** Readers of M's incident feed: auditors and M's manager. */
const FEED_READERS = ['managerOfChannel', 'complianceOfficer', 'admin'] as const;
const SELLERS = ['seller', 'admin'] as const;
/** Whose cart a cart route reaches: a customer's own (their token), or a device's (its token). */
const CART_OWNERS = [...CUSTOMERS, 'device'] as const;

const subjectId = (f: Fixtures) => ({ id: f.subject.id });
const noReservation = { id: `r-${'0'.repeat(32)}` };
const noPromotion = { id: 'promo-00000000-0000-4000-8000-000000000000' };
const noHold = { id: 'e2e-no-hold' };
const noOrder = { id: `ord_${'0'.repeat(32)}` };
const noReport = { id: 'rep_00000000-0000-4000-8000-000000000000' };
const noLimitation = { id: 'lim_00000000-0000-4000-8000-000000000000' };
const noWebhook = { id: 'whk_00000000-0000-4000-8000-000000000000' };
const matrixAddress = { name: 'E2E', line1: '1 Matrix St', city: 'Berlin', postalCode: '10115', country: 'DE' };
/** A valid cart promotion (10 % off every line, from now, every channel). */
const promotionBody = {
  name: 'e2e matrix',
  level: 'cart',
  startsAt: Date.now(),
  endsAt: null,
  channels: null,
  reward: { kind: 'percentage', percent: 10 },
};
const stockLocation = {
  name: 'E2E warehouse',
  kind: 'warehouse',
  address: { line1: '1 Matrix Way', city: 'Berlin', postalCode: '10115', country: 'DE' },
};
const victimId = (f: Fixtures) => ({ id: f.victim.id });
const onPartner = (f: Fixtures) => ({ code: f.partnerChannel });
const product = (f: Fixtures, id?: string) => ({
  ...(id ? { id } : {}),
  defaultLocale: 'en',
  title: { en: 'E2E matrix mug' },
  category: 'kitchen/mugs',
  variants: [{ sku: id ? `${id}-sku` : f.sku, price: { amountMinor: 1000, currency: 'EUR' } }],
});
const rule = { name: 'e2e matrix rule', mode: 'manual', fields: ['title'] };
const channelBody = (f: Fixtures) => ({
  code: f.unique('mx'),
  name: 'E2E matrix channel',
  kind: 'web',
  branding: { logoUrl: 'https://cdn.example/logo.svg', colors: { primary: '#112233' }, fonts: { heading: 'Inter', body: 'Inter' } },
  country: 'DE',
  region: 'eu',
  languages: ['en'],
  currencies: ['EUR'],
  manager: { accountId: f.staff.managerOfChannel.id, roles: ['channel_manager'] },
  allowedDataRegions: ['eu'],
});
/** The caller's own password (for a password change), whoever the caller is. */
const ownPassword = (f: Fixtures, who: PrincipalName): string =>
  who === 'customer'
    ? f.subject.password
    : who === 'otherCustomer'
      ? f.otherCustomer.password
      : (STAFF as readonly string[]).includes(who)
        ? f.staff[who as StaffPrincipal].password
        : 'pw-not-an-account';

export const MATRIX: Record<string, RouteRow> = {
  // ---- identity: sessions -----------------------------------------------------------------------
  // Register, log in, refresh and ask for a reset are channel-app calls: the credential names the
  // channel the token is bound to (finding 6). A bearer or device token is not a channel app.
  'identity POST /auth/register': {
    allow: APPS,
    body: (f) => ({ email: `${f.unique('reg')}@omnimall.test`, password: 'pw-matrix-register', dataRegion: 'eu' }),
  },
  'identity POST /auth/login': { allow: APPS, body: (f) => ({ email: f.subject.email, password: f.subject.password }) },
  // The session's own channel app refreshes it; another channel's credential may not take it over.
  'identity POST /auth/refresh': {
    allow: ['channelCredential'],
    body: async (f) => ({ refreshToken: (await f.newSession()).refreshToken }),
  },
  // The refresh token is the credential: whoever holds it may close its session.
  'identity POST /auth/logout': { allow: ALL, body: async (f) => ({ refreshToken: (await f.newSession()).refreshToken }) },
  'identity POST /auth/password': {
    allow: [...CUSTOMERS, ...STAFF],
    last: true,
    body: (f, who) => ({ currentPassword: ownPassword(f, who), newPassword: `pw-${f.unique('new')}` }),
  },
  // After the password change (`last` rows run in this order): it ends every session of the caller.
  'identity POST /auth/logout-all': { allow: [...CUSTOMERS, ...STAFF], last: true },
  'identity POST /auth/staff/login': { allow: ALL, body: (f) => ({ email: f.spareStaff.email, password: f.spareStaff.password }) },
  'identity POST /auth/password-reset': { allow: APPS, body: (f) => ({ email: f.subject.email }) },
  // The reset token is the credential (an unknown one is 400 for everyone).
  'identity POST /auth/password-reset/confirm': {
    allow: ALL,
    body: () => ({ token: 'e2e-unknown-reset-token-0000000000000000', newPassword: 'pw-matrix-reset-1' }),
  },
  'identity POST /devices': { allow: APPS },
  'identity GET /.well-known/jwks.json': { allow: ALL },

  // ---- identity: staff --------------------------------------------------------------------------
  'identity POST /staff': {
    allow: ADMIN,
    body: (f) => ({ email: `${f.unique('staff')}@omnimall.test`, password: 'pw-matrix-staff', roles: ['seller'] }),
  },
  'identity PATCH /staff/{id}': { allow: ADMIN, params: (f) => ({ id: f.spareStaff.id }), body: () => ({ channels: [] }) },

  // ---- identity: customers ----------------------------------------------------------------------
  'identity GET /me': { allow: CUSTOMERS },
  // Personal data: the customer, compliance, admins, and managers of a channel the customer is active on.
  'identity GET /customers/{id}/profile': { allow: ['customer', 'managerOfChannel', 'complianceOfficer', 'admin'], params: subjectId },
  'identity GET /customers/{id}/status': { allow: ['customer', ...STAFF], params: subjectId },
  // Partner accounts and external logins are linked by staff of the channel or its app, never by the
  // customer (finding 7); the link names M.
  'identity POST /customers/{id}/identities': {
    allow: ['managerOfChannel', 'admin', 'channelCredential'],
    params: subjectId,
    body: (f) => ({ type: 'external_login', externalId: f.unique('ext'), channel: f.channel }),
  },
  // Who an identifier belongs to: admins, compliance officers, managers of the channel it was linked on.
  'identity GET /identities/{type}/{externalId}': {
    allow: ['managerOfChannel', 'complianceOfficer', 'admin'],
    params: (f) => ({ type: 'external_login', externalId: f.linkedLogin }),
  },
  'identity POST /admin/merges': {
    allow: ADMIN,
    body: (f) => ({ sourceCustomerId: f.unique('nobody'), targetCustomerId: f.victim.id, reason: 'e2e matrix: unknown source' }),
  },
  'identity GET /admin/merges/{id}': { allow: ['complianceOfficer', 'admin'], params: () => ({ id: 'e2e-no-merge' }) },
  'identity POST /admin/customers/{id}/ban': { allow: ADMIN, params: victimId, body: () => ({ reason: 'e2e matrix ban' }) },
  'identity POST /admin/customers/{id}/suspend': {
    allow: ADMIN,
    params: victimId,
    body: () => ({ reason: 'e2e matrix suspension', until: new Date(Date.now() + 3_600_000).toISOString() }),
  },
  'identity POST /admin/customers/{id}/reinstate': { allow: ADMIN, params: victimId, body: () => ({ reason: 'e2e matrix' }) },
  'identity POST /admin/customers/{id}/tier': { allow: ADMIN, params: victimId, body: () => ({ loyaltyTier: 'gold' }) },
  'identity POST /admin/customers/{id}/verified': { allow: ADMIN, params: victimId, body: () => ({ verified: true }) },
  'identity POST /admin/customers/{id}/region': { allow: ADMIN, params: victimId, body: () => ({ dataRegion: 'eu' }) },

  // ---- identity: compliance ---------------------------------------------------------------------
  'identity PUT /customers/{id}/consents/{channel}': {
    allow: ['customer', 'admin'],
    params: subjectId,
    body: () => ({ marketing: true, source: 'e2e-matrix' }),
  },
  'identity GET /customers/{id}/consents': { allow: ['customer', 'complianceOfficer', 'admin'], params: subjectId },
  'identity GET /customers/{id}/export': { allow: ['customer', 'complianceOfficer', 'admin'], params: subjectId },
  'identity POST /customers/{id}/erasure': { allow: ['customer', 'complianceOfficer', 'admin'], params: subjectId, subject: 'fresh' },
  'identity GET /channels/{code}/data-regions': { allow: STAFF },

  // ---- channels ---------------------------------------------------------------------------------
  'channels POST /channels': { allow: ADMIN, body: channelBody },
  'channels GET /channels': { allow: MANAGERS },
  'channels GET /channels/{code}': { allow: CHANNEL_STAFF },
  'channels PATCH /channels/{code}': { allow: CHANNEL_STAFF, body: () => ({ name: 'E2E matrix channel (renamed)' }) },
  'channels PUT /channels/{code}/data-regions': { allow: ['complianceOfficer', 'admin'], body: () => ({ allowedDataRegions: ['eu'] }) },
  // end_maintenance on an active channel: scope checked, then refused as illegal (409).
  'channels POST /channels/{code}/transitions': { allow: CHANNEL_STAFF, body: () => ({ action: 'end_maintenance' }) },
  'channels GET /channels/{code}/transitions': { allow: CHANNEL_STAFF },
  'channels PUT /channels/{code}/checklists/{list}/{item}': { allow: CHANNEL_STAFF, body: () => ({ note: 'e2e matrix' }) },
  'channels POST /channels/{code}/credentials': { allow: CHANNEL_STAFF },
  'channels DELETE /channels/{code}/credentials/{keyId}': { allow: CHANNEL_STAFF },
  // The key in the body is the credential being checked.
  'channels POST /credentials/verify': { allow: ALL, body: (f) => ({ channel: f.channel, apiKey: f.credential.apiKey }) },
  'channels GET /channel-app/config': { allow: APPS },
  'channels POST /channel-app/config-report': { allow: APPS, body: () => ({ version: 1 }) },
  'channels GET /config': { allow: MANAGERS },
  'channels GET /config/versions/{version}': { allow: MANAGERS },
  'channels POST /config/versions': { allow: ADMIN, body: () => ({ entries: {} }) },
  'channels PUT /channels/{code}/config-overrides/{key}': { allow: CHANNEL_STAFF, body: () => ({ value: 'e2e' }) },
  'channels DELETE /channels/{code}/config-overrides/{key}': { allow: CHANNEL_STAFF },
  'channels GET /channels/{code}/config-overrides/log': { allow: CHANNEL_STAFF },
  'channels GET /channels/{code}/notifications': { allow: CHANNEL_STAFF },
  'channels POST /channels/{code}/webhooks': {
    allow: CHANNEL_STAFF,
    params: onPartner,
    body: () => ({ url: 'https://partner.example/hooks/omnimall', events: ['notification'] }),
  },
  'channels GET /channels/{code}/webhooks': { allow: CHANNEL_STAFF, params: onPartner },
  'channels DELETE /channels/{code}/webhooks/{id}': { allow: CHANNEL_STAFF, params: (f) => ({ ...onPartner(f), id: 'e2e-no-endpoint' }) },
  'channels GET /channels/{code}/deliveries': { allow: CHANNEL_STAFF, params: onPartner },
  // Mapping a partner's customer ids is staff work; the partner's own systems speak through their topic.
  'channels PUT /channels/{code}/partner-customers/{partnerCustomerId}': {
    allow: CHANNEL_STAFF,
    params: onPartner,
    body: (f) => ({ customerId: f.subject.id }),
  },

  // ---- catalog-sync -----------------------------------------------------------------------------
  'catalog-sync POST /products': { allow: SELLERS, body: (f) => product(f, f.unique('mxp')) },
  'catalog-sync GET /products/{id}': { allow: PRODUCT_READERS, params: (f) => ({ id: f.productId }) },
  'catalog-sync PUT /products/{id}': { allow: SELLERS, params: (f) => ({ id: f.productId }), body: (f) => product(f) },
  'catalog-sync GET /products/{id}/listings': { allow: PRODUCT_READERS, params: (f) => ({ id: f.productId }) },
  'catalog-sync GET /products/{id}/refusals': { allow: PRODUCT_READERS, params: (f) => ({ id: f.productId }) },
  'catalog-sync POST /channels/{code}/assignments': { allow: SELLERS, body: (f) => ({ productId: f.productId }) },
  'catalog-sync DELETE /channels/{code}/assignments/{productId}': { allow: SELLERS, params: (f) => ({ code: f.otherChannel }) },
  'catalog-sync PUT /channels/{code}/prices/{sku}': { allow: SELLERS, body: () => ({ prices: { EUR: 1100 } }) },
  'catalog-sync POST /bulk-sync': { allow: SELLERS, body: (f) => ({ channels: [f.channel], productIds: [f.productId] }) },
  'catalog-sync GET /bulk-sync/jobs/{id}': { allow: SELLERS, params: () => ({ id: '00000000-0000-4000-8000-000000000000' }) },
  'catalog-sync GET /jobs/{id}': { allow: SELLERS, params: () => ({ id: '00000000-0000-4000-8000-000000000000' }) },
  'catalog-sync GET /channels/{code}/items': { allow: CHANNEL_STAFF },
  'catalog-sync GET /channels/{code}/items/{sku}': { allow: CHANNEL_STAFF },
  'catalog-sync PATCH /channels/{code}/items/{sku}': { allow: CHANNEL_STAFF, body: () => ({ set: { title: 'E2E local title' } }) },
  'catalog-sync GET /channels/{code}/items/{sku}/evidence': { allow: CHANNEL_STAFF },
  'catalog-sync GET /channels/{code}/conflicts': { allow: CHANNEL_STAFF },
  'catalog-sync POST /channels/{code}/items/{sku}/conflicts/{field}/resolve': {
    allow: CHANNEL_STAFF,
    body: () => ({ resolution: 'take_master' }),
  },
  'catalog-sync GET /channels/{code}/staged-diffs': { allow: CHANNEL_STAFF },
  'catalog-sync POST /channels/{code}/staged-diffs/{diffId}/{decision}': { allow: CHANNEL_STAFF },
  'catalog-sync GET /channels/{code}/rules': { allow: CHANNEL_STAFF },
  'catalog-sync POST /channels/{code}/rules': { allow: CHANNEL_STAFF, body: () => rule },
  'catalog-sync PUT /channels/{code}/rules/{ruleId}': { allow: CHANNEL_STAFF, body: () => rule },
  'catalog-sync POST /rates': { allow: ADMIN, body: () => ({ base: 'EUR', quote: 'USD', rate: '1.08', source: 'e2e-matrix' }) },
  'catalog-sync GET /rates': { allow: ALL },

  // ---- cart: a customer's own cart (token bound to M) or a device's; staff and apps have no cart --
  'cart GET /cart': { allow: CART_OWNERS },
  'cart DELETE /cart': { allow: CART_OWNERS },
  'cart POST /cart/stream-tickets': { allow: CART_OWNERS },
  'cart GET /cart/stream': { allow: CART_OWNERS },
  'cart POST /cart/lines': { allow: CART_OWNERS, body: (f) => ({ sku: f.sku, quantity: 1 }) },
  'cart PUT /cart/lines/{sku}': { allow: CART_OWNERS, body: () => ({ quantity: 2 }) },
  'cart DELETE /cart/lines/{sku}': { allow: CART_OWNERS },
  'cart PUT /cart/wishlist/{sku}': { allow: CART_OWNERS },
  'cart DELETE /cart/wishlist/{sku}': { allow: CART_OWNERS },

  // ---- inventory: stock is sellers' (their SKUs) and admins'; a channel's configuration its managers';
  // reads for every staff role; a channel app reads its own channel's availability; reservations are a
  // customer's (their cart on their channel) or an admin's --------------------------------------------
  'inventory GET /locations': { allow: STAFF },
  'inventory GET /locations/{id}': { allow: STAFF, params: () => ({ id: 'e2e-no-location' }) },
  'inventory PUT /locations/{id}': { allow: ADMIN, params: (f) => ({ id: f.unique('loc') }), body: () => stockLocation },
  'inventory GET /channels/{code}/locations': { allow: CHANNEL_STAFF },
  'inventory PUT /channels/{code}/locations/{locationId}': {
    allow: CHANNEL_STAFF,
    params: () => ({ locationId: 'e2e-no-location' }),
    body: () => ({ priority: 1 }),
  },
  'inventory DELETE /channels/{code}/locations/{locationId}': { allow: CHANNEL_STAFF, params: () => ({ locationId: 'e2e-no-location' }) },
  'inventory GET /channels/{code}/source': { allow: CHANNEL_STAFF },
  'inventory GET /channels/{code}/policy': { allow: CHANNEL_STAFF },
  'inventory PUT /channels/{code}/policy': { allow: CHANNEL_STAFF, body: () => ({ lowStock: 3 }) },
  'inventory GET /exceptions': { allow: STAFF },
  // an exception on M: its managers' (a seller may add one for every channel, for their own SKU only)
  'inventory POST /exceptions': {
    allow: CHANNEL_STAFF,
    body: (f) => ({ kind: 'threshold_exempt', sku: f.sku, channel: f.channel, reason: 'e2e matrix', expiresAt: Date.now() + 3_600_000 }),
  },
  // the guard: staff; who may remove a given exception (its owner, its channel's managers) is decided on it
  'inventory DELETE /exceptions/{id}': { allow: STAFF, params: () => ({ id: '00000000-0000-4000-8000-000000000000' }) },
  'inventory GET /stock/{sku}': { allow: STAFF },
  'inventory POST /stock/{sku}/operations': {
    allow: SELLERS,
    body: () => ({ kind: 'set', location: 'e2e-no-location', bucket: 'onHand', quantity: 1, reason: 'e2e' }),
  },
  'inventory GET /stock/{sku}/availability': { allow: STAFF },
  'inventory GET /stock/{sku}/history': { allow: STAFF },
  // a channel app (or a customer or device of the channel) reads its channel's availability; staff name the channel
  'inventory GET /availability/{sku}': { allow: PRINCIPALS.filter((p) => p !== 'anonymous') },
  'inventory GET /totals': { allow: STAFF },
  'inventory GET /alerts': { allow: STAFF },
  'inventory POST /reservations': {
    allow: [...CUSTOMERS, 'admin'],
    body: (f, who) => ({
      lines: [{ sku: f.sku, quantity: 1 }],
      ...(who === 'admin' || STAFF.includes(who as StaffPrincipal) ? { channel: f.channel, reference: 'order:e2e-matrix' } : {}),
    }),
  },
  'inventory GET /reservations/{id}': { allow: [...CUSTOMERS, ...STAFF], params: () => noReservation },
  'inventory POST /reservations/{id}/extend': {
    allow: [...CUSTOMERS, ...STAFF],
    params: () => noReservation,
    body: () => ({ ttlSeconds: 60 }),
  },
  'inventory POST /reservations/{id}/release': { allow: [...CUSTOMERS, ...STAFF], params: () => noReservation },
  'inventory POST /reservations/{id}/commit': { allow: ADMIN, params: () => noReservation },
  'inventory POST /reservations/{id}/return': { allow: ADMIN, params: () => noReservation },
  'inventory POST /imports': {
    allow: SELLERS,
    body: (f) => ({ format: 'csv', content: `sku,location,quantity\n${f.sku},e2e-no-location,1\n` }),
  },
  'inventory GET /imports/{id}': { allow: SELLERS, params: () => ({ id: '00000000-0000-4000-8000-000000000000' }) },
  'inventory GET /jobs/{id}': { allow: SELLERS, params: () => ({ id: '00000000-0000-4000-8000-000000000000' }) },

  // ---- promotions: admins define promotions, codes, campaigns, earn rules and tiers; every staff role
  // reads them; a channel's managers ask for its overrides and read its evidence (compliance reads all);
  // channel apps quote (a customer for themselves, a channel key or device for its channel, staff for
  // any); usage holds are a customer's (their own, on their channel) or an admin's -----------------------
  'promotions POST /promotions': { allow: ADMIN, body: () => promotionBody },
  'promotions GET /promotions': { allow: STAFF },
  'promotions GET /promotions/{id}': { allow: STAFF, params: () => noPromotion },
  'promotions PUT /promotions/{id}': { allow: ADMIN, params: () => noPromotion, body: () => promotionBody },
  'promotions DELETE /promotions/{id}': { allow: ADMIN, params: () => noPromotion },
  'promotions POST /promotions/{id}/schedule': { allow: ADMIN, params: () => noPromotion },
  'promotions GET /promotions/{id}/readiness': { allow: STAFF, params: () => noPromotion },
  'promotions PUT /promotions/{id}/channels/{code}/override': {
    allow: CHANNEL_STAFF,
    params: () => noPromotion,
    body: () => ({ excluded: true, reason: 'e2e matrix' }),
  },
  'promotions DELETE /promotions/{id}/channels/{code}/override': { allow: CHANNEL_STAFF, params: () => noPromotion },
  // managers read a promotion's decisions filtered to their channels; a channel's decisions only for their own
  'promotions GET /promotions/{id}/override-decisions': { allow: [...MANAGERS, 'complianceOfficer'], params: () => noPromotion },
  'promotions GET /channels/{code}/override-decisions': { allow: [...CHANNEL_STAFF, 'complianceOfficer'] },
  'promotions POST /quotes': {
    allow: PRINCIPALS.filter((p) => p !== 'anonymous'),
    body: (f, who) => ({
      lines: [{ sku: f.sku, quantity: 1, unitPriceMinor: 1000 }],
      ...(STAFF.includes(who as StaffPrincipal) ? { channel: f.channel } : {}),
    }),
  },
  'promotions POST /promotions/{id}/codes': { allow: ADMIN, params: () => noPromotion, body: (f) => ({ codes: [f.unique('CODE')] }) },
  'promotions GET /codes/{code}': { allow: ADMIN, params: () => ({ code: 'E2E-NO-CODE' }) },
  'promotions PATCH /codes/{code}': { allow: ADMIN, params: () => ({ code: 'E2E-NO-CODE' }), body: () => ({ active: false }) },
  'promotions POST /campaigns': {
    allow: ADMIN,
    body: (f) => ({ id: f.unique('camp'), name: 'e2e matrix', budget: { kind: 'count', total: 10, perCustomer: null } }),
  },
  'promotions GET /campaigns/{id}': { allow: ADMIN, params: () => ({ id: 'e2e-no-campaign' }) },
  'promotions POST /holds': {
    allow: [...CUSTOMERS, 'admin'],
    body: (f, who) => ({
      points: 0,
      codes: ['E2E-NO-CODE'],
      ...(STAFF.includes(who as StaffPrincipal) ? { customerId: f.subject.id, channel: f.channel, reference: 'order:e2e-matrix' } : {}),
    }),
  },
  'promotions GET /holds/{id}': { allow: [...CUSTOMERS, ...STAFF], params: () => noHold },
  'promotions POST /holds/{id}/commit': { allow: [...CUSTOMERS, ...STAFF], params: () => noHold },
  'promotions POST /holds/{id}/release': { allow: [...CUSTOMERS, ...STAFF], params: () => noHold },
  'promotions POST /holds/{id}/revert': { allow: ADMIN, params: () => noHold },
  'promotions PUT /loyalty/earn-rules': { allow: ADMIN, body: () => ({ pointsPerUnit: 1 }) },
  'promotions GET /loyalty/earn-rules': { allow: STAFF },
  'promotions PUT /loyalty/tiers': {
    allow: ADMIN,
    body: () => ({ tiers: [{ name: 'standard', threshold: 0 }], periodDays: 365, downgrade: 'one_step' }),
  },
  'promotions GET /loyalty/tiers': { allow: STAFF },
  'promotions GET /customers/{id}/loyalty': { allow: ['customer', ...STAFF], params: subjectId },
  'promotions POST /customers/{id}/loyalty/adjustments': {
    allow: ADMIN,
    params: subjectId,
    body: () => ({ points: 5, reason: 'e2e matrix' }),
  },

  // ---- orders: a customer checks out their own cart on the channel of their login and reads and cancels
  // their own orders (the history is one on every channel); admins and compliance read every order, a
  // channel's managers their channels' (a list needs ?channel=); admins and managers cancel and move
  // fulfilment; the payment provider's webhook is proven by its signature, never a token ------------
  'orders POST /checkouts': {
    allow: CUSTOMERS,
    body: () => ({ address: matrixAddress, shipping: 'standard', paymentMethod: { token: 'tok_approve' } }),
  },
  'orders GET /orders': { allow: [...CUSTOMERS, 'complianceOfficer', 'admin'] },
  'orders GET /orders/{id}': { allow: [...CUSTOMERS, ...MANAGERS, 'complianceOfficer'], params: () => noOrder },
  'orders POST /orders/{id}/cancel': { allow: [...CUSTOMERS, ...MANAGERS], params: () => noOrder, body: () => ({}) },
  'orders POST /orders/{id}/fulfilment': { allow: MANAGERS, params: () => noOrder, body: () => ({ state: 'fulfilled' }) },
  'orders POST /payments/webhooks': {
    allow: ALL,
    body: () => ({ eventId: 'e2e-matrix', paymentId: noOrder.id, state: 'captured', amountMinor: 1, occurredAt: 1 }),
  },

  // ---- audit: evidence, proofs, verification, holds and reports are for auditors (admins and compliance
  // officers; a channel's managers read its trails with ?channel=); the public keys are public --------
  'audit GET /audit/records': { allow: AUDITORS },
  'audit GET /audit/records/{index}': { allow: AUDITORS, params: () => ({ index: '0' }) },
  'audit GET /audit/log': { allow: AUDITORS, query: 'limit=1' },
  'audit GET /audit/proofs/inclusion': { allow: AUDITORS, query: 'index=0' },
  'audit GET /audit/proofs/consistency': { allow: AUDITORS, query: 'from=1&to=1' },
  'audit GET /audit/checkpoints': { allow: AUDITORS },
  'audit GET /audit/keys': { allow: ALL },
  'audit POST /audit/verify': { allow: AUDITORS },
  'audit POST /audit/holds': {
    allow: AUDITORS,
    body: (f) => ({ subjectKind: 'customer', subjectRef: f.unique('held'), reason: 'e2e matrix' }),
  },
  'audit GET /audit/holds': { allow: AUDITORS },
  'audit POST /audit/holds/{id}/release': { allow: AUDITORS, params: () => noHold },
  'audit GET /audit/retention': { allow: AUDITORS },
  'audit POST /audit/retention/prune': { allow: ADMIN },
  // a report's progress as a job: the report's readers (auditors, channel managers for their channels' reports)
  'audit GET /jobs/{id}': {
    allow: ['managerOfChannel', 'managerOfOtherChannel', 'complianceOfficer', 'admin'],
    params: () => ({ id: 'rep_00000000-0000-4000-8000-000000000000' }),
  },
  // reports: auditors any, a channel's managers for their channels only (a report of M; reading one needs no scope
  // until it exists: an unknown report is 404 to every staff reader)
  'audit POST /audit/reports': {
    allow: ['managerOfChannel', ...AUDITORS],
    body: (f) => ({ from: Date.now() - 120_000, to: Date.now() - 60_000, channels: [f.channel] }),
  },
  'audit GET /audit/reports/{id}': { allow: [...MANAGERS.filter((m) => m !== 'admin'), ...AUDITORS], params: () => noReport },
  'audit GET /audit/reports/{id}/csv': { allow: [...MANAGERS.filter((m) => m !== 'admin'), ...AUDITORS], params: () => noReport },
  'audit GET /audit/reports/{id}/html': { allow: [...MANAGERS.filter((m) => m !== 'admin'), ...AUDITORS], params: () => noReport },
  'audit GET /audit/reports/{id}/signature': { allow: [...MANAGERS.filter((m) => m !== 'admin'), ...AUDITORS], params: () => noReport },
  // the incident feed of M: auditors, M's managers and sellers of M (the fixture's seller has no channel); limitations by
  // admins and M's managers
  'audit GET /audit/channels/{channel}/incidents': { allow: FEED_READERS },
  'audit GET /audit/channels/{channel}/incidents.html': { allow: FEED_READERS },
  'audit POST /audit/channels/{channel}/limitations': {
    allow: CHANNEL_STAFF,
    body: () => ({ title: 'e2e matrix limitation', detail: 'checked by the authorization matrix' }),
  },
  'audit POST /audit/channels/{channel}/limitations/{id}/close': { allow: CHANNEL_STAFF, params: () => noLimitation, body: () => ({}) },
  'audit POST /audit/channels/{channel}/webhooks': {
    allow: FEED_READERS,
    body: () => ({ url: 'https://hooks.example.com/e2e-matrix', secret: 'e2e-matrix-secret-0123456789' }),
  },
  'audit GET /audit/channels/{channel}/webhooks': { allow: FEED_READERS },
  'audit GET /audit/channels/{channel}/webhooks/{id}/deliveries': { allow: FEED_READERS, params: () => noWebhook },
  'audit DELETE /audit/channels/{channel}/webhooks/{id}': { allow: FEED_READERS, params: () => noWebhook },

  // ---- sync-monitor: operations are for admins; a channel's status feed for any staff ------------
  'sync-monitor GET /propagation/percentiles': { allow: ADMIN },
  'sync-monitor GET /propagation/percentiles/by-type': { allow: ADMIN },
  'sync-monitor GET /propagation/series': { allow: ADMIN },
  'sync-monitor GET /escalations/series': { allow: ADMIN },
  'sync-monitor GET /propagation/events': { allow: ADMIN },
  'sync-monitor GET /propagation/events/{eventId}': { allow: ADMIN },
  'sync-monitor GET /issues': { allow: ADMIN },
  'sync-monitor POST /propagation/events/{eventId}/retry': { allow: ADMIN, body: () => ({ note: 'e2e matrix' }) },
  'sync-monitor POST /propagation/events/{eventId}/reconcile': { allow: ADMIN, body: () => ({ note: 'e2e matrix' }) },
  'sync-monitor POST /propagation/events/{eventId}/support-case': { allow: ADMIN, body: () => ({ note: 'e2e matrix' }) },
  'sync-monitor GET /consumer-lag': { allow: ADMIN },
  'sync-monitor GET /consumer-lag/series': { allow: ADMIN },
  'sync-monitor GET /tracking/health': { allow: ADMIN },
  'sync-monitor GET /channels': { allow: ADMIN },
  // Business users of the channel: not the manager of another channel.
  'sync-monitor GET /channels/{code}/status-feed': { allow: ['managerOfChannel', 'seller', 'complianceOfficer', 'admin'] },
  'sync-monitor GET /dashboard/summary': { allow: ADMIN },
  'sync-monitor GET /jobs': { allow: ADMIN },
};
