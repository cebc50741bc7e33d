import { ProjectionTable } from '../src/store/projection-cache';
import { cartSettings } from '../src/settings';

/**
 * The gate cache's own rules, on an in-memory source standing in for the projection repository
 * (the real-stack behaviour is in gate-cache.test.ts): which entries it serves, and which it evicts.
 */
interface V {
  n: number;
}

function source(rows: Record<string, { value: V; version: number }>) {
  const reads: string[][] = [];
  return {
    reads,
    rows,
    readMany: async (ids: readonly string[]) => {
      reads.push([...ids]);
      return new Map(ids.filter((id) => rows[id]).map((id) => [id, rows[id]]));
    },
  };
}

describe('projection cache', () => {
  it('serves an entry without reading again while it is fresh, and never moves it back to an older version', async () => {
    const src = source({ a: { value: { n: 1 }, version: 1 } });
    const table = new ProjectionTable<V>(src, 60_000, 10, () => 0);
    expect(await table.get('a')).toEqual({ n: 1 });
    expect(await table.getMany(['a', 'a'])).toEqual(new Map([['a', { n: 1 }]]));
    expect(src.reads).toEqual([['a']]);
    table.apply('a', { n: 3 }, 3);
    table.apply('a', { n: 2 }, 2);
    expect(await table.get('a')).toEqual({ n: 3 });
    expect(await table.get('missing')).toBeNull();
  });

  it('reads the database again once an entry is ttlMs behind both its read and the gate consumer', async () => {
    const src = source({ a: { value: { n: 1 }, version: 1 } });
    let caughtUpAt = 0;
    const table = new ProjectionTable<V>(src, 50, 10, () => caughtUpAt);
    table.apply('a', { n: 0 }, 0); // made by an event, no database read behind it
    caughtUpAt = Date.now();
    expect(await table.get('a')).toEqual({ n: 0 });
    expect(src.reads).toHaveLength(0);
    caughtUpAt = Date.now() - 1000; // the consumer stopped moving
    expect(await table.get('a')).toEqual({ n: 1 });
    expect(src.reads).toEqual([['a']]);
  });

  it('evicts the least recently written entry: a read from the database or a new entry counts, serving or an event update does not', async () => {
    const rows = Object.fromEntries(['a', 'b', 'c', 'd'].map((id, i) => [id, { value: { n: i }, version: 1 }]));
    const src = source(rows);
    const table = new ProjectionTable<V>(src, 60_000, 3, () => Date.now()); // the gate consumer keeps up
    await table.getMany(['a', 'b', 'c']);
    await table.get('a'); // served: does not make `a` recent
    table.apply('a', { n: 10 }, 2); // an event's update: does not either
    table.apply('d', { n: 3 }, 1); // a new entry: `a`, the least recently written, goes
    expect(table.size).toBe(3);
    src.reads.length = 0;
    await table.getMany(['b', 'c', 'd']);
    expect(src.reads).toEqual([]);
    expect(await table.get('a')).toEqual({ n: 0 }); // read again; `b` goes
    expect(src.reads).toEqual([['a']]);
    await table.get('b');
    expect(src.reads).toEqual([['a'], ['b']]);
  });

  it('reads the database on every gate when turned off', async () => {
    const src = source({ a: { value: { n: 1 }, version: 1 } });
    const table = new ProjectionTable<V>(src, 0, 10, () => Date.now());
    table.apply('a', { n: 5 }, 5);
    expect(await table.get('a')).toEqual({ n: 1 });
    expect(await table.get('a')).toEqual({ n: 1 });
    expect(src.reads).toHaveLength(2);
    expect(table.size).toBe(0);
  });
});

describe('settings', () => {
  it('reads CART_GATE_CACHE_MS, 1000 ms when unset, and refuses what is not a number', () => {
    expect(cartSettings({}).gateCacheMs).toBe(1000);
    expect(cartSettings({ CART_GATE_CACHE_MS: '0' }).gateCacheMs).toBe(0);
    expect(cartSettings({ CART_GATE_CACHE_MS: '250' }).gateCacheMs).toBe(250);
    expect(() => cartSettings({ CART_GATE_CACHE_MS: 'soon' })).toThrow(/CART_GATE_CACHE_MS/);
  });
});
