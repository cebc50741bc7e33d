/**
 * identity's public token keys at `/.well-known/jwks.json` (RFC 7517), for channel apps and gateways
 * that verify access tokens themselves: the signing key plus the extra public keys configured
 * (the previous key during a rotation), each named by the `kid` tokens carry. Anonymous (public keys
 * only, never a private member) and cacheable for five minutes, so a rotation that keeps the old key
 * live at least that long never strands a cached verifier.
 */
import { z, type Jwks } from '@omnimall/service-kit';
import { tags, type Routes } from './common';

const Jwk = z
  .object({
    kty: z.string(),
    crv: z.string(),
    x: z.string(),
    y: z.string(),
    kid: z.string(),
    alg: z.literal('ES256'),
    use: z.literal('sig'),
  })
  .openapi('Jwk');
const JwksBody = z.object({ keys: z.array(Jwk) }).openapi('Jwks');

/** How long a client may keep the key set. */
export const JWKS_MAX_AGE_SECONDS = 300;

export function keyRoutes({ api }: Pick<Routes, 'api'>, jwks: () => Jwks): void {
  api.route({
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: 'The public keys access tokens are signed with (JWKS; a token names its key in the kid header)',
    tags: tags.keys,
    responses: {
      200: {
        description: 'the key set: the signing key and any key still accepted during a rotation',
        schema: JwksBody,
        headers: { 'Cache-Control': { description: `public, max-age=${JWKS_MAX_AGE_SECONDS}`, schema: { type: 'string' } } },
      },
    },
    handler: async () => ({ headers: { 'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}` }, body: jwks() }),
  });
}
