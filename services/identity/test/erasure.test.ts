/**
 * Finding 11 of issue 17 (identity's part): an erasure leaves nothing personal of the customer in
 * the identity database (profiles merged into it, merge snapshots and evidence, sessions and their
 * addresses, login-attempt counters, reset records, linked identifiers, consent sources), the
 * data-request event names no one, and retention prunes what is kept only for a while.
 */
import request from 'supertest';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { pruneOnce } from '../src/application/retention';
import type { RunningIdentity } from '../src/main';
import { retentionFromEnv } from '../src/settings';
import { channelApp, loginThrough, registerThrough, type ChannelApp } from './support/channel-app';
import { adminToken, startTestIdentity } from './support/harness';

/** Every document of every collection of the identity database, as text (binary values decoded). */
async function databaseText(svc: RunningIdentity): Promise<{ collection: string; text: string }[]> {
  const db = svc.runtime.db.db!;
  const out: { collection: string; text: string }[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    const docs = await db.collection(name).find({}).toArray();
    const text = JSON.stringify(docs, (_key, value: unknown) => {
      if (value && typeof value === 'object' && (value as { _bsontype?: string })._bsontype === 'Binary')
        return Buffer.from((value as { buffer: Uint8Array }).buffer).toString('utf8');
      if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer')
        return Buffer.from((value as { data: number[] }).data).toString('utf8');
      return value;
    });
    out.push({ collection: name, text: text.toLowerCase() });
  }
  return out;
}

describe('erasure leaves nothing personal in the identity database', () => {
  let identity: RunningIdentity;
  let app: ChannelApp;
  let recorder: TopicRecorder;
  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), ['identity.data-request']).start();
    identity = await startTestIdentity();
    app = await channelApp(identity);
  });
  afterAll(async () => {
    await Promise.all([identity?.stop(), recorder?.stop(), app?.auth.close()]);
  });

  it('finds no email, name or phone of the customer or of a profile merged into it, in any collection', async () => {
    const tag = uniqueName('p').slice(2);
    const name = `Ada Lovelace ${tag}`;
    const phone = `+44 7700 ${tag}`;
    const target = await registerThrough(identity, app, { displayName: name });
    const source = await registerThrough(identity, app, { displayName: `${name} (old account)` });
    await loginThrough(identity, app, target);
    // Failed logins leave counters, a reset request leaves a record (and an event carrying the email).
    for (const who of [target, source])
      await request(identity.app)
        .post('/auth/login')
        .set(app.headers)
        .set('x-forwarded-for', '10.253.0.1')
        .send({ email: who.email, password: 'not-the-password-9' });
    expect(
      (
        await request(identity.app)
          .post('/auth/password-reset')
          .set(app.headers)
          .set('x-forwarded-for', '10.253.0.2')
          .send({ email: target.email })
      ).status,
    ).toBe(202);
    await identity.store.links.insert({
      _id: `partner_account:${phone}`,
      type: 'partner_account',
      externalId: phone,
      customerId: source.id,
      channel: 'web',
      linkedAt: new Date(),
      linkedBy: source.id,
    });
    const consent = await request(identity.app)
      .put(`/customers/${target.id}/consents/web`)
      .set('authorization', `Bearer ${target.accessToken}`)
      .send({ marketing: true, source: `call from ${phone}` });
    expect(consent.status).toBe(200);
    const admin = await adminToken(identity);
    const merged = await request(identity.app)
      .post('/admin/merges')
      .set('authorization', admin)
      .send({
        sourceCustomerId: source.id,
        targetCustomerId: target.id,
        reason: `${name} called from ${phone}`,
        evidence: { email: source.email, phone },
      });
    expect(merged.status).toBe(201);

    const needles = [target.email, source.email, name, phone].map((s) => s.toLowerCase());
    const before = await databaseText(identity);
    for (const needle of needles) expect(before.some((c) => c.text.includes(needle))).toBe(true);
    // Login-attempt counters are keyed by keyed hashes: they exist, and name no email.
    const attempts = before.find((c) => c.collection === 'login_attempts')!.text;
    expect(attempts).toContain('pair:');
    for (const who of [target, source]) expect(attempts).not.toContain(who.email.toLowerCase());

    const erased = await request(identity.app).post(`/customers/${target.id}/erasure`).set('authorization', admin);
    expect(erased.status).toBe(200);

    // Published outbox entries (a consent source, the reset's email) leave their documents after publication.
    const hits = async () => {
      await identity.runtime.outbox.cleanup(0);
      const found = (await databaseText(identity)).flatMap((c) =>
        needles.filter((n) => c.text.includes(n)).map((n) => `${c.collection}: ${n}`),
      );
      return found.length ? null : 'clean';
    };
    await waitFor(hits, 'an identity database without the erased customer’s email, name or phone', 20_000);

    const requests = await waitFor(
      async () =>
        Promise.all(
          recorder
            .where((r) => [target.id, source.id].includes(r.message.key?.toString() ?? ''))
            .map((r) => identity.runtime.schemas.decode<{ customerId: string; kind: string }>(r.message.value!)),
        ).then((all) => (all.filter((e) => e.kind === 'erasure').length === 2 ? all : null)),
      'an erasure request for the customer and for the profile merged into it',
    );
    expect(requests.map((e) => e.customerId).sort()).toEqual([target.id, source.id].sort());
    for (const e of requests) for (const needle of needles) expect(JSON.stringify(e).toLowerCase()).not.toContain(needle);
    // The erased profile's tokens are refused; the evidence of the merge is still there.
    expect((await request(identity.app).get('/me').set('authorization', `Bearer ${target.accessToken}`)).status).toBe(401);
    expect((await request(identity.app).get(`/admin/merges/${merged.body.id}`).set('authorization', admin)).body).toMatchObject({
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
      reason: 'erased',
    });
  });
});

describe('retention', () => {
  let identity: RunningIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity({ retention: { sessionDays: 30, mergeSnapshotDays: 90, pruneIntervalMs: 600_000 } });
  });
  afterAll(async () => {
    await identity?.stop();
  });

  it('prunes sessions closed or expired past their retention and empties old merge snapshots, keeping the rest', async () => {
    const day = 86_400_000;
    const now = new Date();
    const ago = (days: number) => new Date(now.getTime() - days * day);
    const subject = uniqueName('c');
    const session = (id: string, expiresAt: Date, revokedAt: Date | null) => ({
      _id: id,
      subject,
      kind: 'customer' as const,
      channel: 'web',
      currentHash: 'h',
      usedHashes: [],
      revokedAt,
      revokedReason: revokedAt ? 'logout' : null,
      createdAt: ago(60),
      lastUsedAt: ago(60),
      expiresAt,
      address: '10.0.0.1',
    });
    await identity.store.sessions.open(session(`${subject}-expired`, ago(31), null));
    await identity.store.sessions.open(session(`${subject}-closed`, ago(-10), ago(31)));
    await identity.store.sessions.open(session(`${subject}-recent`, ago(29), ago(29)));
    await identity.store.sessions.open(session(`${subject}-open`, ago(-10), null));
    const merge = (id: string, at: Date) => ({
      _id: id,
      sourceCustomerId: uniqueName('s'),
      targetCustomerId: subject,
      mergedBy: 'admin',
      reason: 'duplicate',
      evidenceJson: '{}',
      movedIdentities: [],
      sourceSnapshot: { email: 'someone@example.com' },
      at,
    });
    await identity.store.merges.create(merge(`${subject}-old`, ago(91)));
    await identity.store.merges.create(merge(`${subject}-new`, ago(89)));

    const pruned = await pruneOnce(identity.ctx, now);
    expect(pruned).toMatchObject({ sessions: 2, mergeSnapshots: 1 });
    const left = (await identity.store.sessions.ofSubject(subject)).map((s) => s._id).sort();
    expect(left).toEqual([`${subject}-open`, `${subject}-recent`]);
    expect((await identity.store.merges.get(`${subject}-old`))?.sourceSnapshot).toEqual({});
    expect((await identity.store.merges.get(`${subject}-new`))?.sourceSnapshot).toEqual({ email: 'someone@example.com' });
    // A second pass finds nothing more of these.
    expect((await pruneOnce(identity.ctx, now)).mergeSnapshots).toBe(0);
  });

  it('reads its settings with defaults and refuses a bad value by name', () => {
    expect(retentionFromEnv({})).toEqual({ sessionDays: 30, mergeSnapshotDays: 90, pruneIntervalMs: 600_000 });
    expect(retentionFromEnv({ SESSION_RETENTION_DAYS: '7', MERGE_SNAPSHOT_RETENTION_DAYS: '0', PRUNE_INTERVAL_MINUTES: '1' })).toEqual({
      sessionDays: 7,
      mergeSnapshotDays: 0,
      pruneIntervalMs: 60_000,
    });
    expect(() => retentionFromEnv({ SESSION_RETENTION_DAYS: 'soon' })).toThrow(/SESSION_RETENTION_DAYS "soon"/);
  });
});
