/**
 * The authorization matrix (issue 17, "Done when"): every route of every service, read from the
 * running platform's /openapi.json, has a row in authorization-matrix.table.ts, and every principal
 * is allowed (neither 401 nor 403) or refused (401 or 403) exactly as its row says.
 *
 * One platform start; the fixtures (channels, keys, staff, customers, a device, a product) are made
 * through the APIs as a real deployment would make them. Rows run in small parallel batches; in a row
 * the principals expected to be refused go first (a refusal changes nothing), then the allowed ones.
 * Rows marked `last` (they end the caller's own sessions) run after all others, one request at a time.
 * Every mismatch is collected and reported at once, with the answer's status and code.
 * Rate limits: the identity limits per address are raised for this run (REGISTER_LIMIT_PER_HOUR,
 * PASSWORD_RESET_LIMIT_PER_HOUR); the per-principal route limits are far above what it sends.
 */
import { randomBytes } from 'node:crypto';
import { Omnimall, until, type CallOptions, type ChannelCredential, type CustomerSession, type Reply } from '../support/omnimall';
import { SERVICES, startStack, type ServiceName, type Stack, logsOnFailure } from '../support/stack';
import {
  DEFAULT_PARAMS,
  MATRIX,
  PRINCIPALS,
  STAFF_PRINCIPALS,
  type Fixtures,
  type PrincipalName,
  type RouteRow,
  type StaffAccount,
  type StaffPrincipal,
} from './authorization-matrix.table';

const BATCH = 6;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

let stack: Stack | undefined;
let api: Omnimall;
let f: Fixtures;

const withLogs = logsOnFailure(() => stack, 1500);

beforeAll(async () => {
  await withLogs(async () => {
    stack = await startStack({ env: { REGISTER_LIMIT_PER_HOUR: '10000', PASSWORD_RESET_LIMIT_PER_HOUR: '10000' } });
    api = new Omnimall(stack);
    f = await buildFixtures(api, stack);
  });
}, 150_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

/** Channels M, O and the partner P (an affiliate of M), their keys, the staff, customers, a device and a product. */
async function buildFixtures(api: Omnimall, stack: Stack): Promise<Fixtures> {
  const tag = stack.tag;
  const unique = (prefix: string): string => `${prefix}-${tag}-${randomBytes(3).toString('hex')}`;
  const channel = `mx-${tag}`;
  const otherChannel = `mxo-${tag}`;
  const partnerChannel = `mxp-${tag}`;
  const admin = await api.staffLogin(stack.admin.email, stack.admin.password);
  const staffOf = async (roles: string[], channels: string[]): Promise<StaffAccount> => {
    const s = await api.createStaff(admin.token, roles, channels);
    return { ...s, token: (await api.staffLogin(s.email, s.password)).token };
  };
  const [managerOfChannel, managerOfOtherChannel, seller, complianceOfficer, spareStaff] = await Promise.all([
    staffOf(['channel_manager'], [channel, partnerChannel]),
    staffOf(['channel_manager'], [otherChannel]),
    staffOf(['seller'], []),
    staffOf(['compliance_officer'], []),
    staffOf(['seller'], []),
  ]);
  const staff: Record<StaffPrincipal, StaffAccount> = {
    managerOfChannel,
    managerOfOtherChannel,
    seller,
    complianceOfficer,
    admin: { id: admin.id, email: stack.admin.email, password: stack.admin.password, token: admin.token },
  };

  await api.registerChannel(admin.token, channel, 'web', managerOfChannel.id);
  await api.registerChannel(admin.token, otherChannel, 'web', managerOfOtherChannel.id);
  await api.registerChannel(admin.token, partnerChannel, 'affiliate', managerOfChannel.id, { masterChannel: channel });
  await Promise.all([
    api.activateChannel(admin.token, managerOfChannel.token, channel),
    api.activateChannel(admin.token, managerOfOtherChannel.token, otherChannel),
    api.activateChannel(admin.token, managerOfChannel.token, partnerChannel),
  ]);
  const [credential, partnerCredential] = await Promise.all([
    api.channelKey(managerOfChannel.token, channel),
    api.channelKey(managerOfChannel.token, partnerChannel),
  ]);
  await Promise.all([api.identityKnowsChannel(admin.token, channel), api.identityKnowsChannel(admin.token, partnerChannel)]);
  // the keys reach identity as events (channels.channel-credentials): until then its channel apps are refused
  await Promise.all(
    [credential, partnerCredential].map((cred) =>
      until(
        `identity to accept the key of ${cred.code}`,
        async () => (await api.call('identity', 'post', '/devices', { credential: cred })).status === 201,
      ),
    ),
  );

  const [subject, otherCustomer, victim, device] = await Promise.all([
    api.registerCustomer(credential, { displayName: 'Matrix Subject' }),
    api.registerCustomer(credential),
    api.registerCustomer(credential),
    api.device(credential),
  ]);

  // An external login of the subject linked on M: who it belongs to is for M's managers, not O's.
  const linkedLogin = `mxlogin-${tag}`;
  const linked = await api.call('identity', 'post', `/customers/${subject.id}/identities`, {
    token: admin.token,
    body: { type: 'external_login', externalId: linkedLogin, channel },
  });
  if (linked.status !== 201 && linked.status !== 200) throw new Error(`linking the fixture login answered ${linked.status}`);

  const productId = `mxprod-${tag}`;
  const sku = `mxsku-${tag}`;
  await api.createProduct(seller.token, productId, [sku]);
  await api.assign(seller.token, channel, productId, [{ sku, amountMinor: 1299 }]);
  await api.cartSells(credential, sku);

  return {
    channel,
    otherChannel,
    partnerChannel,
    credential,
    partnerCredential,
    subject,
    otherCustomer,
    victim,
    device,
    staff,
    spareStaff,
    productId,
    sku,
    linkedLogin,
    unique,
    newSession: () => loginFrom(credential, subject),
  };
}

/**
 * A distinct client address per request (identity trusts the loopback proxy's x-forwarded-for): the
 * login delays and limits per address then see many callers, as they would in production.
 */
let addressSeq = 0;
const nextAddress = (): string => `10.77.${Math.floor(++addressSeq / 250) % 250}.${(addressSeq % 250) + 1}`;

/** A new session of a customer through a channel app, from an address of its own. */
async function loginFrom(credential: ChannelCredential, c: CustomerSession): Promise<CustomerSession> {
  const r = await api.expect(200, 'identity', 'post', '/auth/login', {
    credential,
    headers: { 'x-forwarded-for': nextAddress() },
    body: { email: c.email, password: c.password },
  });
  return { ...c, token: r.body.tokens.accessToken, refreshToken: r.body.tokens.refreshToken, channel: credential.code };
}

/** How each principal presents itself; every one also names M in x-channel-code. */
function credentialsOf(who: PrincipalName, fx: Fixtures): CallOptions {
  const m = fx.channel;
  if ((STAFF_PRINCIPALS as readonly string[]).includes(who)) return { token: fx.staff[who as StaffPrincipal].token, channel: m };
  switch (who) {
    case 'anonymous':
      return { channel: m };
    case 'customer':
      return { token: fx.subject.token, channel: m };
    case 'otherCustomer':
      return { token: fx.otherCustomer.token, channel: m };
    case 'channelCredential':
      return { credential: fx.credential };
    case 'partner':
      return { credential: fx.partnerCredential };
    case 'device':
      return { deviceToken: fx.device.deviceToken, channel: m };
    default:
      throw new Error(`no credentials for ${who}`);
  }
}

/** `'<service> <METHOD> <path>'` of every operation in each service's OpenAPI document. */
async function platformRoutes(): Promise<string[]> {
  const keys: string[] = [];
  for (const service of SERVICES) {
    const r = await api.expect(200, service, 'get', '/openapi.json');
    for (const [path, ops] of Object.entries(r.body.paths as Record<string, Record<string, unknown>>))
      for (const m of METHODS) if (ops[m]) keys.push(`${service} ${m.toUpperCase()} ${path}`);
  }
  return keys.sort();
}

interface Outcome {
  route: string;
  who: PrincipalName;
  expected: 'allowed' | 'refused';
  status: number;
  code: string | undefined;
}

function pathOf(template: string, params: Record<string, string>, route: string): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`${route}: no value for path parameter {${name}} (give the row params)`);
    return encodeURIComponent(v);
  });
}

async function send(route: string, row: RouteRow, who: PrincipalName, fx: Fixtures): Promise<Outcome> {
  const [service, method, template] = route.split(' ') as [ServiceName, string, string];
  const path = pathOf(template, { ...DEFAULT_PARAMS(fx), ...row.params?.(fx) }, route) + (row.query ? `?${row.query}` : '');
  const body = row.body ? await row.body(fx, who) : method === 'GET' || method === 'DELETE' ? undefined : {};
  const r: Reply = await api.call(service, method.toLowerCase(), path, {
    ...credentialsOf(who, fx),
    headers: { 'x-forwarded-for': nextAddress() },
    body,
    statusOnly: route === 'cart GET /cart/stream',
  });
  return {
    route,
    who,
    expected: row.allow.includes(who) ? 'allowed' : 'refused',
    status: r.status,
    code: typeof r.body === 'object' && r.body ? (r.body as { code?: string }).code : undefined,
  };
}

const refused = (status: number): boolean => status === 401 || status === 403;

/** One row: refusals first, then the allowed principals (one at a time when the row changes its subject). */
async function runRow(route: string, row: RouteRow): Promise<Outcome[]> {
  let fx = f;
  if (row.subject === 'fresh') {
    const subject: CustomerSession = await api.registerCustomer(f.credential, { displayName: 'Matrix Fresh Subject' });
    fx = { ...f, subject, newSession: () => loginFrom(f.credential, subject) };
  }
  const refusedFirst = PRINCIPALS.filter((p) => !row.allow.includes(p));
  const out = await Promise.all(refusedFirst.map((p) => send(route, row, p, fx)));
  const allowed = PRINCIPALS.filter((p) => row.allow.includes(p));
  if (row.subject === 'fresh' || row.last) for (const p of allowed) out.push(await send(route, row, p, fx));
  else out.push(...(await Promise.all(allowed.map((p) => send(route, row, p, fx)))));
  return out;
}

it('every route of every service has a row in the matrix, and every row names a route', async () => {
  const routes = await platformRoutes();
  const rows = Object.keys(MATRIX).sort();
  expect({ routesWithoutRow: routes.filter((r) => !MATRIX[r]), rowsWithoutRoute: rows.filter((r) => !routes.includes(r)) }).toEqual({
    routesWithoutRow: [],
    rowsWithoutRoute: [],
  });
}, 30_000);

it(
  'every principal is allowed or refused on every route as the matrix says',
  () =>
    withLogs(async () => {
      const routes = new Set(await platformRoutes());
      // Rows naming no route are reported by the test above; here only what can be sent.
      const entries = Object.entries(MATRIX).filter(([route]) => routes.has(route));
      const outcomes: Outcome[] = [];
      const first = entries.filter(([, row]) => !row.last);
      for (let i = 0; i < first.length; i += BATCH)
        for (const rowOutcomes of await Promise.all(first.slice(i, i + BATCH).map(([route, row]) => runRow(route, row))))
          outcomes.push(...rowOutcomes);
      for (const [route, row] of entries.filter(([, row]) => row.last)) outcomes.push(...(await runRow(route, row)));

      expect(outcomes.length).toBe(entries.length * PRINCIPALS.length);
      // The whole matrix as answered, one line per route (who: status), for the reader of a failure.
      console.log(
        entries
          .map(
            ([route]) =>
              `${route}  ${outcomes
                .filter((o) => o.route === route)
                .map((o) => `${o.who}:${o.status}`)
                .join(' ')}`,
          )
          .join('\n'),
      );
      const mismatches = outcomes
        .filter((o) => (o.expected === 'refused') !== refused(o.status))
        .map((o) => `${o.route} as ${o.who}: expected ${o.expected}, got ${o.status}${o.code ? ` ${o.code}` : ''}`);
      const unexpected5xx = outcomes.filter((o) => o.status >= 500).map((o) => `${o.route} as ${o.who}: ${o.status} ${o.code ?? ''}`);
      expect({ mismatches, unexpected5xx }).toEqual({ mismatches: [], unexpected5xx: [] });
    }),
  240_000,
);
