/** Access tokens: verified locally, answered from memory until they expire, never past it. */
import { generateTokenKeys, TokenSigner, TokenVerifier } from '../src';
import { waitFor } from '../src/testing';

describe('TokenVerifier', () => {
  it('answers a token verified before from memory with a copy of its own, and refuses it once it expired', async () => {
    const { publicKey, privateKey } = await generateTokenKeys();
    const signer = await TokenSigner.fromPem(privateKey);
    const verifier = await TokenVerifier.fromPem(publicKey);
    // exp is whole seconds from the signing second: a 2 s token lives between 1 and 2 s.
    const token = await signer.sign({ sub: 'c-1', kind: 'staff', roles: ['seller'], channels: ['web'], channel: null }, 2);
    const first = await verifier.verify(token);
    expect(first).toMatchObject({ sub: 'c-1', kind: 'staff', roles: ['seller'], channels: ['web'] });
    first.roles.push('admin');
    expect((await verifier.verify(token)).roles).toEqual(['seller']);
    // Refused once expired, although it is remembered: memory never outlives the token.
    const refusal = await waitFor(
      () =>
        verifier.verify(token).then(
          () => null,
          (err: Error) => err,
        ),
      'the token to expire',
      5000,
    );
    expect(refusal.message).toMatch(/exp/);
  });

  it('refuses a token signed with another key', async () => {
    const other = await TokenSigner.fromPem((await generateTokenKeys()).privateKey);
    const verifier = await TokenVerifier.fromPem((await generateTokenKeys()).publicKey);
    const token = await other.sign({ sub: 'c-1', kind: 'customer', roles: [], channels: [], channel: null });
    await expect(verifier.verify(token)).rejects.toThrow();
  });
});
