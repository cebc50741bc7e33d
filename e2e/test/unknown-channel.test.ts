/**
 * A channel that does not exist is answered the same way by every service that is asked about it
 * (issue 24, finding e): 404 `channel_not_found`, details.channel naming it, and a hint — on the
 * channels registry and on the services that act for a named channel, over the running platform.
 * (The cart and orders meet an unknown channel only in the moment before a new channel's registration
 * reaches them; their tests cover that path: services/cart/test/cart.test.ts, services/orders/test/unknown-channel.test.ts.)
 */
import { Omnimall, type Reply } from '../support/omnimall';
import { logsOnFailure, startStack, type ServiceName, type Stack } from '../support/stack';

let stack: Stack | undefined;
let api: Omnimall;
const withLogs = logsOnFailure(() => stack, 1500);

beforeAll(async () => {
  await withLogs(async () => {
    stack = await startStack();
    api = new Omnimall(stack);
  });
}, 150_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

it('answers a request naming an unknown channel 404 channel_not_found with the channel and a hint, in every service', async () => {
  await withLogs(async () => {
    const admin = await api.staffLogin(stack!.admin.email, stack!.admin.password);
    const sellerAccount = await api.createStaff(admin.token, ['seller'], []);
    const seller = (await api.staffLogin(sellerAccount.email, sellerAccount.password)).token;
    const ghost = `ghost-${stack!.tag}`;
    const asked: [ServiceName, string, string, Record<string, unknown> | undefined, string][] = [
      ['channels', 'get', `/channels/${ghost}`, undefined, admin.token],
      ['channels', 'post', `/channels/${ghost}/transitions`, { action: 'submit' }, admin.token],
      ['channels', 'put', `/channels/${ghost}/checklists/onboarding/handoff`, {}, admin.token],
      ['catalog-sync', 'post', `/channels/${ghost}/assignments`, { productId: `p-${stack!.tag}` }, seller],
      ['catalog-sync', 'post', '/bulk-sync', { channels: [ghost], productIds: [`p-${stack!.tag}`] }, seller],
    ];
    const answers: Reply[] = await Promise.all(
      asked.map(([service, method, path, body, token]) => api.call(service, method, path, { body, token })),
    );
    const seen = answers.map((r, i) => ({
      route: `${asked[i][0]} ${asked[i][1].toUpperCase()} ${asked[i][2]}`,
      status: r.status,
      code: r.body?.code,
      channel: r.body?.details?.channel,
      hinted: typeof r.body?.hint === 'string' && r.body.hint.length > 0,
    }));
    expect(seen).toEqual(
      asked.map(([service, method, path]) => ({
        route: `${service} ${method.toUpperCase()} ${path}`,
        status: 404,
        code: 'channel_not_found',
        channel: ghost,
        hinted: true,
      })),
    );
  });
}, 60_000);
