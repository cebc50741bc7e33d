/**
 * The evidence chain and the verifier: an intact log (also after a JSON export) verifies, erasure keeps
 * it verifiable, and each kind of tampering is found and named.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  canonicalHash,
  canonicalJson,
  chainHash,
  chainRecord,
  erasePayload,
  EvidenceError,
  GENESIS_HASH,
  inputProblem,
  leafOf,
  merkleLeafOf,
  MerkleLog,
  signCheckpoint,
  verifyInclusion,
  verifyLog,
  type Checkpoint,
  type EvidenceInput,
  type EvidenceRecord,
  type LogProblem,
} from '@omnimall/evidence';

const T0 = 1_733_600_000_000;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const KEYS = [publicKey];

/** Record i: two of three on orders.order-status/0, one on cart.cart-changed/1, offsets continuous per partition. */
function inputs(count: number): EvidenceInput[] {
  const next = new Map<string, number>();
  return Array.from({ length: count }, (_, i) => {
    const topic = i % 3 === 2 ? 'cart.cart-changed' : 'orders.order-status';
    const partition = topic === 'cart.cart-changed' ? 1 : 0;
    const offset = next.get(topic) ?? 100;
    next.set(topic, offset + 1);
    return {
      source: topic.split('.')[0],
      topic,
      partition,
      offset: String(offset),
      eventId: `evt-${i}`,
      type: topic === 'cart.cart-changed' ? 'CartChanged' : 'OrderStatusChanged',
      actor: i % 4 === 0 ? null : `staff_${i % 4}`,
      subjects: [{ kind: 'customer', ref: `cus_${i % 5}` }],
      channel: i % 2 === 0 ? 'web' : 'pos-paris',
      occurredAt: T0 + i * 1000,
      recordedAt: T0 + i * 1000 + 40,
      payload: { customer: { email: `person${i}@example.com`, name: `Person ${i}` }, totalMinor: i * 100 },
    };
  });
}

function chain(list: EvidenceInput[]): EvidenceRecord[] {
  const records: EvidenceRecord[] = [];
  for (const input of list) records.push(chainRecord(input, records.at(-1) ?? null));
  return records;
}

function checkpointsOf(records: EvidenceRecord[], sizes: number[], key = privateKey): Checkpoint[] {
  const log = new MerkleLog(records.map(merkleLeafOf));
  return sizes.map((treeSize, i) => signCheckpoint({ treeSize, root: log.root(treeSize), at: T0 + 60_000 * (i + 1) }, key));
}

const RECORDS = chain(inputs(12));
const CHECKPOINTS = checkpointsOf(RECORDS, [5, 10, 12]);

const kinds = (problems: LogProblem[]): string[] => [...new Set(problems.map((p) => p.kind))].sort();
const copy = (records: EvidenceRecord[]): EvidenceRecord[] => records.map((r) => ({ ...r }));

describe('an intact log', () => {
  it('has no problems, as built and after a JSON export and re-import', () => {
    expect(verifyLog(RECORDS, CHECKPOINTS, KEYS)).toEqual([]);
    const exported = JSON.parse(JSON.stringify({ records: RECORDS, checkpoints: CHECKPOINTS }));
    expect(verifyLog(exported.records, exported.checkpoints, [publicKey.export({ type: 'spki', format: 'pem' }).toString()])).toEqual([]);
  });

  it('chains each record to the one before: hash = SHA-256(0x02 ‖ prevHash ‖ leaf), the first from the genesis hash', () => {
    expect(RECORDS[0].prevHash).toBe(GENESIS_HASH);
    RECORDS.forEach((record, i) => {
      expect(record.index).toBe(i);
      if (i > 0) expect(record.prevHash).toBe(RECORDS[i - 1].hash);
      const expected = createHash('sha256')
        .update(Buffer.concat([Buffer.from([2]), Buffer.from(record.prevHash, 'hex'), leafOf(record, record.prevHash)]))
        .digest('hex');
      expect(record.hash).toBe(expected);
      expect(chainHash(record.prevHash, leafOf(record, record.prevHash)).toString('hex')).toBe(expected);
    });
  });

  it('hashes the facts, the payload only as its canonical hash and the people only as references', () => {
    const record = RECORDS[3];
    const leaf = leafOf(record, record.prevHash).toString('utf8');
    expect(leaf).toBe(
      canonicalJson({
        v: 1,
        index: 3,
        source: 'orders',
        topic: 'orders.order-status',
        partition: 0,
        offset: '102',
        eventId: 'evt-3',
        type: 'OrderStatusChanged',
        actor: 'staff_3',
        subjects: [{ kind: 'customer', ref: 'cus_3' }],
        channel: 'pos-paris',
        occurredAt: T0 + 3000,
        recordedAt: T0 + 3040,
        payloadHash: canonicalHash(record.payload).toString('hex'),
        skipped: null,
        prevHash: RECORDS[2].hash,
      }),
    );
    expect(leaf).not.toContain('person3@example.com');
    expect(leaf).not.toContain('Person 3');
  });

  it('keeps only the named fields of an input, and refuses malformed ones with a code and a hint', () => {
    const withExtra = { ...inputs(1)[0], email: 'person0@example.com' } as EvidenceInput;
    expect(chainRecord(withExtra, null)).not.toHaveProperty('email');
    expect(inputProblem({ ...inputs(1)[0], offset: '007' })).toEqual({ code: 'bad_offset', hint: expect.any(String) });
    expect(inputProblem({ ...inputs(1)[0], subjects: [{ kind: 'customer', ref: '' }] })).toMatchObject({ code: 'bad_subjects' });
    expect(inputProblem(inputs(1)[0])).toBeNull();
    expect(() => chainRecord({ ...inputs(1)[0], partition: -1 }, null)).toThrow(expect.objectContaining({ code: 'bad_partition' }));
    expect(() => chainRecord({ ...inputs(1)[0], payload: { amount: 1n } }, null)).toThrow(
      expect.objectContaining({ code: 'payload_not_json' }),
    );
    expect(() => chainRecord(inputs(1)[0], { index: 0, hash: 'nope' })).toThrow(EvidenceError);
  });
});

describe('erasure', () => {
  it('drops payloads and leaves every leaf, link, root and proof verifiable', () => {
    const erased = RECORDS.map((r) => (r.index === 3 || r.index === 7 ? erasePayload(r) : r));
    expect(erased[3]).not.toHaveProperty('payload');
    expect(JSON.stringify(erased[3])).not.toContain('person3@example.com');
    expect(verifyLog(erased, CHECKPOINTS, KEYS)).toEqual([]);

    const log = new MerkleLog(erased.map(merkleLeafOf));
    const head = CHECKPOINTS[2];
    expect(log.root(head.treeSize).toString('hex')).toBe(head.root);
    expect(
      verifyInclusion(merkleLeafOf(erased[3]), 3, head.treeSize, log.inclusionProof(3, head.treeSize), Buffer.from(head.root, 'hex')),
    ).toBe(true);
  });
});

describe('tampering found and named', () => {
  it('changed: a field edited in place names the record, and every checkpoint covering it fails its root', () => {
    const records = copy(RECORDS);
    records[3].actor = 'staff_9';
    const problems = verifyLog(records, CHECKPOINTS, KEYS);
    expect(kinds(problems)).toEqual(['changed']);
    expect(problems.filter((p) => p.index !== undefined)).toEqual([
      { kind: 'changed', index: 3, detail: expect.stringContaining('record 3') },
    ]);
    expect(problems.filter((p) => p.checkpoint !== undefined).map((p) => p.checkpoint)).toEqual([0, 1, 2]);
  });

  it('changed: a record replaced with a recomputed hash breaks the link its successor holds', () => {
    const records = copy(RECORDS);
    const forged = { ...records[3], actor: 'staff_9' };
    forged.hash = chainHash(forged.prevHash, leafOf(forged, forged.prevHash)).toString('hex');
    records[3] = forged;
    const problems = verifyLog(records, CHECKPOINTS, KEYS);
    expect(kinds(problems)).toEqual(['changed']);
    expect(problems.filter((p) => p.index !== undefined)).toEqual([
      { kind: 'changed', index: 3, detail: expect.stringContaining('record 4 was chained to') },
    ]);
  });

  it('changed: a payload edited after the fact is found without touching the chain', () => {
    const records = copy(RECORDS);
    records[4].payload = { customer: { email: 'someone-else@example.com', name: 'Person 4' }, totalMinor: 400 };
    expect(verifyLog(records, CHECKPOINTS, KEYS)).toEqual([{ kind: 'changed', index: 4, detail: expect.stringContaining('payload') }]);
  });

  it('changed: the whole log re-chained from an edited record passes the chain but not the signed roots', () => {
    const list = inputs(12);
    list[2] = { ...list[2], actor: 'staff_9' };
    const problems = verifyLog(chain(list), CHECKPOINTS, KEYS);
    expect(problems).toEqual([0, 1, 2].map((checkpoint) => ({ kind: 'changed', checkpoint, detail: expect.any(String) })));
    expect(problems[0].detail).toContain('a record from 0 to 4 differs');
  });

  it('changed: a repeated record and a first record not hanging from the genesis hash', () => {
    const repeated = [...RECORDS.slice(0, 6), { ...RECORDS[5] }, ...RECORDS.slice(6)];
    expect(verifyLog(repeated, [], KEYS)).toEqual([{ kind: 'changed', index: 5, detail: expect.stringContaining('more than once') }]);

    const records = copy(RECORDS);
    records[0].prevHash = 'f'.repeat(64);
    records[0].hash = chainHash(records[0].prevHash, leafOf(records[0], records[0].prevHash)).toString('hex');
    const problems = verifyLog(records, [], KEYS);
    expect(problems).toContainEqual({ kind: 'changed', index: 0, detail: expect.stringContaining('genesis') });
  });

  it('removed: a record taken out of the middle, and the offset gap it leaves in its partition', () => {
    const records = RECORDS.filter((r) => r.index !== 5);
    const problems = verifyLog(records, CHECKPOINTS, KEYS);
    expect(problems.filter((p) => p.kind !== 'changed')).toEqual([
      { kind: 'removed', index: 5, detail: 'record 5 is missing' },
      { kind: 'gap', index: 8, detail: 'cart.cart-changed/1: offset 101 is missing before record 8' },
    ]);
    expect(kinds(problems)).toEqual(['changed', 'gap', 'removed']);
  });

  it('removed: several in a row are one finding', () => {
    const records = RECORDS.filter((r) => r.index < 3 || r.index > 6);
    expect(verifyLog(records, [], KEYS)).toContainEqual({ kind: 'removed', index: 3, detail: 'records 3 to 6 are missing' });
  });

  it('reordered: two records swapped are named by the fewest moves, with no record called missing', () => {
    const records = [...RECORDS];
    [records[6], records[7]] = [records[7], records[6]];
    const problems = verifyLog(records, CHECKPOINTS, KEYS);
    const reordered = problems.filter((p) => p.kind === 'reordered');
    expect(reordered).toHaveLength(1);
    expect([6, 7]).toContain(reordered[0].index);
    expect(kinds(problems)).toEqual(['changed', 'reordered']);
    // The signed roots cover the log's order: the checkpoints past the swap no longer match.
    expect(problems.filter((p) => p.kind === 'changed').map((p) => p.checkpoint)).toEqual([1, 2]);
  });

  it('reordered: one record moved far names only that record', () => {
    const records = [RECORDS[0], RECORDS[9], ...RECORDS.slice(1, 9), ...RECORDS.slice(10)];
    const reordered = verifyLog(records, [], KEYS).filter((p) => p.kind === 'reordered');
    expect(reordered).toEqual([{ kind: 'reordered', index: 9, detail: 'record 9 is out of order (at position 1)' }]);
  });

  it('truncated: the tail cut below the last signed size', () => {
    expect(verifyLog(RECORDS.slice(0, 9), CHECKPOINTS, KEYS)).toEqual([
      { kind: 'truncated', index: 9, checkpoint: 2, detail: expect.stringContaining('records 9 to 11 are gone') },
    ]);
    expect(verifyLog(RECORDS.slice(0, 12), CHECKPOINTS, KEYS)).toEqual([]);
    expect(verifyLog([], CHECKPOINTS, KEYS)).toEqual([{ kind: 'truncated', index: 0, checkpoint: 2, detail: expect.any(String) }]);
  });

  it('gap: offsets of a partition that jump, unless the record says why they were skipped', () => {
    const list = inputs(6);
    list[3] = { ...list[3], offset: '105' }; // orders.order-status/0: 102 expected
    list[4] = { ...list[4], offset: '106' };
    const withGap = chain(list);
    expect(verifyLog(withGap, [], KEYS)).toEqual([
      { kind: 'gap', index: 3, detail: 'orders.order-status/0: offsets 102 to 104 are missing before record 3' },
    ]);
    list[3] = { ...list[3], skipped: 'transaction markers' };
    expect(verifyLog(chain(list), [], KEYS)).toEqual([]);
    // The reason is part of the leaf: adding it afterwards is a change.
    const added = copy(withGap);
    added[3].skipped = 'transaction markers';
    expect(kinds(verifyLog(added, [], KEYS))).toEqual(['changed']);
  });

  it('reordered: an offset that goes back or repeats within its partition', () => {
    const list = inputs(6);
    list[4] = { ...list[4], offset: '101' }; // orders.order-status/0 already reached 102 at record 3
    expect(verifyLog(chain(list), [], KEYS)).toEqual([
      { kind: 'reordered', index: 4, detail: 'orders.order-status/0: offset 101 comes after offset 102 (record 3)' },
    ]);
  });

  it('bad_signature: a checkpoint edited after signing, or signed by a key not given', () => {
    const edited = CHECKPOINTS.map((c, i) => (i === 1 ? { ...c, treeSize: 11 } : c));
    expect(verifyLog(RECORDS, edited, KEYS)).toEqual([
      { kind: 'bad_signature', checkpoint: 1, detail: expect.stringContaining('does not verify') },
    ]);

    const foreign = [...CHECKPOINTS, ...checkpointsOf(RECORDS, [12], stranger.privateKey)];
    expect(verifyLog(RECORDS, foreign, KEYS)).toEqual([
      { kind: 'bad_signature', checkpoint: 3, detail: expect.stringContaining('not among the public keys') },
    ]);
    expect(verifyLog(RECORDS, foreign, [publicKey, stranger.publicKey])).toEqual([]);
  });

  it('bad_signature: a checkpoint whose key id names the right key but was signed by another', () => {
    const [forged] = checkpointsOf(RECORDS, [12], stranger.privateKey);
    expect(verifyLog(RECORDS, [{ ...forged, keyId: CHECKPOINTS[0].keyId }], KEYS)).toEqual([
      { kind: 'bad_signature', checkpoint: 0, detail: expect.any(String) },
    ]);
  });

  it('never throws on junk records or checkpoints, and refuses a public key that is not Ed25519', () => {
    const junk = [null, {}, { ...RECORDS[0], index: 'zero' }] as unknown as EvidenceRecord[];
    const problems = verifyLog(junk, [null, { treeSize: 'x' }] as unknown as Checkpoint[], KEYS);
    expect(problems.filter((p) => p.kind === 'changed')).toHaveLength(3);
    expect(problems.filter((p) => p.kind === 'bad_signature')).toHaveLength(2);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => verifyLog(RECORDS, CHECKPOINTS, [ec.publicKey])).toThrow(expect.objectContaining({ code: 'bad_public_key' }));
  });
});
