/**
 * Evidence records, their hash chain and the offline verifier.
 *
 * One record per Kafka record the audit service saw. What is hashed is the leaf: the RFC 8785 text of
 * the record's facts, the payload only as `payloadHash` (SHA-256 of its canonical text) and the people
 * it concerns only as references (`subjects: [{ kind, ref }]`), never their values. Erasing a payload
 * (dropping `payload`, keeping `payloadHash`) therefore leaves every leaf, link, root and proof intact.
 *
 *   leaf L_i      = UTF-8(JCS({ v: 1, index, source, topic, partition, offset, eventId, type, actor,
 *                               subjects, channel, occurredAt, recordedAt, payloadHash, skipped, prevHash }))
 *   chain C_i     = SHA-256(0x02 ‖ C_{i-1} ‖ L_i)        C_{-1} = 32 zero bytes (GENESIS_HASH)
 *   Merkle leaf   = SHA-256(0x00 ‖ L_i)                  (RFC 6962 leaf hash; 0x02 keeps the chain apart)
 *
 * A record stores `prevHash` (C_{i-1}) and `hash` (C_i) in hex. The leaf names its predecessor too, so a
 * leaf met alone (in an inclusion proof) still says what came before it.
 */
import { createHash } from 'node:crypto';
import { canonicalBytes, canonicalHash } from './canonical';
import { type Checkpoint, type KeyInput, keyIdOf, verifyCheckpoint } from './checkpoint';
import { EvidenceError } from './errors';
import { leafHash, MerkleLog } from './merkle';

/** The leaf layout's version (`v` in the leaf). */
export const LEAF_VERSION = 1;
/** C_{-1}: the link the first record (index 0) hangs from. */
export const GENESIS_HASH = '0'.repeat(64);

const CHAIN_PREFIX = Buffer.from([0x02]);
const HEX_HASH = /^[0-9a-f]{64}$/;
/** A Kafka offset (int64) as canonical decimal text: no sign, no leading zeros. */
const OFFSET = /^(0|[1-9][0-9]{0,18})$/;

/** Whom a record concerns, by reference only (`{ kind: 'customer', ref: 'cus_123' }`): never a name or an address. */
export interface SubjectRef {
  kind: string;
  ref: string;
}

/** What the audit service knows of one Kafka record, before it is chained. */
export interface EvidenceInput {
  /** The producing service. */
  source: string;
  topic: string;
  partition: number;
  /** The Kafka offset as decimal text (int64 does not fit a JSON number). */
  offset: string;
  eventId: string;
  type: string;
  /** Who acted, by reference (staff id, customer id, service name), or null. */
  actor: string | null;
  subjects: SubjectRef[];
  channel: string | null;
  /** Epoch milliseconds: when the event happened (its envelope) and when it was recorded here. */
  occurredAt: number;
  recordedAt: number;
  /** The decoded payload: kept beside the evidence, hashed into it only as `payloadHash`. */
  payload: unknown;
  /** Why offsets before this one in its partition are absent (transaction markers, compaction...); omit when they are not. */
  skipped?: string;
}

/** One link of the log. `payload` is absent once erased; everything else is permanent. */
export interface EvidenceRecord extends Omit<EvidenceInput, 'payload'> {
  /** Position in the log, from 0, without holes. */
  index: number;
  /** Hex SHA-256 of the payload's RFC 8785 text. */
  payloadHash: string;
  payload?: unknown;
  /** Hex C_{index-1} (GENESIS_HASH for index 0). */
  prevHash: string;
  /** Hex C_index. */
  hash: string;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function hashBytes(hash: string | Uint8Array, what: string): Buffer {
  if (typeof hash === 'string') {
    if (!HEX_HASH.test(hash)) throw new EvidenceError('bad_hash', `${what} is 64 lowercase hex digits`);
    return Buffer.from(hash, 'hex');
  }
  if (hash.length !== 32) throw new EvidenceError('bad_hash', `${what} is 32 bytes`);
  return Buffer.from(hash);
}

/** The first thing wrong with an input's fields (as `{ code, hint }`), or null. Does not look at the payload. */
export function inputProblem(input: unknown): { code: string; hint: string } | null {
  if (input === null || typeof input !== 'object') return { code: 'bad_record', hint: 'an evidence record is an object' };
  const x = input as Record<string, unknown>;
  for (const field of ['source', 'topic', 'eventId', 'type'] as const) {
    if (!isText(x[field])) return { code: `bad_${field}`, hint: `${field} is a non-empty string` };
  }
  if (!isCount(x.partition)) return { code: 'bad_partition', hint: 'partition is a non-negative integer' };
  if (typeof x.offset !== 'string' || !OFFSET.test(x.offset)) {
    return { code: 'bad_offset', hint: 'offset is the Kafka offset as decimal text without leading zeros ("0", "42")' };
  }
  for (const field of ['actor', 'channel'] as const) {
    if (x[field] !== null && !isText(x[field])) return { code: `bad_${field}`, hint: `${field} is a non-empty string or null` };
  }
  if (!Array.isArray(x.subjects) || !x.subjects.every((s) => s !== null && typeof s === 'object' && isText(s.kind) && isText(s.ref))) {
    return { code: 'bad_subjects', hint: 'subjects is an array of { kind, ref } references (non-empty strings)' };
  }
  for (const field of ['occurredAt', 'recordedAt'] as const) {
    if (!Number.isSafeInteger(x[field])) return { code: `bad_${field}`, hint: `${field} is epoch milliseconds (an integer)` };
  }
  if (x.skipped !== undefined && !isText(x.skipped)) return { code: 'bad_skipped', hint: 'skipped is a non-empty reason, or absent' };
  return null;
}

/** The first thing wrong with a stored record's shape, or null. */
function recordProblem(record: unknown): string | null {
  const problem = inputProblem(record);
  if (problem !== null) return problem.hint;
  const x = record as Record<string, unknown>;
  if (!isCount(x.index)) return 'index is a non-negative integer';
  for (const field of ['payloadHash', 'prevHash', 'hash'] as const) {
    if (typeof x[field] !== 'string' || !HEX_HASH.test(x[field])) return `${field} is 64 lowercase hex digits`;
  }
  return null;
}

/** L: the canonical bytes of a record's facts, hanging from `prevHash`. Personal values are never in it. */
export function leafOf(record: Omit<EvidenceRecord, 'hash' | 'prevHash' | 'payload'>, prevHash: string | Uint8Array): Buffer {
  return canonicalBytes({
    v: LEAF_VERSION,
    index: record.index,
    source: record.source,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    eventId: record.eventId,
    type: record.type,
    actor: record.actor,
    subjects: record.subjects.map((s) => ({ kind: s.kind, ref: s.ref })),
    channel: record.channel,
    occurredAt: record.occurredAt,
    recordedAt: record.recordedAt,
    payloadHash: record.payloadHash,
    skipped: record.skipped ?? null,
    prevHash: hashBytes(prevHash, 'prevHash').toString('hex'),
  });
}

/** C_i = SHA-256(0x02 ‖ C_{i-1} ‖ L_i). */
export function chainHash(prev: string | Uint8Array, leaf: Uint8Array): Buffer {
  return createHash('sha256').update(CHAIN_PREFIX).update(hashBytes(prev, 'prev')).update(leaf).digest();
}

/** The record's RFC 6962 Merkle leaf hash: SHA-256(0x00 ‖ L). */
export function merkleLeafOf(record: EvidenceRecord): Buffer {
  return leafHash(leafOf(record, record.prevHash));
}

/**
 * The next link: `input` chained after `previous` (null for the first record). Throws an EvidenceError
 * (`code`, `hint`) for malformed fields or a payload that is not JSON data.
 */
export function chainRecord(input: EvidenceInput, previous: { index: number; hash: string } | null): EvidenceRecord {
  const problem = inputProblem(input);
  if (problem !== null) throw new EvidenceError(problem.code, problem.hint);
  if (previous !== null && (!isCount(previous.index) || typeof previous.hash !== 'string' || !HEX_HASH.test(previous.hash))) {
    throw new EvidenceError('bad_previous', 'the previous record has an index and a 64-hex-digit hash');
  }
  let payloadHash: string;
  try {
    payloadHash = canonicalHash(input.payload).toString('hex');
  } catch (err) {
    throw new EvidenceError('payload_not_json', `the payload must be JSON data: ${(err as Error).message}`);
  }
  const prevHash = previous === null ? GENESIS_HASH : previous.hash;
  // Only the named fields are kept: anything else a caller passes along never reaches the log.
  const record: Omit<EvidenceRecord, 'hash'> = {
    index: previous === null ? 0 : previous.index + 1,
    source: input.source,
    topic: input.topic,
    partition: input.partition,
    offset: input.offset,
    eventId: input.eventId,
    type: input.type,
    actor: input.actor,
    subjects: input.subjects.map((s) => ({ kind: s.kind, ref: s.ref })),
    channel: input.channel,
    occurredAt: input.occurredAt,
    recordedAt: input.recordedAt,
    ...(input.skipped === undefined ? {} : { skipped: input.skipped }),
    payloadHash,
    prevHash,
  };
  return { ...record, hash: chainHash(prevHash, leafOf(record, prevHash)).toString('hex'), payload: input.payload };
}

/** The record without its payload: what is left after erasure, and still verifies. */
export function erasePayload(record: EvidenceRecord): EvidenceRecord {
  const { payload: _erased, ...kept } = record;
  return kept;
}

export type ProblemKind = 'changed' | 'removed' | 'reordered' | 'truncated' | 'gap' | 'bad_signature';

/** One finding of `verifyLog`: `index` names a record, `checkpoint` a position in the checkpoints given. */
export interface LogProblem {
  kind: ProblemKind;
  index?: number;
  checkpoint?: number;
  detail: string;
}

const short = (hash: string): string => `${hash.slice(0, 16)}…`;

/** Positions (into `values`) of one longest strictly increasing subsequence: the records that kept their order. */
function longestIncreasing(values: readonly number[]): Set<number> {
  const tails: number[] = []; // tails[l]: position ending the best run of length l + 1
  const before = new Array<number>(values.length).fill(-1);
  values.forEach((value, position) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[tails[mid]] < value) lo = mid + 1;
      else hi = mid;
    }
    before[position] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = position;
  });
  const kept = new Set<number>();
  for (let p = tails.length > 0 ? tails[tails.length - 1] : -1; p !== -1; p = before[p]) kept.add(p);
  return kept;
}

/**
 * Checks an exported log with nothing but its records (in log order), its checkpoints and the public
 * keys, and lists every problem found (empty: the log is intact). Never throws on tampered or malformed
 * records or checkpoints; throws an EvidenceError only when a given public key is not an Ed25519 key.
 *
 * - changed: a record whose fields or payload no longer match its hashes, a record its successor was
 *   not chained to, a repeated index, a first record not hanging from GENESIS_HASH, or a checkpoint
 *   whose (validly signed) root differs from the root of the records it covers;
 * - removed: indices missing below the highest one present;
 * - reordered: records out of index order (the fewest that explain it), or a partition offset that
 *   goes back or repeats;
 * - truncated: the log ends before the size of the largest validly signed checkpoint;
 * - gap: offsets of a (topic, partition) jump without the later record saying `skipped`;
 * - bad_signature: a checkpoint whose key is unknown or whose signature does not verify.
 */
export function verifyLog(
  records: readonly EvidenceRecord[],
  checkpoints: readonly Checkpoint[],
  publicKeys: readonly KeyInput[],
): LogProblem[] {
  const problems: LogProblem[] = [];
  const found = (problem: LogProblem): void => void problems.push(problem);

  // Each record on its own: shape, its hash over its fields, its payload against payloadHash.
  const sound: { position: number; record: EvidenceRecord }[] = [];
  const leaves: Buffer[] = [];
  records.forEach((record, position) => {
    const shape = recordProblem(record);
    if (shape !== null) {
      const index = isCount((record as { index?: unknown } | null)?.index) ? (record as EvidenceRecord).index : undefined;
      found({ kind: 'changed', index, detail: `the record at position ${position} is malformed: ${shape}` });
      leaves.push(leafHash(Buffer.alloc(0)));
      return;
    }
    const leaf = leafOf(record, record.prevHash);
    leaves.push(leafHash(leaf));
    sound.push({ position, record });
    if (chainHash(record.prevHash, leaf).toString('hex') !== record.hash) {
      found({
        kind: 'changed',
        index: record.index,
        detail: `record ${record.index}'s fields no longer match its hash ${short(record.hash)}`,
      });
    }
    if (record.payload !== undefined) {
      let actual: string | null = null;
      try {
        actual = canonicalHash(record.payload).toString('hex');
      } catch {
        actual = null;
      }
      if (actual !== record.payloadHash) {
        found({
          kind: 'changed',
          index: record.index,
          detail: `record ${record.index}'s payload no longer matches its payloadHash ${short(record.payloadHash)}`,
        });
      }
    }
  });

  // Indices: repeated, missing, out of order.
  const byIndex = new Map<number, EvidenceRecord>();
  const ordered: { position: number; record: EvidenceRecord }[] = [];
  for (const entry of sound) {
    const { index } = entry.record;
    if (byIndex.has(index)) {
      found({ kind: 'changed', index, detail: `record ${index} appears more than once (again at position ${entry.position})` });
      continue;
    }
    byIndex.set(index, entry.record);
    ordered.push(entry);
  }
  const highest = ordered.reduce((max, { record }) => Math.max(max, record.index), -1);
  for (let index = 0; index <= highest; index++) {
    if (byIndex.has(index)) continue;
    let last = index;
    while (last + 1 <= highest && !byIndex.has(last + 1)) last++;
    found({ kind: 'removed', index, detail: last === index ? `record ${index} is missing` : `records ${index} to ${last} are missing` });
    index = last;
  }
  const kept = longestIncreasing(ordered.map(({ record }) => record.index));
  ordered.forEach(({ position, record }, i) => {
    if (!kept.has(i))
      found({ kind: 'reordered', index: record.index, detail: `record ${record.index} is out of order (at position ${position})` });
  });

  // Links: each record must hang from its predecessor's hash, the first from GENESIS_HASH.
  for (const record of byIndex.values()) {
    if (record.index === 0) {
      if (record.prevHash !== GENESIS_HASH) found({ kind: 'changed', index: 0, detail: `record 0 does not hang from the genesis hash` });
      continue;
    }
    const before = byIndex.get(record.index - 1);
    if (before !== undefined && record.prevHash !== before.hash) {
      found({
        kind: 'changed',
        index: before.index,
        detail: `record ${record.index} was chained to ${short(record.prevHash)} but record ${before.index}'s hash is ${short(before.hash)}: record ${before.index} was replaced or the link rewritten`,
      });
    }
  }

  // Offsets per (topic, partition), in index order: continuous unless the later record says skipped.
  const lastOffset = new Map<string, EvidenceRecord>();
  for (const record of [...byIndex.values()].sort((a, b) => a.index - b.index)) {
    const key = `${record.topic}\u0000${record.partition}`;
    const previous = lastOffset.get(key);
    lastOffset.set(key, record);
    if (previous === undefined) continue;
    const where = `${record.topic}/${record.partition}`;
    const step = BigInt(record.offset) - BigInt(previous.offset);
    if (step <= 0n) {
      found({
        kind: 'reordered',
        index: record.index,
        detail: `${where}: offset ${record.offset} comes after offset ${previous.offset} (record ${previous.index})`,
      });
    } else if (step > 1n && record.skipped === undefined) {
      const from = BigInt(previous.offset) + 1n;
      const to = BigInt(record.offset) - 1n;
      found({
        kind: 'gap',
        index: record.index,
        detail: `${where}: offset${from === to ? ` ${from} is` : `s ${from} to ${to} are`} missing before record ${record.index}`,
      });
    }
  }

  // Checkpoints: signature first; the validly signed ones must match the records they cover.
  const keys = new Map<string, KeyInput>();
  for (const key of publicKeys) {
    try {
      keys.set(keyIdOf(key), key);
    } catch (err) {
      throw new EvidenceError('bad_public_key', `every public key given is an Ed25519 SPKI key: ${(err as Error).message}`);
    }
  }
  const trusted: { position: number; checkpoint: Checkpoint }[] = [];
  checkpoints.forEach((checkpoint, position) => {
    const keyId = checkpoint !== null && typeof checkpoint === 'object' ? checkpoint.keyId : undefined;
    const key = typeof keyId === 'string' ? keys.get(keyId) : undefined;
    if (key === undefined) {
      found({
        kind: 'bad_signature',
        checkpoint: position,
        detail: `checkpoint ${position} names key ${String(keyId)}, which is not among the public keys given`,
      });
    } else if (!verifyCheckpoint(checkpoint, key)) {
      found({
        kind: 'bad_signature',
        checkpoint: position,
        detail: `checkpoint ${position}'s signature does not verify with key ${keyId}`,
      });
    } else {
      trusted.push({ position, checkpoint });
    }
  });
  trusted.sort((a, b) => a.checkpoint.treeSize - b.checkpoint.treeSize);
  const tree = new MerkleLog(leaves);
  let matched = 0;
  for (const { position, checkpoint } of trusted) {
    if (checkpoint.treeSize > tree.size) continue;
    const root = tree.root(checkpoint.treeSize).toString('hex');
    if (root === checkpoint.root) {
      matched = Math.max(matched, checkpoint.treeSize);
      continue;
    }
    found({
      kind: 'changed',
      checkpoint: position,
      detail: `the first ${checkpoint.treeSize} records hash to root ${short(root)}, checkpoint ${position} signed ${short(checkpoint.root)}: a record from ${matched} to ${checkpoint.treeSize - 1} differs from what was signed`,
    });
  }
  const largest = trusted.at(-1);
  if (largest !== undefined && highest + 1 < largest.checkpoint.treeSize) {
    found({
      kind: 'truncated',
      index: highest + 1,
      checkpoint: largest.position,
      detail: `the log ends ${highest < 0 ? 'before record 0' : `at record ${highest}`} but checkpoint ${largest.position} signed ${largest.checkpoint.treeSize} records: records ${highest + 1} to ${largest.checkpoint.treeSize - 1} are gone`,
    });
  }
  return problems;
}
