/** Token keys: every token names its key (kid = RFC 7638 thumbprint), verifiers choose by kid, rotation keeps two keys live. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, decodeProtectedHeader, importPKCS8, SignJWT } from 'jose';
import { generateTokenKeys, TOKEN_AUDIENCE, TOKEN_ISSUER, TokenSigner, TokenVerifier, type TokenClaims } from '../src';

const who: TokenClaims = { sub: 'c-9', kind: 'customer', roles: [], channels: [], channel: 'web' };

async function keyPair(): Promise<{ publicKey: string; privateKey: string; signer: TokenSigner }> {
  const keys = await generateTokenKeys();
  return { ...keys, signer: await TokenSigner.fromPem(keys.privateKey) };
}

describe('token keys and rotation', () => {
  it('puts the RFC 7638 thumbprint of the public key into every token as kid', async () => {
    const { publicKey, signer } = await keyPair();
    const token = await signer.sign(who);
    const { kid } = decodeProtectedHeader(token);
    const published = (await TokenVerifier.fromPem(publicKey)).jwks().keys[0];
    expect(kid).toBe(signer.kid);
    expect(kid).toBe(await calculateJwkThumbprint({ kty: published.kty, crv: published.crv, x: published.x, y: published.y }));
    expect(published).toMatchObject({ kid, alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
    expect(published).not.toHaveProperty('d');
  });

  it('accepts tokens of the old and the new key while both are live, and refuses the old ones once it is removed', async () => {
    const old = await keyPair();
    const fresh = await keyPair();
    const oldToken = await old.signer.sign(who);
    const newToken = await fresh.signer.sign({ ...who, sub: 'c-10' });

    const during = await TokenVerifier.fromPem(old.publicKey, fresh.publicKey);
    expect((await during.verify(oldToken)).sub).toBe('c-9');
    expect((await during.verify(newToken)).sub).toBe('c-10');
    expect(
      during
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual([old.signer.kid, fresh.signer.kid].sort());

    const after = await TokenVerifier.fromPem(fresh.publicKey);
    await expect(after.verify(oldToken)).rejects.toThrow(`key ${old.signer.kid}, which is not among the accepted keys`);
    expect((await after.verify(newToken)).sub).toBe('c-10');
  });

  it('reads several keys from AUTH_PUBLIC_KEYS_FILE (a JWKS) next to AUTH_PUBLIC_KEY', async () => {
    const a = await keyPair();
    const b = await keyPair();
    const c = await keyPair();
    const dir = mkdtempSync(join(tmpdir(), 'jwks-'));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [a.signer.publicJwk, b.signer.publicJwk] }));
    const verifier = await TokenVerifier.fromEnv({ AUTH_PUBLIC_KEYS_FILE: file, AUTH_PUBLIC_KEY: c.publicKey });
    for (const k of [a, b, c]) expect((await verifier.verify(await k.signer.sign(who))).sub).toBe('c-9');
    const onlyFile = await TokenVerifier.fromEnv({ AUTH_PUBLIC_KEYS_FILE: file });
    await expect(onlyFile.verify(await c.signer.sign(who))).rejects.toThrow(/not among the accepted keys/);
  });

  it('refuses a configuration naming no key, and a keys file that is not a JWKS, with the setting in the message', async () => {
    await expect(TokenVerifier.fromEnv({})).rejects.toThrow(/AUTH_PUBLIC_KEYS_FILE/);
    const file = join(mkdtempSync(join(tmpdir(), 'jwks-')), 'bad.json');
    writeFileSync(file, JSON.stringify({ nope: [] }));
    await expect(TokenVerifier.fromEnv({ AUTH_PUBLIC_KEYS_FILE: file })).rejects.toThrow(/AUTH_PUBLIC_KEYS_FILE .* must be a JWKS/);
  });

  it('refuses a token without kid even when its signature is right', async () => {
    const { publicKey, privateKey } = await keyPair();
    const noKid = await new SignJWT({ kind: 'customer' })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('c-9')
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setExpirationTime('5m')
      .sign(await importPKCS8(privateKey, 'ES256'));
    await expect((await TokenVerifier.fromPem(publicKey)).verify(noKid)).rejects.toThrow(/names no signing key \(kid\)/);
  });
});
