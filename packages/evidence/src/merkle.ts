/**
 * Merkle trees as Certificate Transparency defines them (RFC 6962 §2.1, RFC 9162 §2.1), over SHA-256:
 *
 *   leaf hash  = SHA-256(0x00 ‖ entry bytes)
 *   node hash  = SHA-256(0x01 ‖ left ‖ right)
 *   MTH({})    = SHA-256()                          (the empty string)
 *   MTH({h})   = h                                  (one leaf hash)
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n]))     k: the largest power of two smaller than n
 *
 * The distinct prefixes keep a leaf from ever passing for an inner node (second-preimage attacks).
 * The functions over an array of leaf hashes follow the RFC's recursive definitions literally (O(n) per
 * call); `MerkleLog` keeps every complete subtree so that an append costs O(log n) hashes at worst
 * (amortised one) and the root of any earlier size, an inclusion proof or a consistency proof costs
 * O(log n) to O(log² n) hashes, never a pass over the leaves. Verification follows RFC 9162 §2.1.3.2 and
 * §2.1.4.2 and never throws: a malformed input is simply not a proof.
 */
import { createHash } from 'node:crypto';

/** Bytes of a SHA-256 hash. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** SHA-256(0x00 ‖ data): the hash of one log entry. */
export function leafHash(data: Uint8Array): Buffer {
  return sha256(LEAF_PREFIX, data);
}

/** SHA-256(0x01 ‖ left ‖ right): an inner node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE_PREFIX, left, right);
}

/** The root of the empty tree: SHA-256 of no bytes. */
export function emptyRoot(): Buffer {
  return sha256();
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return isHash(a) && isHash(b) && Buffer.compare(a, b) === 0;
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function requireLeafHashes(leafHashes: readonly Uint8Array[]): void {
  leafHashes.forEach((hash, i) => {
    if (!isHash(hash)) throw new RangeError(`leaf hash ${i} is not ${HASH_SIZE} bytes`);
  });
}

/** Anything that can give the root of a range of leaves: the literal recursion or the log's stored subtrees. */
type RangeRoot = (start: number, end: number) => Buffer;

function literalRange(leafHashes: readonly Uint8Array[]): RangeRoot {
  const mth: RangeRoot = (start, end) => {
    const n = end - start;
    if (n === 0) return emptyRoot();
    if (n === 1) return Buffer.from(leafHashes[start]);
    const k = split(n);
    return nodeHash(mth(start, start + k), mth(start + k, end));
  };
  return mth;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[start:end]), m relative to start. */
function path(range: RangeRoot, m: number, start: number, end: number): Buffer[] {
  const n = end - start;
  if (n <= 1) return [];
  const k = split(n);
  if (m < k) return [...path(range, m, start, start + k), range(start + k, end)];
  return [...path(range, m - k, start + k, end), range(start, start + k)];
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], b). */
function subproof(range: RangeRoot, m: number, start: number, end: number, complete: boolean): Buffer[] {
  const n = end - start;
  if (m === n) return complete ? [] : [range(start, end)];
  const k = split(n);
  if (m <= k) return [...subproof(range, m, start, start + k, complete), range(start + k, end)];
  return [...subproof(range, m - k, start + k, end, false), range(start, start + k)];
}

/** MTH over the given leaf hashes (RFC 9162 §2.1.1). */
export function rootOf(leafHashes: readonly Uint8Array[]): Buffer {
  requireLeafHashes(leafHashes);
  return literalRange(leafHashes)(0, leafHashes.length);
}

/** The audit path of leaf `index` in the tree of all the given leaf hashes, bottom up. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Buffer[] {
  requireLeafHashes(leafHashes);
  if (!isSize(index) || index >= leafHashes.length) throw new RangeError(`leaf ${index} is not in a tree of ${leafHashes.length}`);
  return path(literalRange(leafHashes), index, 0, leafHashes.length);
}

/** The proof that the tree of the first `oldSize` leaves is a prefix of the tree of all of them. */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number): Buffer[] {
  requireLeafHashes(leafHashes);
  if (!isSize(oldSize) || oldSize > leafHashes.length) throw new RangeError(`size ${oldSize} is not within a tree of ${leafHashes.length}`);
  if (oldSize === 0 || oldSize === leafHashes.length) return [];
  return subproof(literalRange(leafHashes), oldSize, 0, leafHashes.length, true);
}

/** RFC 9162 §2.1.3.2: does `proof` put `leaf` at `index` in the tree of `treeSize` leaves with `root`? */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(leaf) || !isHash(root) || !isSize(index) || !isSize(treeSize) || index >= treeSize) return false;
  if (!Array.isArray(proof) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(r, root);
}

/** RFC 9162 §2.1.4.2: is the tree (`newSize`, `newRoot`) an extension of the tree (`oldSize`, `oldRoot`)? */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(oldSize) || !isSize(newSize) || oldSize > newSize || !isHash(oldRoot) || !isHash(newRoot)) return false;
  if (!Array.isArray(proof) || !proof.every(isHash)) return false;
  // The RFC's algorithm starts at 0 < old < new; the two edges need no proof at all.
  if (oldSize === newSize) return proof.length === 0 && sameHash(oldRoot, newRoot);
  if (oldSize === 0) return proof.length === 0 && sameHash(oldRoot, emptyRoot());
  if (proof.length === 0) return false;
  // A power-of-two old tree is a complete subtree of the new one: its root is the path's first node.
  const nodes: readonly Uint8Array[] = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(nodes[0]);
  let sr: Buffer = Buffer.from(nodes[0]);
  for (const c of nodes.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, oldRoot) && sameHash(sr, newRoot);
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** One level of complete subtrees, 32 bytes each, in one growing buffer (no object per hash). */
class HashRow {
  private bytes = Buffer.alloc(HASH_SIZE * 16);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.bytes.length) {
      const grown = Buffer.alloc(this.bytes.length * 2);
      this.bytes.copy(grown, 0, 0, this.length * HASH_SIZE);
      this.bytes = grown;
    }
    this.bytes.set(hash, this.length * HASH_SIZE);
    this.length += 1;
  }

  /** A view: copy it before it leaves the log. */
  at(i: number): Buffer {
    return this.bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/**
 * An append-only Merkle tree that keeps every complete subtree: row h holds the roots of the aligned
 * subtrees of 2^h leaves, left to right. Appending a leaf adds it to row 0 and, while the new node is a
 * right child, its parent to the row above: the right edge of full subtrees (the "frontier") is the
 * last node of each row whose bit is set in the size. Any range the RFC's recursions ask for starts on a
 * boundary of its own size, so its root is O(log n) stored nodes folded from the right. Memory: about
 * 64 bytes per leaf.
 */
export class MerkleLog {
  private readonly rows: HashRow[] = [];
  private count = 0;

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const hash of leafHashes) this.append(hash);
  }

  /** Number of leaves. */
  get size(): number {
    return this.count;
  }

  /** Appends one leaf hash (32 bytes); returns its index. */
  append(hash: Uint8Array): number {
    if (!isHash(hash)) throw new RangeError(`a leaf hash is ${HASH_SIZE} bytes`);
    const index = this.count;
    let node: Uint8Array = hash;
    let position = index;
    for (let height = 0; ; height++) {
      if (this.rows.length === height) this.rows.push(new HashRow());
      this.rows[height].push(node);
      if (position % 2 === 0) break;
      node = nodeHash(this.rows[height].at(position - 1), node);
      position = (position - 1) / 2;
    }
    this.count += 1;
    return index;
  }

  /** The leaf hash at `index` (a copy). */
  leaf(index: number): Buffer {
    this.requireSize(index + 1, 'leaf');
    return Buffer.from(this.rows[0].at(index));
  }

  /** MTH of the first `size` leaves (default: all): O(log n). */
  root(size: number = this.count): Buffer {
    this.requireSize(size, 'size');
    return Buffer.from(this.range(0, size));
  }

  /** The audit path of leaf `index` in the tree of the first `size` leaves (default: all). */
  inclusionProof(index: number, size: number = this.count): Buffer[] {
    this.requireSize(size, 'size');
    if (!isSize(index) || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
    return path((s, e) => Buffer.from(this.range(s, e)), index, 0, size);
  }

  /** The proof that the tree of `oldSize` leaves is a prefix of the tree of `newSize` (default: all). */
  consistencyProof(oldSize: number, newSize: number = this.count): Buffer[] {
    this.requireSize(newSize, 'size');
    if (!isSize(oldSize) || oldSize > newSize) throw new RangeError(`size ${oldSize} is not within a tree of ${newSize}`);
    if (oldSize === 0 || oldSize === newSize) return [];
    return subproof((s, e) => Buffer.from(this.range(s, e)), oldSize, 0, newSize, true);
  }

  private requireSize(size: number, what: string): void {
    if (!isSize(size) || size > this.count) throw new RangeError(`${what} ${size} is beyond a log of ${this.count}`);
  }

  /** MTH(D[start:end]); a stored node when the range is one aligned complete subtree. */
  private range(start: number, end: number): Buffer {
    const n = end - start;
    if (n === 0) return emptyRoot();
    if (isPowerOfTwo(n) && start % n === 0) return this.rows[Math.log2(n)].at(start / n);
    const k = split(n);
    return nodeHash(this.range(start, start + k), this.range(start + k, end));
  }
}
