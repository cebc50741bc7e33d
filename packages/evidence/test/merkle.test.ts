/**
 * RFC 6962 / 9162 Merkle trees. The expected values are built here straight from the RFC's definitions
 * (hashes spelled out for the small trees, and a slice-by-slice transcription of MTH, PATH and
 * SUBPROOF), then every proof of every tree up to 40 leaves is generated, verified and tampered with.
 */
import { createHash } from 'node:crypto';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  MerkleLog,
  nodeHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '@omnimall/evidence';

const MAX = 40;

function sha256(...parts: Buffer[]): Buffer {
  return createHash('sha256').update(Buffer.concat(parts)).digest();
}

/** Entry i of the test trees: a few bytes that differ per entry. */
const entry = (i: number): Buffer => Buffer.from(`entry ${i}`, 'utf8');
const LEAVES = Array.from({ length: MAX }, (_, i) => leafHash(entry(i)));

// The RFC's definitions on slices, kept naive on purpose: the reference the package is held to.
function largestPowerBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha256();
  if (d.length === 1) return d[0];
  const k = largestPowerBelow(d.length);
  return sha256(Buffer.from([1]), mth(d.slice(0, k)), mth(d.slice(k)));
}
function refPath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = largestPowerBelow(d.length);
  return m < k ? [...refPath(m, d.slice(0, k)), mth(d.slice(k))] : [...refPath(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function refSubproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = largestPowerBelow(d.length);
  return m <= k ? [...refSubproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...refSubproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

function flipped(proof: Buffer[], element: number, byte: number): Buffer[] {
  return proof.map((p, i) => {
    if (i !== element) return p;
    const copy = Buffer.from(p);
    copy[byte] ^= 0x01;
    return copy;
  });
}

const hex = (b: Buffer): string => b.toString('hex');

describe('hashes with distinct prefixes (RFC 9162 §2.1.1)', () => {
  it('hashes a leaf as SHA-256(0x00 ‖ data) and a node as SHA-256(0x01 ‖ left ‖ right)', () => {
    const data = Buffer.from('hello');
    expect(hex(leafHash(data))).toBe(hex(sha256(Buffer.from([0]), data)));
    const [a, b] = [leafHash(Buffer.from('a')), leafHash(Buffer.from('b'))];
    expect(hex(nodeHash(a, b))).toBe(hex(sha256(Buffer.from([1]), a, b)));
    // The same 65 bytes as a leaf and as a node never collide: the prefix differs.
    expect(hex(leafHash(Buffer.concat([a, b])))).not.toBe(hex(nodeHash(a, b)));
  });

  it('gives the small trees their definitions, spelled out', () => {
    const [d0, d1, d2, d3, d4] = [0, 1, 2, 3, 4].map((i) => sha256(Buffer.from([0]), entry(i)));
    const n = (l: Buffer, r: Buffer): Buffer => sha256(Buffer.from([1]), l, r);
    expect(hex(rootOf([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(emptyRoot())).toBe(hex(rootOf([])));
    expect(hex(rootOf([d0]))).toBe(hex(d0));
    expect(hex(rootOf([d0, d1]))).toBe(hex(n(d0, d1)));
    expect(hex(rootOf([d0, d1, d2]))).toBe(hex(n(n(d0, d1), d2)));
    expect(hex(rootOf([d0, d1, d2, d3]))).toBe(hex(n(n(d0, d1), n(d2, d3))));
    expect(hex(rootOf([d0, d1, d2, d3, d4]))).toBe(hex(n(n(n(d0, d1), n(d2, d3)), d4)));
    // Proofs of the 5-leaf tree, bottom up.
    expect(inclusionProof([d0, d1, d2, d3, d4], 2).map(hex)).toEqual([d3, n(d0, d1), d4].map(hex));
    expect(inclusionProof([d0, d1, d2, d3, d4], 4).map(hex)).toEqual([n(n(d0, d1), n(d2, d3))].map(hex));
    expect(consistencyProof([d0, d1, d2, d3, d4], 3).map(hex)).toEqual([d2, d3, n(d0, d1), d4].map(hex));
    expect(consistencyProof([d0, d1, d2, d3, d4], 4).map(hex)).toEqual([d4].map(hex));
  });

  it('agrees with the roots other Certificate Transparency implementations publish for their 8 test entries', () => {
    const entries = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
    const leaves = entries.map((e) => leafHash(Buffer.from(e, 'hex')));
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    roots.forEach((root, i) => expect(hex(rootOf(leaves.slice(0, i + 1)))).toBe(root));
    const log = new MerkleLog(leaves);
    roots.forEach((root, i) => expect(hex(log.root(i + 1))).toBe(root));
  });
});

describe('roots of every tree up to 40 leaves', () => {
  it('match the definition, from the leaf array and from the incremental log at every size', () => {
    const log = new MerkleLog();
    expect(hex(log.root())).toBe(hex(emptyRoot()));
    for (let n = 1; n <= MAX; n++) {
      expect(log.append(LEAVES[n - 1])).toBe(n - 1);
      const expected = hex(mth(LEAVES.slice(0, n)));
      expect(hex(rootOf(LEAVES.slice(0, n)))).toBe(expected);
      expect(hex(log.root())).toBe(expected);
    }
    for (let size = 0; size <= MAX; size++) expect(hex(log.root(size))).toBe(hex(mth(LEAVES.slice(0, size))));
    expect(log.size).toBe(MAX);
    expect(hex(log.leaf(7))).toBe(hex(LEAVES[7]));
  });
});

describe('inclusion proofs (RFC 9162 §2.1.3) for every leaf of every tree up to 40', () => {
  it('are the audit path of the definition and verify', () => {
    const log = new MerkleLog(LEAVES);
    for (let n = 1; n <= MAX; n++) {
      const tree = LEAVES.slice(0, n);
      const root = mth(tree);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree, i);
        expect(proof.map(hex)).toEqual(refPath(i, tree).map(hex));
        expect(log.inclusionProof(i, n).map(hex)).toEqual(proof.map(hex));
        expect(verifyInclusion(tree[i], i, n, proof, root)).toBe(true);
      }
    }
  });

  it('fail with a flipped byte anywhere in the proof, the leaf or the root', () => {
    const accepted: string[] = [];
    for (let n = 1; n <= MAX; n++) {
      const tree = LEAVES.slice(0, n);
      const root = mth(tree);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree, i);
        for (let e = 0; e < proof.length; e++) {
          for (const byte of [0, 13, 31]) {
            if (verifyInclusion(tree[i], i, n, flipped(proof, e, byte), root)) accepted.push(`leaf ${i} of ${n}, node ${e} byte ${byte}`);
          }
        }
        if (verifyInclusion(flipped([tree[i]], 0, 5)[0], i, n, proof, root)) accepted.push(`leaf ${i} of ${n}, the leaf`);
        if (verifyInclusion(tree[i], i, n, proof, flipped([root], 0, 31)[0])) accepted.push(`leaf ${i} of ${n}, the root`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('fail for any other index, and for any other tree head (size and its root)', () => {
    // A size is only ever checked together with its own root (a signed checkpoint carries both): a
    // proof can fit another size when given the root of the size it was made for, never that size's root.
    const roots = Array.from({ length: MAX + 8 }, (_, n) => mth(LEAVES.concat(LEAVES.slice(0, 8)).slice(0, n)));
    const accepted: string[] = [];
    for (let n = 1; n <= MAX; n++) {
      const tree = LEAVES.slice(0, n);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree, i);
        for (let other = 0; other < n + 2; other++) {
          if (other !== i && verifyInclusion(tree[i], other, n, proof, roots[n])) accepted.push(`leaf ${i} of ${n} as index ${other}`);
        }
        for (let size = 0; size < roots.length; size++) {
          if (size !== n && verifyInclusion(tree[i], i, size, proof, roots[size])) accepted.push(`leaf ${i} of ${n} in size ${size}`);
        }
      }
    }
    expect(accepted).toEqual([]);
  });

  it('fail when the proof is cut short or has a node too many, and never throw on junk', () => {
    const tree = LEAVES.slice(0, 13);
    const root = mth(tree);
    const proof = inclusionProof(tree, 6);
    expect(verifyInclusion(tree[6], 6, 13, proof.slice(0, -1), root)).toBe(false);
    expect(verifyInclusion(tree[6], 6, 13, [...proof, LEAVES[0]], root)).toBe(false);
    expect(verifyInclusion(tree[6], 6, 13, [], root)).toBe(false);
    expect(verifyInclusion(tree[6], -1, 13, proof, root)).toBe(false);
    expect(verifyInclusion(tree[6], 6.5, 13, proof, root)).toBe(false);
    expect(verifyInclusion(tree[6], 13, 13, proof, root)).toBe(false);
    expect(verifyInclusion(tree[6].subarray(1), 6, 13, proof, root)).toBe(false);
    expect(verifyInclusion(tree[6], 6, 13, [Buffer.alloc(31), ...proof.slice(1)], root)).toBe(false);
    expect(verifyInclusion(tree[6], 6, 13, 'nope' as unknown as Buffer[], root)).toBe(false);
    // The one-leaf tree: the leaf is the root and the proof is empty.
    expect(verifyInclusion(tree[0], 0, 1, [], tree[0])).toBe(true);
  });
});

describe('consistency proofs (RFC 9162 §2.1.4) between every pair of sizes up to 40', () => {
  it('are the definition and verify', () => {
    const log = new MerkleLog(LEAVES);
    for (let n = 1; n <= MAX; n++) {
      const tree = LEAVES.slice(0, n);
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(tree, m);
        const expected = m === 0 || m === n ? [] : refSubproof(m, tree, true);
        expect(proof.map(hex)).toEqual(expected.map(hex));
        expect(log.consistencyProof(m, n).map(hex)).toEqual(proof.map(hex));
        expect(verifyConsistency(m, n, mth(tree.slice(0, m)), mth(tree), proof)).toBe(true);
      }
    }
  });

  it('fail with a flipped byte in the proof or either root', () => {
    const accepted: string[] = [];
    for (let n = 2; n <= MAX; n++) {
      const tree = LEAVES.slice(0, n);
      for (let m = 1; m < n; m++) {
        const proof = consistencyProof(tree, m);
        const [oldRoot, newRoot] = [mth(tree.slice(0, m)), mth(tree)];
        for (let e = 0; e < proof.length; e++) {
          for (const byte of [0, 31]) {
            if (verifyConsistency(m, n, oldRoot, newRoot, flipped(proof, e, byte))) accepted.push(`${m}→${n}, node ${e} byte ${byte}`);
          }
        }
        if (verifyConsistency(m, n, flipped([oldRoot], 0, 0)[0], newRoot, proof)) accepted.push(`${m}→${n}, the old root`);
        if (verifyConsistency(m, n, oldRoot, flipped([newRoot], 0, 0)[0], proof)) accepted.push(`${m}→${n}, the new root`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('fail for any other pair of tree heads', () => {
    const roots = Array.from({ length: MAX + 1 }, (_, n) => mth(LEAVES.slice(0, n)));
    const accepted: string[] = [];
    for (let n = 2; n <= MAX; n++) {
      for (let m = 1; m < n; m++) {
        const proof = consistencyProof(LEAVES.slice(0, n), m);
        for (let otherOld = 1; otherOld < n; otherOld++) {
          if (otherOld !== m && verifyConsistency(otherOld, n, roots[otherOld], roots[n], proof))
            accepted.push(`${m}→${n} as ${otherOld}→${n}`);
        }
        for (let otherNew = m + 1; otherNew <= MAX; otherNew++) {
          if (otherNew !== n && verifyConsistency(m, otherNew, roots[m], roots[otherNew], proof))
            accepted.push(`${m}→${n} as ${m}→${otherNew}`);
        }
      }
    }
    expect(accepted).toEqual([]);
  });

  it('fail for a tree that is not an extension, and at the edges need exactly no proof', () => {
    const forked = [...LEAVES.slice(0, 5), leafHash(Buffer.from('forged')), ...LEAVES.slice(6, 12)];
    const proof = consistencyProof(forked, 7);
    expect(verifyConsistency(7, 12, mth(LEAVES.slice(0, 7)), mth(forked), proof)).toBe(false);
    expect(verifyConsistency(7, 12, mth(forked.slice(0, 7)), mth(forked), proof)).toBe(true);

    const root9 = mth(LEAVES.slice(0, 9));
    expect(verifyConsistency(9, 9, root9, root9, [])).toBe(true);
    expect(verifyConsistency(9, 9, root9, root9, [LEAVES[0]])).toBe(false);
    expect(verifyConsistency(9, 9, root9, mth(LEAVES.slice(0, 8)), [])).toBe(false);
    expect(verifyConsistency(0, 9, emptyRoot(), root9, [])).toBe(true);
    expect(verifyConsistency(0, 9, root9, root9, [])).toBe(false);
    expect(verifyConsistency(4, 9, mth(LEAVES.slice(0, 4)), root9, [])).toBe(false);
    expect(verifyConsistency(9, 4, root9, mth(LEAVES.slice(0, 4)), [])).toBe(false);
  });
});

describe('MerkleLog at scale', () => {
  it('keeps the root of 5,000 appended leaves (and of every 97th size) equal to the definition', () => {
    const leaves = Array.from({ length: 5000 }, (_, i) => leafHash(Buffer.from(String(i))));
    const log = new MerkleLog();
    for (const leaf of leaves) log.append(leaf);
    expect(hex(log.root())).toBe(hex(rootOf(leaves)));
    for (let size = 0; size <= 5000; size += 97) expect(hex(log.root(size))).toBe(hex(rootOf(leaves.slice(0, size))));
    const proof = log.inclusionProof(4321);
    // 4321 sits right of the 4,096-leaf subtree, in the left 512-leaf subtree of the 904 after it: 9 + 1 + 1 nodes.
    expect(proof).toHaveLength(11);
    expect(verifyInclusion(leaves[4321], 4321, 5000, proof, log.root())).toBe(true);
    expect(verifyConsistency(3001, 5000, log.root(3001), log.root(), log.consistencyProof(3001))).toBe(true);
  });

  it('refuses leaf hashes that are not 32 bytes and sizes beyond the log, and hands out copies', () => {
    const log = new MerkleLog(LEAVES.slice(0, 3));
    expect(() => log.append(Buffer.alloc(31))).toThrow(RangeError);
    expect(() => log.root(4)).toThrow(RangeError);
    expect(() => log.inclusionProof(3)).toThrow(RangeError);
    expect(() => log.consistencyProof(2, 4)).toThrow(RangeError);
    expect(() => log.leaf(3)).toThrow(RangeError);
    expect(() => rootOf([Buffer.alloc(3)])).toThrow(RangeError);
    expect(() => inclusionProof(LEAVES.slice(0, 3), 3)).toThrow(RangeError);
    expect(() => consistencyProof(LEAVES.slice(0, 3), 4)).toThrow(RangeError);
    const root = log.root();
    log.leaf(0).fill(0);
    root.fill(0);
    expect(hex(log.root())).toBe(hex(mth(LEAVES.slice(0, 3))));
  });
});
