/**
 * The audit service against the real broker, registry and database: records of business topics,
 * dead letters (decodable or not) and exceptions become chained evidence; checkpoints are signed and
 * published; inclusion and consistency proofs verify with the open verifier alone; trails answer by
 * subject, channel and kind; who may read what; a restart neither loses nor repeats a record; holds,
 * erasure and retention drop payloads and keep the log verifiable; tampering with the stored log is found.
 */
import { createPublicKey } from 'node:crypto';
import { keyIdOf, leafHash, verifyCheckpoint, verifyConsistency, verifyInclusion, type Checkpoint } from '@omnimall/evidence';
import { testGroups, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { StoredEvidence } from '../src/store';
import { idOf } from '../src/store/evidence';
import { main as verifyCli } from '../src/cli/verify';
import { adminH, auditor, customerH, getJson, managerOf, postJson, Producer, startAudit, type AuditInstance } from './support';

jest.setTimeout(60_000);

let sim: Producer;
let audit: AuditInstance;
const dbName = uniqueName('audit');
const groups = testGroups();

beforeAll(async () => {
  sim = await Producer.start();
  audit = await startAudit({ dbName, groups });
});

afterAll(async () => {
  await audit?.stop();
  await sim?.stop();
});

const recordsOf = (kind: string, ref: string): Promise<StoredEvidence[]> => audit.trails.find({ subject: { kind, ref } }, 100);

async function recorded(kind: string, ref: string, n = 1): Promise<StoredEvidence[]> {
  return (await waitFor(async () => {
    const found = await recordsOf(kind, ref);
    return found.length >= n ? found : undefined;
  }, `${n} record(s) of ${kind} ${ref}`)) as StoredEvidence[];
}

describe('evidence records', () => {
  it('records a business event with its facts, subjects by reference, channel and canonical payload hash', async () => {
    const code = await sim.channel();
    const [r] = await recorded('channel', code);
    expect(r).toMatchObject({
      source: 'channels',
      topic: 'channels.channel-changed',
      type: 'channel.changed',
      kind: 'business',
      channel: code,
      subjects: expect.arrayContaining([{ kind: 'channel', ref: code }]),
    });
    expect(r.payloadHash).toMatch(/^[0-9a-f]{64}$/);
    expect((r.payload as { code?: string }).code).toBe(code);
    expect(r.recordedAt).toBeGreaterThanOrEqual(r.occurredAt);
  });

  it('records dead letters with their reason, decodable or not, and exceptions as policy evidence', async () => {
    const reason = uniqueName('reason');
    await sim.deadLetter(Buffer.from('not avro at all'), reason);
    const [dl] = (await waitFor(async () => {
      const found = await audit.trails.find({ topic: 'channels.channel-changed.dlq', kinds: ['dead_letter'] }, 500);
      const mine = found.filter((r) => (r.payload as { headers?: Record<string, string> })?.headers?.['x-dlq-reason'] === reason);
      return mine.length ? mine : undefined;
    }, 'the dead letter recorded')) as StoredEvidence[];
    expect(dl.type).toBe('undecodable');
    expect((dl.payload as { raw?: { base64?: string } }).raw?.base64).toBe(Buffer.from('not avro at all').toString('base64'));

    const customer = uniqueName('cus');
    await sim.refusal(customer, 'web');
    const [refusal] = await recorded('customer', customer);
    expect(refusal).toMatchObject({ kind: 'policy', topic: 'platform.exception', channel: 'web', actor: customer, source: 'cart' });
  });
});

describe('tamper evidence', () => {
  it('signs checkpoints, publishes their keys, and proves inclusion and consistency to the open verifier', async () => {
    const code = await sim.channel();
    const [r] = await recorded('channel', code);
    const first = (await waitFor(
      () => audit.store.checkpoints.latest().then((c) => (c && c.treeSize > r.index ? c : undefined)),
      'a checkpoint over the record',
    ))!;
    const keys = await getJson<Array<{ keyId: string; publicPem: string }>>(`${audit.url}/audit/keys`);
    expect(keys.status).toBe(200);
    const key = keys.body.find((k) => k.keyId === first.keyId)!;
    expect(keyIdOf(createPublicKey(key.publicPem))).toBe(first.keyId);
    expect(verifyCheckpoint(first, key.publicPem)).toBe(true);
    expect(verifyCheckpoint({ ...first, treeSize: first.treeSize + 1 }, key.publicPem)).toBe(false);

    const proof = await getJson<{ leafHash: string; root: string; proof: string[]; treeSize: number }>(
      `${audit.url}/audit/proofs/inclusion?index=${r.index}&treeSize=${first.treeSize}`,
      await auditor(),
    );
    expect(proof.status).toBe(200);
    expect(proof.body.root).toBe(first.root);
    const { leafOf } = await import('@omnimall/evidence');
    // the auditor recomputes the leaf from the record's own fields: the proof binds those facts
    expect(leafHash(leafOf(r, r.prevHash)).toString('hex')).toBe(proof.body.leafHash);
    expect(
      verifyInclusion(
        Buffer.from(proof.body.leafHash, 'hex'),
        r.index,
        first.treeSize,
        proof.body.proof.map((h) => Buffer.from(h, 'hex')),
        Buffer.from(first.root, 'hex'),
      ),
    ).toBe(true);

    await sim.channel();
    await sim.channel();
    const later = (await waitFor(
      () => audit.store.checkpoints.latest().then((c) => (c && c.treeSize > first.treeSize ? c : undefined)),
      'a later checkpoint',
    ))!;
    const cons = await getJson<{ proof: string[] }>(
      `${audit.url}/audit/proofs/consistency?from=${first.treeSize}&to=${later.treeSize}`,
      await auditor(),
    );
    expect(cons.status).toBe(200);
    expect(
      verifyConsistency(
        first.treeSize,
        later.treeSize,
        Buffer.from(first.root, 'hex'),
        Buffer.from(later.root, 'hex'),
        cons.body.proof.map((h) => Buffer.from(h, 'hex')),
      ),
    ).toBe(true);
    const bad = await getJson(
      `${audit.url}/audit/proofs/consistency?from=${later.treeSize + 1000}&to=${later.treeSize + 2000}`,
      await auditor(),
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'tree_size_unknown', hint: expect.any(String) });
  });

  it('publishes every checkpoint on audit.checkpoint', async () => {
    await sim.channel();
    const c = (await waitFor(
      () => audit.store.checkpoints.latest().then((x) => (x?.published ? x : undefined)),
      'a published checkpoint',
    ))!;
    expect(c.published).toBe(true);
    expect(await audit.store.checkpoints.unpublished(10)).toEqual([]);
  });

  it('verifies the intact log, here and with the CLI', async () => {
    const code = await sim.channel();
    await recorded('channel', code);
    await waitFor(
      () => audit.store.checkpoints.latest().then((c) => (c && c.treeSize === audit.log.size ? c : undefined)),
      'the head checkpointed',
    );
    const v = await postJson<{ ok: boolean; problems: unknown[]; records: number }>(`${audit.url}/audit/verify`, {}, await auditor());
    expect(v.status).toBe(200);
    expect(v.body.problems).toEqual([]);
    expect(v.body.ok).toBe(true);
    const lines: string[] = [];
    const token = (await auditor()).authorization.replace('Bearer ', '');
    expect(await verifyCli(['--url', audit.url, '--token', token], {}, (l) => lines.push(l))).toBe(0);
    expect(lines.at(-1)).toBe('the log is intact');
  });
});

describe('trails and access', () => {
  it('answers by subject, channel and kind; managers only for their channels; customers and anonymous callers never', async () => {
    const code = await sim.channel();
    await recorded('channel', code);
    const byChannel = await getJson<Array<{ channel: string; kind: string }>>(
      `${audit.url}/audit/records?channel=${code}`,
      await auditor(),
    );
    expect(byChannel.status).toBe(200);
    expect(byChannel.body.length).toBeGreaterThan(0);
    expect(byChannel.body.every((r) => r.channel === code)).toBe(true);
    const byKind = await getJson<Array<{ kind: string }>>(`${audit.url}/audit/records?kind=policy,collision&limit=500`, await auditor());
    expect(byKind.body.every((r) => ['policy', 'collision'].includes(r.kind))).toBe(true);

    expect((await getJson(`${audit.url}/audit/records?channel=${code}`, await managerOf(code))).status).toBe(200);
    const other = await getJson(`${audit.url}/audit/records?channel=elsewhere`, await managerOf(code));
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ code: 'channel_out_of_scope', hint: expect.any(String) });
    expect((await getJson(`${audit.url}/audit/records`, await customerH())).status).toBe(403);
    expect((await getJson(`${audit.url}/audit/records`)).status).toBe(401);
    expect((await postJson(`${audit.url}/audit/verify`, {}, await managerOf(code))).status).toBe(403);
    expect((await getJson(`${audit.url}/audit/log`, await managerOf(code))).status).toBe(403);
    expect((await postJson(`${audit.url}/audit/retention/prune`, {}, await auditor())).status).toBe(403);
    const badKind = await getJson(`${audit.url}/audit/records?kind=nonsense`, await auditor());
    expect(badKind.status).toBe(400);
    expect(badKind.body).toMatchObject({ code: 'validation_failed', hint: expect.any(String) });
  });
});

describe('retention, legal hold and erasure', () => {
  it('an erasure drops the customer’s payloads unless held; retention prunes; the log still verifies', async () => {
    const held = uniqueName('cus');
    const erased = uniqueName('cus');
    await sim.refusal(held, 'web');
    await sim.refusal(erased, 'web');
    await recorded('customer', held);
    await recorded('customer', erased);
    const hold = await postJson<{ id: string }>(
      `${audit.url}/audit/holds`,
      { subjectKind: 'customer', subjectRef: held, reason: 'litigation 42' },
      await auditor(),
    );
    expect(hold.status).toBe(201);
    const again = await postJson(
      `${audit.url}/audit/holds`,
      { subjectKind: 'customer', subjectRef: held, reason: 'again' },
      await auditor(),
    );
    expect(again.status).toBe(409);

    await sim.erasure(held);
    await sim.erasure(erased);
    await waitFor(
      async () => (await recordsOf('customer', erased)).filter((r) => r.payload === undefined).length >= 2,
      'the erased customer’s payloads dropped',
    );
    const heldRecords = await recorded('customer', held, 2);
    expect(heldRecords.every((r) => r.payload !== undefined)).toBe(true);

    // a retention pass a decade on: every unheld payload goes, held ones stay
    const pass = await audit.retention.prune(Date.now() + 3650 * 86_400_000);
    expect(Object.values(pass.pruned).reduce((a, b) => a + (b ?? 0), 0)).toBeGreaterThan(0);
    expect((await recordsOf('customer', held)).every((r) => r.payload !== undefined)).toBe(true);
    const code = await sim.channel();
    await recorded('channel', code);
    const released = await postJson(`${audit.url}/audit/holds/${hold.body.id}/release`, {}, await auditor());
    expect(released.status).toBe(200);
    await audit.retention.prune(Date.now() + 3650 * 86_400_000);
    expect((await recordsOf('customer', held)).every((r) => r.payload === undefined && r.pruned !== undefined)).toBe(true);

    await waitFor(
      () => audit.store.checkpoints.latest().then((c) => (c && c.treeSize === audit.log.size ? c : undefined)),
      'the head checkpointed',
    );
    const v = await postJson<{ ok: boolean; problems: unknown[] }>(`${audit.url}/audit/verify`, {}, await adminH());
    expect(v.body.problems).toEqual([]);
  });
});

describe('erasure of what a partner knows', () => {
  it('drops the payloads of a partner’s records naming only its own customer id, and of later ones', async () => {
    const customer = uniqueName('cus');
    const partnerCustomerId = `acme-${uniqueName('pc')}`;
    const partnerEvent = await sim.partnerStatus(partnerCustomerId, uniqueName('po'));
    await sim.mappedStatus(customer, uniqueName('ord'), partnerEvent);
    await recorded('customer', customer);
    const [partnerRecord] = (await waitFor(async () => {
      const found = await audit.trails.find({ eventId: partnerEvent }, 5);
      return found.length ? found : undefined;
    }, 'the partner’s record'))!;
    expect(JSON.stringify(partnerRecord.payload)).toContain(partnerCustomerId);
    expect(JSON.stringify(partnerRecord)).not.toMatch(/"subjects":[^\]]*acme-pc/); // never a subject: subjects are hashed forever

    await sim.erasure(customer);
    await waitFor(
      async () => ((await audit.trails.find({ eventId: partnerEvent }, 5))[0]?.payload === undefined ? true : undefined),
      'the partner record’s payload dropped',
    );
    expect((await recordsOf('customer', customer)).every((r) => r.payload === undefined)).toBe(true);

    // the partner writes again about the same customer: stored without its payload
    const later = await sim.partnerStatus(partnerCustomerId, uniqueName('po'));
    const [again] = (await waitFor(async () => {
      const found = await audit.trails.find({ eventId: later }, 5);
      return found.length ? found : undefined;
    }, 'the later partner record'))!;
    expect(again.payload).toBeUndefined();
    expect(again.pruned?.reason).toBe('names an erased customer');
    expect(JSON.stringify(await audit.store.log.collection().find({}).toArray())).not.toContain(partnerCustomerId);
  });
});

describe('restart', () => {
  it('neither loses nor repeats a record across a stop, records published meanwhile included', async () => {
    const before = audit.log.size;
    await audit.stop();
    const meanwhile = await sim.channel();
    audit = await startAudit({ dbName, groups });
    const [r] = await recorded('channel', meanwhile);
    expect(r.index).toBeGreaterThanOrEqual(before);
    expect(await recordsOf('channel', meanwhile)).toHaveLength(1);
    const all = await audit.trails.page(0, 100_000);
    expect(all.map((x) => x.index)).toEqual(all.map((_, i) => i));
    const offsets = new Set(all.map((x) => `${x.topic}|${x.partition}|${x.offset}`));
    expect(offsets.size).toBe(all.length);
  });

  it('finds a changed, a removed and a reordered record in a tampered copy of the log', async () => {
    const copy = await startAudit({ dbName: uniqueName('audit-tamper') });
    try {
      for (let i = 0; i < 6; i++) await sim.channel();
      await waitFor(() => (copy.log.size >= 6 ? true : undefined), 'six records');
      await waitFor(() => copy.store.checkpoints.latest().then((c) => (c && c.treeSize === copy.log.size ? c : undefined)), 'checkpointed');
      const raw = copy.store.log.collection();
      await raw.updateOne({ _id: idOf(1) } as never, { $set: { channel: 'rewritten' } });
      await raw.deleteOne({ _id: idOf(3) } as never);
      const v = await postJson<{ ok: boolean; problems: Array<{ kind: string; index?: number }> }>(
        `${copy.url}/audit/verify`,
        {},
        await auditor(),
      );
      expect(v.body.ok).toBe(false);
      expect(v.body.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'changed', index: 1 }),
          expect.objectContaining({ kind: 'removed', index: 3 }),
        ]),
      );
      const token = (await auditor()).authorization.replace('Bearer ', '');
      const lines: string[] = [];
      expect(await verifyCli(['--url', copy.url, '--token', token], {}, (l) => lines.push(l))).toBe(1);
      expect(lines.some((l) => l.startsWith('changed #1'))).toBe(true);
    } finally {
      await copy.stop();
    }
  });
});

export type { Checkpoint };
