import express from 'express';
import request from 'supertest';
import { channelScopeRefusal } from '@omnimall/contracts';
import { createHttpApp, ForbiddenError, createLogger, HttpApi, principalOf, requireAuth, ServiceMetrics, z } from '@omnimall/service-kit';
import { bearer, testTokens, waitFor } from '@omnimall/service-kit/testing';
import { generateTokenKeys, TokenSigner } from '@omnimall/service-kit';

/** The kit's auth middleware, as every service uses it: local verification, kinds, roles, channel scopes. */
async function app(): Promise<express.Express> {
  const { verifier } = await testTokens();
  const api = new HttpApi({ title: 't', version: '1' })
    .route({
      method: 'get',
      path: '/customer-only',
      summary: 'customers',
      before: [requireAuth(verifier, { kind: 'customer' })],
      responses: { 200: { description: 'ok' } },
      handler: async ({ res }) => ({ body: { sub: principalOf(res).sub } }),
    })
    .route({
      method: 'post',
      path: '/channels/:code/settings',
      summary: 'channel managers of that channel',
      params: z.object({ code: z.string() }),
      before: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'channel_manager'] })],
      responses: { 200: { description: 'ok' } },
      handler: async ({ params, res }) => {
        const refusal = channelScopeRefusal(principalOf(res), params.code);
        if (refusal) throw new ForbiddenError(...refusal);
        return { body: { ok: true } };
      },
    });
  return createHttpApp({ service: 't', logger: createLogger('t', 'error'), metrics: new ServiceMetrics('t'), api });
}

describe('kit auth middleware', () => {
  it('refuses a missing or forged token with 401 and a code', async () => {
    const a = await app();
    expect((await request(a).get('/customer-only')).body.code).toBe('token_missing');
    const other = await TokenSigner.fromPem((await generateTokenKeys()).privateKey);
    const forged = await other.sign({ sub: 'c1', kind: 'customer', roles: [], channels: [], channel: null });
    const res = await request(a).get('/customer-only').set('authorization', `Bearer ${forged}`);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('token_invalid');
  });

  it('lets the right kind through and exposes the principal', async () => {
    const res = await request(await app())
      .get('/customer-only')
      .set('authorization', await bearer({ sub: 'c1' }));
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('c1');
    const staff = await request(await app())
      .get('/customer-only')
      .set('authorization', await bearer({ sub: 's1', kind: 'staff', roles: ['admin'] }));
    expect(staff.body.code).toBe('wrong_account_kind');
  });

  it('enforces the roles a route names and channel scopes', async () => {
    const a = await app();
    const seller = await request(a)
      .post('/channels/web/settings')
      .set('authorization', await bearer({ sub: 's', kind: 'staff', roles: ['seller'] }));
    expect([seller.status, seller.body.code]).toEqual([403, 'role_required']);
    const mgr = await bearer({ sub: 'm', kind: 'staff', roles: ['channel_manager'], channels: ['web'] });
    expect((await request(a).post('/channels/web/settings').set('authorization', mgr)).status).toBe(200);
    const out = await request(a).post('/channels/app/settings').set('authorization', mgr);
    expect([out.status, out.body.code, out.body.details.scope]).toEqual([403, 'channel_out_of_scope', ['web']]);
    expect(
      (
        await request(a)
          .post('/channels/app/settings')
          .set('authorization', await bearer({ sub: 'a', kind: 'staff', roles: ['admin'] }))
      ).status,
    ).toBe(200);
  });

  it('answers a token verified before from memory, a copy each time, and refuses it once expired', async () => {
    const { signer, verifier } = await testTokens();
    const token = await signer.sign({ sub: 'c9', kind: 'customer', roles: [], channels: ['web'], channel: 'web' }, 3);
    const first = await verifier.verify(token);
    first.channels.push('tampered');
    const again = await verifier.verify(token);
    expect(again).toMatchObject({ sub: 'c9', channels: ['web'] });
    // Three seconds of life: a loaded machine may take over one between signing and the first check.
    // The memory answers until the token's exp (real time: the kit's cache keeps its own clock), then the check refuses it.
    const refusal = await waitFor(
      () =>
        verifier.verify(token).then(
          () => null,
          (err: unknown) => err,
        ),
      'the token to expire',
      8000,
      50,
    );
    expect(String(refusal)).toMatch(/exp/);
  });
});
