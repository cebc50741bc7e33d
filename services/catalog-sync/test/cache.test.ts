import { Cached } from '../src/store/cached';

/** The table cache under rules, rates and channels: reads once, and never keeps what an invalidation made stale. */
describe('Cached', () => {
  const counter = () => {
    let loads = 0;
    let release: (() => void) | undefined;
    const load = async (): Promise<number> => {
      const n = ++loads;
      if (release === undefined) return n;
      await new Promise<void>((r) => (release = r));
      return n;
    };
    return {
      load,
      loads: () => loads,
      hold: () => (release = () => undefined),
      release: () => release?.(),
      free: () => (release = undefined),
    };
  };

  it('reads once while fresh, and concurrent gets share one read', async () => {
    const c = counter();
    const cached = new Cached(c.load, 60_000);
    expect(await Promise.all([cached.get(), cached.get()])).toEqual([1, 1]);
    expect(await cached.get()).toBe(1);
    expect(c.loads()).toBe(1);
  });

  it('reads again after an invalidation (a write by this process), and after its time to live', async () => {
    const c = counter();
    const cached = new Cached(c.load, 60_000);
    expect(await cached.get()).toBe(1);
    cached.invalidate();
    expect(await cached.get()).toBe(2);
    const clock = { t: 1000, now: () => clock.t };
    const timed = new Cached(c.load, 1000, clock);
    expect(await timed.get()).toBe(3);
    clock.t += 999;
    expect(await timed.get()).toBe(3);
    clock.t += 2;
    expect(await timed.get()).toBe(4);
  });

  it('does not keep a read that started before an invalidation', async () => {
    const c = counter();
    const cached = new Cached(c.load, 60_000);
    c.hold();
    const early = cached.get(); // reads the table as it was before the write
    cached.invalidate(); // the write
    c.release();
    expect(await early).toBe(1);
    c.free();
    expect(await cached.get()).toBe(2);
    expect(await cached.get()).toBe(2);
  });

  it('counts the time to live from when the read started, so a slow read is kept only for what remains', async () => {
    const clock = { t: 1000, now: () => clock.t };
    let loads = 0;
    const cached = new Cached(
      async () => {
        loads++;
        clock.t += 600; // the read takes 600 ms
        return loads;
      },
      1000,
      clock,
    );
    expect(await cached.get()).toBe(1);
    clock.t += 399;
    expect(await cached.get()).toBe(1);
    clock.t += 2;
    expect(await cached.get()).toBe(2);
  });
});
