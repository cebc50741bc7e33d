/** Ed25519-signed checkpoints: the signed text, key ids, verification of every field, the policy. */
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import {
  checkpointDue,
  checkpointText,
  EvidenceError,
  keyIdOf,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
} from '@omnimall/evidence';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const ROOT = 'ab'.repeat(32);
const AT = 1_733_600_000_000;

describe('keyIdOf', () => {
  it('is the first 16 hex digits of SHA-256 over the SPKI DER, for the public key, its PEM or its private half', () => {
    const expected = createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex')
      .slice(0, 16);
    expect(keyIdOf(publicKey)).toBe(expected);
    expect(keyIdOf(publicKey.export({ type: 'spki', format: 'pem' }).toString())).toBe(expected);
    expect(keyIdOf(privateKey)).toBe(expected);
    expect(keyIdOf(other.publicKey)).not.toBe(expected);
  });

  it('refuses a key that is not Ed25519, with a code and a hint', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => keyIdOf(ec.publicKey)).toThrow(EvidenceError);
    expect(() => keyIdOf(ec.publicKey)).toThrow(expect.objectContaining({ code: 'not_ed25519', hint: expect.stringContaining('Ed25519') }));
  });
});

describe('signCheckpoint and verifyCheckpoint', () => {
  const checkpoint = signCheckpoint({ treeSize: 42, root: ROOT, at: AT }, privateKey);

  it('signs the canonical text of (treeSize, root, at, keyId) under its context, verifiable with node:crypto alone', () => {
    const keyId = keyIdOf(publicKey);
    expect(checkpoint).toEqual({ treeSize: 42, root: ROOT, at: AT, keyId, signature: expect.any(String) });
    const text = `{"at":${AT},"context":"omnimall-evidence-checkpoint/1","keyId":"${keyId}","root":"${ROOT}","treeSize":42}`;
    expect(checkpointText(checkpoint)).toBe(text);
    expect(verify(null, Buffer.from(text), publicKey, Buffer.from(checkpoint.signature, 'base64'))).toBe(true);
    expect(verifyCheckpoint(checkpoint, publicKey)).toBe(true);
    expect(verifyCheckpoint(checkpoint, publicKey.export({ type: 'spki', format: 'pem' }).toString())).toBe(true);
  });

  it('takes the root as bytes too, and a PEM private key', () => {
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const fromBytes = signCheckpoint({ treeSize: 42, root: Buffer.from(ROOT, 'hex'), at: AT }, pem);
    expect(fromBytes.root).toBe(ROOT);
    expect(verifyCheckpoint(fromBytes, publicKey)).toBe(true);
  });

  it.each<[string, Partial<Checkpoint>]>([
    ['treeSize', { treeSize: 43 }],
    ['root', { root: 'ac' + ROOT.slice(2) }],
    ['at', { at: AT + 1 }],
    ['keyId', { keyId: keyIdOf(other.publicKey) }],
    ['signature', { signature: Buffer.alloc(64, 7).toString('base64') }],
  ])('fails once its %s is changed', (_field, change) => {
    expect(verifyCheckpoint({ ...checkpoint, ...change }, publicKey)).toBe(false);
  });

  it('fails with another key, even one that claims its key id', () => {
    expect(verifyCheckpoint(checkpoint, other.publicKey)).toBe(false);
    const forged = signCheckpoint({ treeSize: 42, root: ROOT, at: AT }, other.privateKey);
    expect(verifyCheckpoint({ ...forged, keyId: checkpoint.keyId }, publicKey)).toBe(false);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a negative size', { ...checkpoint, treeSize: -1 }],
    ['a fractional time', { ...checkpoint, at: AT + 0.5 }],
    ['an uppercase root', { ...checkpoint, root: ROOT.toUpperCase() }],
    ['a short signature', { ...checkpoint, signature: 'AAAA' }],
    ['a signature that is not base64', { ...checkpoint, signature: '!'.repeat(88) }],
    ['a missing key id', { ...checkpoint, keyId: undefined }],
  ])('is false, without throwing, for %s', (_what, junk) => {
    expect(verifyCheckpoint(junk as Checkpoint, publicKey)).toBe(false);
  });

  it('is false for a key that is not Ed25519 rather than throwing', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(verifyCheckpoint(checkpoint, ec.publicKey)).toBe(false);
  });

  it('refuses to sign a malformed head or with a public key, with codes', () => {
    expect(() => signCheckpoint({ treeSize: -1, root: ROOT, at: AT }, privateKey)).toThrow(
      expect.objectContaining({ code: 'bad_tree_size' }),
    );
    expect(() => signCheckpoint({ treeSize: 1, root: 'xyz', at: AT }, privateKey)).toThrow(expect.objectContaining({ code: 'bad_root' }));
    expect(() => signCheckpoint({ treeSize: 1, root: ROOT, at: 1.5 }, privateKey)).toThrow(expect.objectContaining({ code: 'bad_time' }));
    expect(() => signCheckpoint({ treeSize: 1, root: ROOT, at: AT }, publicKey)).toThrow(
      expect.objectContaining({ code: 'not_private_key' }),
    );
  });
});

describe('checkpointDue: every N records or T milliseconds, whichever comes first', () => {
  const policy = { everyRecords: 100, everyMs: 10_000 };

  it('is due for a first checkpoint as soon as the log has a record', () => {
    expect(checkpointDue(null, 0, AT, policy)).toBe(false);
    expect(checkpointDue(null, 1, AT, policy)).toBe(true);
  });

  it('is due after N more records, or after T with at least one more record, and never for an idle log', () => {
    const last = { treeSize: 500, at: AT };
    expect(checkpointDue(last, 599, AT + 9_999, policy)).toBe(false);
    expect(checkpointDue(last, 600, AT + 1, policy)).toBe(true);
    expect(checkpointDue(last, 501, AT + 10_000, policy)).toBe(true);
    expect(checkpointDue(last, 500, AT + 1_000_000, policy)).toBe(false);
  });
});
