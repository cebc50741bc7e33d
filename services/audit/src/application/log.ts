/**
 * The append-only evidence log: the hash chain, the Merkle tree (in memory, rebuilt from the stored
 * leaf hashes at start), signed checkpoints, and the proofs. One writer: appends are serialised here.
 *
 * Start: the head says how many records are chained; records stored beyond it (a crash between the
 * records and the head) are adopted, and the last record's partition position is mended (a crash
 * between the head and the positions), so a record re-read from Kafka after a crash is never chained
 * twice. The tree is rebuilt in the background: until it is, `ready` is false and appends and proofs
 * wait (nothing else in the platform waits on the audit).
 */
import { randomUUID } from 'node:crypto';
import {
  chainRecord,
  checkpointDue,
  GENESIS_HASH,
  MerkleLog,
  merkleLeafOf,
  signCheckpoint,
  type CheckpointPolicy,
  type EvidenceInput,
} from '@omnimall/evidence';
import { newEnvelope, type EventPublisher, type Logger } from '@omnimall/service-kit';
import { AppError, NotFoundError, ValidationError } from '@omnimall/service-kit/errors';
import { skippedBetween, type EvidenceKind } from '../domain/records';
import type { CheckpointRepository, StoredCheckpoint } from '../store/checkpoints';
import type { Head, LogRepository, Position, StoredEvidence } from '../store/evidence';
import type { Signer } from './keys';

export interface Appendable {
  input: EvidenceInput;
  kind: EvidenceKind;
  ts: number;
}

export class AuditLog {
  private tree = new MerkleLog();
  private headState: Head = { size: 0, chainHead: GENESIS_HASH };
  private readonly lastOffsets = new Map<string, string>();
  private loaded = false;
  private loading?: Promise<void>;
  private lastCheckpoint: { treeSize: number; at: number } | null = null;
  private appending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: LogRepository,
    private readonly checkpoints: CheckpointRepository,
    private readonly signer: Signer,
    private readonly publisher: Pick<EventPublisher, 'publish'>,
    private readonly policy: CheckpointPolicy,
    private readonly logger: Logger,
    /** What is done to a record just before it is stored (its hashed fields untouched): personal identifiers, erasures. */
    private readonly prepare: (record: StoredEvidence) => StoredEvidence = (r) => r,
  ) {}

  /** Reads the head and positions, adopts records past the head, and starts rebuilding the tree. */
  async open(): Promise<void> {
    this.headState = (await this.log.head()) ?? { size: 0, chainHead: GENESIS_HASH };
    for (const p of await this.log.positions()) this.lastOffsets.set(keyOf(p.topic, p.partition), p.offset);
    // records stored after the head (a crash between the two writes): chained from it already, adopt them
    for (;;) {
      const orphans = await this.log.range(this.headState.size, 1000, { withPayload: false });
      const next = orphans.filter(
        (r, i) => r.index === this.headState.size + i && r.prevHash === (i === 0 ? this.headState.chainHead : orphans[i - 1].hash),
      );
      if (!next.length) break;
      const last = next[next.length - 1];
      this.headState = { size: last.index + 1, chainHead: last.hash };
      for (const r of next) this.notePosition(r);
      await this.log.append([], this.headState, {
        topic: last.topic,
        partition: last.partition,
        offset: this.lastOffsets.get(keyOf(last.topic, last.partition))!,
      });
      this.logger.warn('adopted evidence stored after the head (a crash between writes)', { records: next.length });
    }
    // the last record's partition position (a crash between the head and the position)
    if (this.headState.size > 0) {
      const last = await this.log.get(this.headState.size - 1);
      if (last) this.notePosition(last);
    }
    const latest = await this.checkpoints.latest();
    this.lastCheckpoint = latest ? { treeSize: latest.treeSize, at: latest.at } : null;
    this.loading = this.rebuild();
    this.loading.catch((err) => this.logger.error('evidence tree not rebuilt', { err: String(err) }));
  }

  private async rebuild(): Promise<void> {
    const started = Date.now();
    const tree = new MerkleLog();
    await this.log.leaves(0, this.headState.size, (page) => page.forEach((leaf) => tree.append(leaf)));
    const root = tree.root().toString('hex');
    const latest = await this.checkpoints.latest();
    if (latest && latest.treeSize <= tree.size && tree.root(latest.treeSize).toString('hex') !== latest.root) {
      this.logger.error('the stored evidence does not match the latest signed checkpoint', { treeSize: latest.treeSize });
    }
    this.tree = tree;
    this.loaded = true;
    this.logger.info('evidence tree rebuilt', { records: tree.size, root, ms: Date.now() - started });
  }

  /** Resolves once the tree is rebuilt (appends wait for it). */
  whenReady(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  get ready(): boolean {
    return this.loaded;
  }

  get size(): number {
    return this.headState.size;
  }

  get chainHead(): string {
    return this.headState.chainHead;
  }

  /** The last offset recorded of every topic partition. */
  positions(): Position[] {
    return [...this.lastOffsets].map(([key, offset]) => {
      const cut = key.lastIndexOf('|');
      return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)), offset };
    });
  }

  /** The last offset recorded of a topic partition. */
  lastOffset(topic: string, partition: number): string | undefined {
    return this.lastOffsets.get(keyOf(topic, partition));
  }

  /**
   * Chains and stores records of ONE topic partition (in offset order), skipping any whose offset was
   * recorded already (a re-read after a crash). Serialised with every other append.
   */
  append(topic: string, partition: number, items: readonly Appendable[]): Promise<StoredEvidence[]> {
    const run = this.appending.then(() => this.appendNow(topic, partition, items));
    this.appending = run.catch(() => undefined);
    return run;
  }

  private async appendNow(topic: string, partition: number, items: readonly Appendable[]): Promise<StoredEvidence[]> {
    await this.whenReady();
    const key = keyOf(topic, partition);
    let last = this.lastOffsets.get(key);
    let previous = this.headState.size === 0 ? null : { index: this.headState.size - 1, hash: this.headState.chainHead };
    const records: StoredEvidence[] = [];
    for (const item of items) {
      if (last !== undefined && BigInt(item.input.offset) <= BigInt(last)) continue;
      // offsets Kafka never delivered (compaction, transaction markers) are named, so a verifier tells them from a removed record
      const skipped = skippedBetween(last, item.input.offset);
      const chained = chainRecord(skipped ? { ...item.input, skipped } : item.input, previous);
      const leaf = merkleLeafOf(chained).toString('hex');
      records.push(this.prepare({ ...chained, kind: item.kind, leaf, ts: item.ts }));
      previous = { index: chained.index, hash: chained.hash };
      last = item.input.offset;
    }
    if (!records.length) return [];
    const head = { size: previous!.index + 1, chainHead: previous!.hash };
    await this.log.append(records, head, { topic, partition, offset: last! });
    for (const r of records) this.tree.append(Buffer.from(r.leaf, 'hex'));
    this.headState = head;
    this.lastOffsets.set(key, last!);
    return records;
  }

  /** Signs a checkpoint when one is due (policy: every N records or T ms) or `force`d; returns it, or null. */
  async checkpoint(now = Date.now(), force = false): Promise<StoredCheckpoint | null> {
    const run = this.appending.then(async () => {
      if (!this.loaded) return null;
      const size = this.headState.size;
      if (this.lastCheckpoint?.treeSize === size) return null;
      if (!force && !checkpointDue(this.lastCheckpoint, size, now, this.policy)) return null;
      const signed = signCheckpoint({ treeSize: size, root: this.tree.root(size), at: now }, this.signer.privateKey);
      const stored: StoredCheckpoint = { ...signed, chainHead: this.headState.chainHead, published: false };
      await this.checkpoints.add(stored);
      this.lastCheckpoint = { treeSize: size, at: now };
      await this.publish(stored);
      return stored;
    });
    this.appending = run.catch(() => undefined);
    return run;
  }

  /** Publishes checkpoints not yet on audit.checkpoint (after an outage of Kafka). */
  async publishPending(): Promise<number> {
    const pending = await this.checkpoints.unpublished(100);
    for (const c of pending) await this.publish(c);
    return pending.length;
  }

  private async publish(c: StoredCheckpoint): Promise<void> {
    try {
      await this.publisher.publish([
        {
          topic: 'audit.checkpoint',
          key: String(c.treeSize),
          value: {
            envelope: newEnvelope({
              type: 'checkpoint.signed',
              producer: 'audit',
              aggregateId: String(c.treeSize),
              aggregateVersion: c.treeSize,
              correlationId: `checkpoint-${randomUUID()}`,
              occurredAt: c.at,
            }),
            treeSize: c.treeSize,
            root: c.root,
            at: c.at,
            keyId: c.keyId,
            signature: c.signature,
            chainHead: c.chainHead,
          },
        },
      ]);
      await this.checkpoints.markPublished(c.treeSize);
    } catch (err) {
      this.logger.warn('checkpoint not published yet (retried by the checkpoint worker)', { treeSize: c.treeSize, err: String(err) });
    }
  }

  private requireTree(): void {
    if (!this.loaded)
      throw new AppError(503, 'log_loading', 'the evidence tree is being rebuilt after a start', 'try again in a few seconds', {
        records: this.headState.size,
        retryAfterSeconds: 5,
      });
  }

  private requireSize(treeSize: number, what: string): void {
    if (treeSize < 1 || treeSize > this.tree.size)
      throw new ValidationError(
        'tree_size_unknown',
        `${what} ${treeSize} is not a size of this log`,
        `use a checkpoint's treeSize (1..${this.tree.size})`,
        {
          size: this.tree.size,
        },
      );
  }

  /** The audit path of record `index` in the tree of `treeSize` records (default: the latest checkpoint's). */
  async inclusion(
    index: number,
    treeSize?: number,
  ): Promise<{ index: number; treeSize: number; leafHash: string; root: string; proof: string[] }> {
    this.requireTree();
    const size = treeSize ?? (await this.checkpoints.latest())?.treeSize ?? this.tree.size;
    this.requireSize(size, 'treeSize');
    if (index < 0 || index >= size)
      throw new NotFoundError(
        'record_not_in_tree',
        `record ${index} is not in the tree of ${size}`,
        'ask with a later checkpoint’s treeSize',
      );
    return {
      index,
      treeSize: size,
      leafHash: this.tree.leaf(index).toString('hex'),
      root: this.tree.root(size).toString('hex'),
      proof: this.tree.inclusionProof(index, size).map((h) => h.toString('hex')),
    };
  }

  /** The proof that the tree of `from` records is a prefix of the tree of `to`. */
  consistency(from: number, to: number): { from: number; to: number; fromRoot: string; toRoot: string; proof: string[] } {
    this.requireTree();
    this.requireSize(to, 'to');
    if (from < 1 || from > to)
      throw new ValidationError('bad_range', `from ${from} must be within 1..${to}`, 'from is the older checkpoint’s treeSize');
    return {
      from,
      to,
      fromRoot: this.tree.root(from).toString('hex'),
      toRoot: this.tree.root(to).toString('hex'),
      proof: this.tree.consistencyProof(from, to).map((h) => h.toString('hex')),
    };
  }

  /** The root of the first `size` records (for verification against stored checkpoints). */
  root(size: number): string {
    this.requireTree();
    return this.tree.root(size).toString('hex');
  }

  private notePosition(r: Pick<StoredEvidence, 'topic' | 'partition' | 'offset'>): void {
    const key = keyOf(r.topic, r.partition);
    const known = this.lastOffsets.get(key);
    if (known === undefined || BigInt(r.offset) > BigInt(known)) this.lastOffsets.set(key, r.offset);
  }
}

export const keyOf = (topic: string, partition: number): string => `${topic}|${partition}`;

export type { Position };
