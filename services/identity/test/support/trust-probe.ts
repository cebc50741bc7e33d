/**
 * A stand-in for "any other service" in the trust tests: a kit service with no token keys of its own
 * (no AUTH_PUBLIC_KEY: it learns identity's keys from identity.signing-keys) and one authed route,
 * so a test sees what the kit's trust state makes of identity's keys and revocations.
 */
import request from 'supertest';
import { defineService, HttpApi, principalOf, requireAuth, z, type EventManifest } from '@omnimall/service-kit';
import { testConfig, testGroups } from '@omnimall/service-kit/testing';

const manifest = {
  produces: [],
  consumes: ['identity.signing-keys', 'identity.session-revoked', 'identity.staff-changed', 'channels.channel-credentials'],
} as const satisfies EventManifest;

const probe = defineService({
  name: 'trust-probe',
  port: 0,
  events: manifest,
  async build({ auth }) {
    const api = new HttpApi({ title: 'trust probe', version: '1.0.0' });
    api.route({
      method: 'get',
      path: '/whoami',
      summary: 'The verified caller',
      auth: true,
      before: [requireAuth(auth.verifier)],
      responses: { 200: { description: 'the caller', schema: z.object({ sub: z.string() }) } },
      handler: async ({ res }) => ({ body: { sub: principalOf(res).sub } }),
    });
    return { api, exposes: {} };
  },
});

export type TrustProbe = Awaited<ReturnType<typeof probe.start>>;

/** The probe on its own database, with no configured token keys at all. */
export function startTrustProbe(): Promise<TrustProbe> {
  return probe.start({ config: testConfig('trust-probe', { tokenKeys: { publicKeys: [] } }), groups: testGroups(), env: {} });
}

/** What the probe answers to a bearer token: status and error code. */
export async function probeCall(svc: TrustProbe, accessToken: string): Promise<{ status: number; code?: string; sub?: string }> {
  const res = await request(svc.app).get('/whoami').set('authorization', `Bearer ${accessToken}`);
  return { status: res.status, code: res.body?.code, sub: res.body?.sub };
}
