// The dashboard's series (domain/series.ts): pure aggregation over time, bounded memory.
import {
  EscalationSeries,
  LagHistory,
  LagSeries,
  MAX_CHANNELS_PER_SLOT,
  MAX_LAG_SAMPLES,
  OTHER_CHANNEL,
  SHOWN,
  SLA_MS,
  stepGrid,
  type StepGrid,
} from '../src/domain/series';

// A minute boundary, so that 15 s and 1 m steps line up with round numbers.
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 3_600_000);

const grid = (window: '5m' | '15m' | '1h', step: '15s' | '30s' | '1m' | '5m', now: number): StepGrid => {
  const g = stepGrid(window, step, now);
  if ('error' in g) throw new Error(g.error);
  return g;
};

describe('stepGrid', () => {
  it('ends with the step holding now and divides the window into equal steps', () => {
    const now = T0 + 7_000;
    const g = grid('15m', '15s', now);
    expect(g.steps).toHaveLength(60);
    expect(g.to).toBe(T0 + 15_000);
    expect(g.from).toBe(T0 + 15_000 - 900_000);
    expect(g.steps[59]).toBe(T0);
    expect(g.steps[1] - g.steps[0]).toBe(15_000);
    expect(grid('1h', '1m', now).steps).toHaveLength(60);
    expect(grid('1h', '5m', now).steps).toHaveLength(12);
  });

  it('refuses a step that does not fit the window', () => {
    expect(stepGrid('1h', '15s', T0)).toEqual({ error: expect.stringContaining('15m only') });
    expect(stepGrid('5m', '5m', T0)).toEqual({ error: expect.stringContaining('two or more steps') });
  });
});

describe('LagSeries', () => {
  it('reports p50/p99 per channel and step, the busiest-lag channels first, with the SLA', () => {
    const s = new LagSeries();
    const now = T0 + 59_000;
    // web: 100 samples at 100..1090 ms in the step starting T0 + 30 s; mobile: one slow sample in the step T0 + 45 s
    for (let i = 0; i < 100; i++) s.add(T0 + 31_000, 'web', 100 + i * 10, now);
    s.add(T0 + 46_000, 'mobile', 3_000, now);
    s.add(T0 + 46_000, null, -5, now); // clock skew counts as 0, no channel as "none"
    const v = s.series(grid('5m', '15s', now), now);
    expect(v.slaMs).toBe(SLA_MS);
    expect(v.channels.map((c) => c.channel)).toEqual(['mobile', 'web', 'none']);
    const at = (ch: string, t: number) => {
      const c = v.channels.find((x) => x.channel === ch)!;
      const i = v.steps.indexOf(t);
      return { p50: c.p50[i], p99: c.p99[i], count: c.count };
    };
    const web = at('web', T0 + 30_000);
    expect(web.count).toBe(100);
    expect(web.p50).toBeGreaterThanOrEqual(590);
    expect(web.p50).toBeLessThanOrEqual(600 * 1.01);
    expect(web.p99).toBeGreaterThanOrEqual(1070);
    expect(web.p99).toBeLessThanOrEqual(1090); // never above the exact max
    expect(at('mobile', T0 + 45_000)).toEqual({ p50: 3_000, p99: 3_000, count: 1 });
    expect(at('none', T0 + 45_000)).toMatchObject({ p99: 0 });
    expect(at('web', T0 + 45_000).p99).toBeNull(); // no sample in that step
  });

  it('merges the slots a longer step spans, and reads an hour from the minute slots', () => {
    const s = new LagSeries();
    const now = T0 + 59_000;
    s.add(T0 + 1_000, 'web', 100, now);
    s.add(T0 + 50_000, 'web', 900, now);
    const minute = s.series(grid('15m', '1m', now), now);
    expect(minute.channels[0]).toMatchObject({ channel: 'web', count: 2 });
    expect(minute.channels[0].p99[minute.steps.indexOf(T0)]).toBe(900);
    const hour = s.series(grid('1h', '1m', now), now);
    expect(hour.channels[0].p99[hour.steps.indexOf(T0)]).toBe(900);
    // the merge did not change the slots: the 15 s steps still tell them apart
    const fine = s.series(grid('5m', '15s', now), now);
    expect(fine.channels[0].p99[fine.steps.indexOf(T0)]).toBe(100);
    expect(fine.channels[0].p99[fine.steps.indexOf(T0 + 45_000)]).toBe(900);
  });

  it('stays bounded: old slots go, channels past the cap of a slot are pooled, an answer shows the top channels', () => {
    const s = new LagSeries();
    for (let m = 0; m < 180; m++) s.add(T0 + m * 60_000, 'web', 10, T0 + m * 60_000);
    const end = T0 + 179 * 60_000;
    expect(s.slots).toBeLessThanOrEqual(61 + 61);
    const now = end + 1;
    for (let c = 0; c < MAX_CHANNELS_PER_SLOT + 5; c++) s.add(end, `ch${c}`, 1_000 + c, now);
    const v = s.series(grid('5m', '15s', now), now);
    expect(v.channels).toHaveLength(SHOWN);
    expect(v.more).toBe(MAX_CHANNELS_PER_SLOT + 1 - SHOWN); // the cap's channels (one of them web) and "other"
    expect(v.channels[0].channel).toBe(OTHER_CHANNEL); // the pooled ones had the highest lags
  });
});

describe('EscalationSeries', () => {
  it('counts escalations opened and resolved per step, for an hour', () => {
    const e = new EscalationSeries();
    e.record('opened', T0 - 2 * 3_600_000); // gone after an hour
    e.record('opened', T0 + 1_000);
    e.record('opened', T0 + 2_000);
    e.record('resolved', T0 + 20_000);
    const now = T0 + 25_000;
    const v = e.series(grid('5m', '15s', now), now);
    const i = v.steps.indexOf(T0);
    expect([v.opened[i], v.resolved[i], v.opened[i + 1], v.resolved[i + 1]]).toEqual([2, 0, 0, 1]);
    expect(v.opened.reduce((a, b) => a + b)).toBe(2);
    expect(e.size).toBe(2);
    const coarse = e.series(grid('15m', '1m', now), now);
    expect([coarse.opened.at(-1), coarse.resolved.at(-1)]).toEqual([2, 1]);
  });
});

describe('LagHistory', () => {
  it('keeps the last measurement of each step per group, summed over topics, largest groups first', () => {
    const h = new LagHistory();
    h.record(T0 + 1_000, [
      { group: 'cart.projection', lag: 5 },
      { group: 'cart.projection', lag: 7 },
      { group: 'orders.main', lag: 1 },
    ]);
    h.record(T0 + 10_000, [{ group: 'cart.projection', lag: 3 }]);
    h.record(T0 + 20_000, [
      { group: 'cart.projection', lag: 0 },
      { group: 'orders.main', lag: 40 },
    ]);
    const now = T0 + 21_000;
    const v = h.series(grid('5m', '15s', now), now);
    const i = v.steps.indexOf(T0);
    expect(v.groups.map((g) => g.group)).toEqual(['orders.main', 'cart.projection']);
    expect(v.groups[1].lag.slice(i, i + 2)).toEqual([3, 0]);
    expect(v.groups[0].lag.slice(i, i + 2)).toEqual([1, 40]);
    expect(v.groups[0].lag[i - 1]).toBeNull();
  });

  it('stays bounded in samples and shows the top groups', () => {
    const h = new LagHistory();
    for (let k = 0; k < MAX_LAG_SAMPLES + 50; k++) h.record(T0 + k * 1_000, [{ group: `g${k % 15}`, lag: k % 15 }]);
    expect(h.size).toBe(MAX_LAG_SAMPLES);
    const now = T0 + (MAX_LAG_SAMPLES + 50) * 1_000;
    const v = h.series(grid('5m', '15s', now), now);
    expect(v.groups).toHaveLength(SHOWN);
    expect(v.more).toBe(5);
    expect(v.groups[0].group).toBe('g14');
  });
});
