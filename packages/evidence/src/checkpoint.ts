/**
 * Signed checkpoints: the log's size and Merkle root at an instant, signed with Ed25519 so that anyone
 * holding the public key can check that the records they were given are the ones the log had then.
 *
 * The signed bytes are the UTF-8 of the RFC 8785 canonical text of
 *   { context: "omnimall-evidence-checkpoint/1", treeSize, root, at, keyId }
 * i.e. `{"at":…,"context":"omnimall-evidence-checkpoint/1","keyId":"…","root":"…","treeSize":…}`.
 * The context string keeps a checkpoint signature from being replayed as a signature over anything
 * else the same key might ever sign. `keyId` is the first 16 hex digits of SHA-256 of the public key's
 * SPKI DER encoding, so a verifier picks the right key and a rotated key never verifies old names.
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from './canonical';
import { EvidenceError } from './errors';

export const CHECKPOINT_CONTEXT = 'omnimall-evidence-checkpoint/1';

/** A signed tree head. `root` is lowercase hex, `at` epoch milliseconds, `signature` base64. */
export interface Checkpoint {
  treeSize: number;
  root: string;
  at: number;
  keyId: string;
  signature: string;
}

/** What gets signed, before it has a key id and a signature. */
export interface TreeHead {
  treeSize: number;
  root: string | Uint8Array;
  at: number;
}

/** A key as a KeyObject or PEM text (an SPKI public key; a PKCS#8 private key where one is needed). */
export type KeyInput = KeyObject | string;

const HEX_HASH = /^[0-9a-f]{64}$/;
const KEY_ID = /^[0-9a-f]{16}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const ED25519_SIGNATURE_BYTES = 64;

function publicKeyOf(key: KeyInput): KeyObject {
  const object = typeof key === 'string' ? createPublicKey(key) : key.type === 'public' ? key : createPublicKey(key);
  if (object.asymmetricKeyType !== 'ed25519') {
    throw new EvidenceError(
      'not_ed25519',
      `checkpoints are signed with Ed25519 keys; this one is ${object.asymmetricKeyType ?? 'not asymmetric'}`,
    );
  }
  return object;
}

/** First 16 hex digits of SHA-256 over the public key's SPKI DER (a private key is named by its public half). */
export function keyIdOf(key: KeyInput): string {
  const der = publicKeyOf(key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** The exact text a checkpoint's signature covers. */
export function checkpointText(head: { treeSize: number; root: string; at: number; keyId: string }): string {
  return canonicalJson({ context: CHECKPOINT_CONTEXT, treeSize: head.treeSize, root: head.root, at: head.at, keyId: head.keyId });
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Signs a tree head with an Ed25519 private key. Throws an EvidenceError for a malformed head or key. */
export function signCheckpoint(head: TreeHead, privateKey: KeyInput): Checkpoint {
  const root = typeof head.root === 'string' ? head.root : Buffer.from(head.root).toString('hex');
  if (!isCount(head.treeSize)) throw new EvidenceError('bad_tree_size', 'treeSize is a non-negative integer');
  if (!HEX_HASH.test(root)) throw new EvidenceError('bad_root', 'root is a SHA-256 hash: 32 bytes or 64 lowercase hex digits');
  if (!isCount(head.at)) throw new EvidenceError('bad_time', 'at is epoch milliseconds (a non-negative integer)');
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.type !== 'private') throw new EvidenceError('not_private_key', 'signing takes the private key');
  const keyId = keyIdOf(key);
  const unsigned = { treeSize: head.treeSize, root, at: head.at, keyId };
  const signature = sign(null, Buffer.from(checkpointText(unsigned), 'utf8'), key).toString('base64');
  return { ...unsigned, signature };
}

/**
 * True when the checkpoint is well formed, names `publicKey` and its signature verifies. Never throws:
 * anything malformed (including a key that is not Ed25519) is simply not a valid checkpoint.
 */
export function verifyCheckpoint(checkpoint: Checkpoint, publicKey: KeyInput): boolean {
  try {
    if (checkpoint === null || typeof checkpoint !== 'object') return false;
    const { treeSize, root, at, keyId, signature } = checkpoint;
    if (!isCount(treeSize) || !isCount(at) || typeof root !== 'string' || !HEX_HASH.test(root)) return false;
    if (typeof keyId !== 'string' || !KEY_ID.test(keyId) || typeof signature !== 'string' || !BASE64.test(signature)) return false;
    const bytes = Buffer.from(signature, 'base64');
    if (bytes.length !== ED25519_SIGNATURE_BYTES || bytes.toString('base64') !== signature) return false;
    const key = publicKeyOf(publicKey);
    if (keyIdOf(key) !== keyId) return false;
    return verify(null, Buffer.from(checkpointText({ treeSize, root, at, keyId }), 'utf8'), key, bytes);
  } catch {
    return false;
  }
}

/** When the next checkpoint is due: every `everyRecords` records or every `everyMs` milliseconds, whichever comes first. */
export interface CheckpointPolicy {
  everyRecords: number;
  everyMs: number;
}

/**
 * Whether a log of `size` records at `now` needs a new checkpoint after `last` (null: none yet). Only a
 * log that grew needs one: an idle log is not re-signed every `everyMs`.
 */
export function checkpointDue(last: { treeSize: number; at: number } | null, size: number, now: number, policy: CheckpointPolicy): boolean {
  if (last === null) return size > 0;
  if (size <= last.treeSize) return false;
  return size - last.treeSize >= policy.everyRecords || now - last.at >= policy.everyMs;
}
