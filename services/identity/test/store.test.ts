import { ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, uniqueName } from '@omnimall/service-kit/testing';
import { keyChanges, publicJwkJson } from '../src/application/keys';
import { rotated, USED_HASHES_KEPT, type Session } from '../src/domain/refresh-tokens';
import { settingsFromEnv } from '../src/settings';
import { createStore, type IdentityStore } from '../src/store';

/** The repositories' conditional writes, against the real FerretDB. */
describe('identity store', () => {
  let runtime: ServiceRuntime;
  let store: IdentityStore;
  beforeAll(async () => {
    runtime = await ServiceRuntime.start({ config: testConfig('identity'), produces: [] });
    store = await createStore(runtime, settingsFromEnv({ ERASURE_SALT: 'test-salt' }));
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it('e-mail documents: one insert wins, and moves and releases apply only to the holder they name', async () => {
    const email = `${uniqueName('e')}@example.com`;
    expect(await store.emails.insert(email, 'c1')).toBe(true);
    expect(await store.emails.insert(email, 'c2')).toBe(false);
    expect(await store.emails.reassign(email, 'c2', 'c3')).toBe(false);
    expect(await store.emails.holderOf(email)).toBe('c1');
    expect(await store.emails.reassign(email, 'c1', 'c2')).toBe(true);
    await store.emails.release(email, 'c1');
    expect(await store.emails.holderOf(email)).toBe('c2');
    await store.emails.release(email, 'c2');
    expect(await store.emails.holderOf(email)).toBeNull();
    expect(await store.emails.backfillOnce()).toBe(false); // createStore ran it for this database
  });

  it('sessions: a close keeps the first reason, a rotation keeps the newest used hashes', async () => {
    const now = new Date();
    const session: Session = {
      _id: uniqueName('s'),
      subject: uniqueName('c'),
      kind: 'customer',
      channel: 'web',
      currentHash: 'h0',
      usedHashes: [],
      revokedAt: null,
      revokedReason: null,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + 60_000),
      address: null,
    };
    await store.sessions.open(session);
    for (let i = 1; i <= USED_HASHES_KEPT + 2; i++) {
      const family = (await store.sessions.get(session._id))!;
      expect(await store.sessions.rotate(session._id, family.currentHash, { ...rotated(family, `h${i}`), at: new Date() })).toBe(true);
    }
    const family = (await store.sessions.get(session._id))!;
    expect(family.currentHash).toBe(`h${USED_HASHES_KEPT + 2}`);
    expect(family.usedHashes).toHaveLength(USED_HASHES_KEPT);
    expect(family.usedHashes[0]).toBe('h2');
    // A rotation decided on a hash that is no longer current changes nothing.
    expect(await store.sessions.rotate(session._id, 'h0', { ...rotated(family, 'stale'), at: new Date() })).toBe(false);
    expect((await store.sessions.get(session._id))!.currentHash).toBe(`h${USED_HASHES_KEPT + 2}`);
    expect(await store.sessions.openIdsOf(session.subject)).toEqual([session._id]);

    await store.sessions.close(session._id, 'logout', new Date());
    await store.sessions.close(session._id, 'banned', new Date());
    expect((await store.sessions.get(session._id))!.revokedReason).toBe('logout');
    expect(await store.sessions.isOpen(session._id)).toBe(false);
    expect(await store.sessions.openIdsOf(session.subject)).toEqual([]);
    await store.sessions.revoke(session._id, 'refresh_token_reused', new Date());
    expect((await store.sessions.get(session._id))!.revokedReason).toBe('refresh_token_reused');
  });

  it('customers: transact writes what decide sets, and decides again on a fresh read when the document changed meanwhile', async () => {
    const id = uniqueName('c');
    const now = new Date();
    const created = await store.customers.create(
      {
        _id: id,
        email: `${id}@example.com`,
        passwordHash: null,
        displayName: null,
        status: 'active',
        reason: null,
        until: null,
        loyaltyTier: 'standard',
        verified: false,
        dataRegion: 'eu',
        registeredChannel: null,
        consents: {},
        mergedInto: null,
        erasedAt: null,
        erasedEmailDigest: null,
        version: 1,
        createdAt: now,
        updatedAt: now,
      },
      [],
    );
    expect(created).toMatchObject({ _id: id, version: 1 });
    expect(await store.customers.create({ ...created!, _id: uniqueName('c') }, [])).toBeNull(); // the email is taken
    expect(await store.customers.idByEmail(`${id}@example.com`)).toBe(id);

    // Two changes decided on the same version: the second is decided again on the first's result.
    const seen: number[] = [];
    const bump = (tier: string) =>
      store.customers.transact(id, (c) => {
        seen.push(c!.version);
        return { set: { loyaltyTier: tier, version: c!.version + 1 }, events: [] };
      });
    await Promise.all([bump('gold'), bump('silver')]);
    const after = (await store.customers.get(id))!;
    expect(after.version).toBe(3);
    expect(seen).toContain(2);
    expect(await store.customers.transact(id, () => null)).toMatchObject({ version: 3 });
  });

  it('login-attempt counters: an erased account’s are removed by prefix, nobody else’s', async () => {
    const mine = uniqueName('h');
    const other = `${mine}x`; // shares the text, not the prefix's end
    const expires = new Date(Date.now() + 60_000);
    for (const key of [`pair:${mine}|a`, `account:${mine}`, `pair:${other}|a`, `address:${mine}`])
      await store.loginAttempts.count(key, 1, 1, expires);
    expect(await store.loginAttempts.removeKeys([`pair:${mine}|`, `account:${mine}#`])).toBe(2);
    expect(await store.loginAttempts.count(`pair:${other}|a`, 1, 2, expires)).toMatchObject({ n: 1 });
    expect(await store.loginAttempts.count(`address:${mine}`, 1, 2, expires)).toMatchObject({ n: 1 });
    expect(await store.loginAttempts.count(`pair:${mine}|a`, 1, 2, expires)).toBeNull();
    expect(await store.loginAttempts.removeKeys(['pair:a.b|'])).toBe(0); // a regex character is taken literally
  });

  it('signing keys: what a start publishes is decided against what was published before', async () => {
    const a = { kid: 'kid-a', kty: 'EC', crv: 'P-256', x: 'xa', y: 'ya', alg: 'ES256' as const, use: 'sig' as const };
    const b = { ...a, kid: 'kid-b', x: 'xb' };
    expect(keyChanges([], [a, b]).map((c) => `${c.kid}:${c.status}`)).toEqual(['kid-a:active', 'kid-b:active']);
    const published = [
      { _id: 'kid-a', jwk: publicJwkJson(a), status: 'active' as const },
      { _id: 'kid-b', jwk: publicJwkJson(b), status: 'active' as const },
    ];
    expect(keyChanges(published, [a, b])).toEqual([]);
    expect(keyChanges(published, [b]).map((c) => `${c.kid}:${c.status}`)).toEqual(['kid-a:retired']);
    expect(keyChanges([{ ...published[0], status: 'retired' }], [a]).map((c) => `${c.kid}:${c.status}`)).toEqual(['kid-a:active']);
    expect(JSON.parse(publicJwkJson({ ...a, d: 'private' } as typeof a))).not.toHaveProperty('d');
  });
});
