/**
 * Data over time for the dashboard's charts, in bounded rings (no I/O, every method takes `now`):
 *
 * - propagation lag per channel: one HDR histogram (hdr-histogram-js, packed counts) per channel and
 *   time slot, in two rings: 15 s slots kept 15 minutes and 60 s slots kept an hour; a step of the
 *   answer merges the slots it spans and reports their p50/p99 and count;
 * - escalations opened and resolved per 15 s slot, kept an hour;
 * - consumer-group lag: the measurements (total lag per group), kept an hour; a step reports the
 *   last measurement taken within it.
 *
 * Memory bound: each ring holds at most its slots (61 + 61 lag slots, 241 escalation slots, 720
 * measurements); a lag slot holds at most MAX_CHANNELS_PER_SLOT channels (later ones are pooled as
 * OTHER_CHANNEL), a measurement at most MAX_GROUPS_PER_SAMPLE groups (the largest lags). An answer
 * shows the SHOWN channels or groups of the largest values and counts the rest in `more`.
 */
import { build, type Histogram } from 'hdr-histogram-js';

/** The platform's everyday propagation SLA, drawn as a line on the latency chart. */
export const SLA_MS = 2000;
/** Channels (or groups) an answer shows at most. */
export const SHOWN = 10;
export const MAX_CHANNELS_PER_SLOT = 32;
export const MAX_GROUPS_PER_SAMPLE = 200;
export const MAX_LAG_SAMPLES = 720;
/** Acks without a channel, and the channels past the cap of a slot. */
export const NO_CHANNEL = 'none';
export const OTHER_CHANNEL = 'other';

export const SERIES_WINDOWS = { '5m': 300_000, '15m': 900_000, '1h': 3_600_000 } as const;
export type SeriesWindow = keyof typeof SERIES_WINDOWS;
export const SERIES_STEPS = { '15s': 15_000, '30s': 30_000, '1m': 60_000, '5m': 300_000 } as const;
export type SeriesStep = keyof typeof SERIES_STEPS;

const FINE = { sizeMs: 15_000, keptMs: 900_000 };
const COARSE = { sizeMs: 60_000, keptMs: 3_600_000 };
const KEPT_MS = 3_600_000;

/** The steps of an answer: `count` steps of `stepMs`, the last one holding `now`. */
export interface StepGrid {
  stepMs: number;
  from: number;
  to: number;
  /** Start of each step (ms). */
  steps: number[];
}

/**
 * The grid of a window and step, or the reason it cannot be answered: the step must divide the
 * window, and a step shorter than a minute is kept for 15 minutes only.
 */
export function stepGrid(window: SeriesWindow, step: SeriesStep, now: number): StepGrid | { error: string } {
  const windowMs = SERIES_WINDOWS[window];
  const stepMs = SERIES_STEPS[step];
  if (windowMs % stepMs !== 0 || windowMs / stepMs < 2)
    return { error: `step ${step} does not divide window ${window} in two or more steps` };
  if (stepMs < COARSE.sizeMs && windowMs > FINE.keptMs) return { error: `steps under 1m are kept for 15m only, not ${window}` };
  const to = Math.floor(now / stepMs) * stepMs + stepMs;
  const from = to - windowMs;
  const steps: number[] = [];
  for (let t = from; t < to; t += stepMs) steps.push(t);
  return { stepMs, from, to, steps };
}

/** The step a time falls in (index into grid.steps), or -1 outside the grid. */
export function stepIndex(grid: StepGrid, at: number): number {
  if (at < grid.from || at >= grid.to) return -1;
  return Math.floor((at - grid.from) / grid.stepMs);
}

/** The `n` keys whose values rank highest by `rank` (ties by name), and how many were left out. */
export function topBy<T>(items: Map<string, T>, rank: (v: T) => number, n = SHOWN): { shown: [string, T][]; more: number } {
  const sorted = [...items].sort(([ka, a], [kb, b]) => rank(b) - rank(a) || ka.localeCompare(kb));
  return { shown: sorted.slice(0, n), more: Math.max(0, sorted.length - n) };
}

const maxOf = (xs: (number | null)[]): number => xs.reduce<number>((m, x) => (x !== null && x > m ? x : m), -1);

// ---- propagation lag per channel ------------------------------------------------------------

const newHistogram = (): Histogram =>
  build({
    bitBucketSize: 'packed',
    numberOfSignificantValueDigits: 2,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000,
    autoResize: true,
    useWebAssembly: false,
  });

interface ChannelLag {
  h: Histogram;
  /** Exact largest value (no percentile is reported above it). */
  max: number;
}

/** A step's lag: one slot's histogram, or (own) the merge of several. */
interface Merged {
  h: Histogram;
  max: number;
  own: boolean;
}

interface LagSlot {
  start: number;
  channels: Map<string, ChannelLag>;
}

class LagRing {
  private slots: LagSlot[] = [];

  constructor(readonly spec: { sizeMs: number; keptMs: number }) {}

  add(at: number, channel: string, value: number, now: number): void {
    if (at < now - this.spec.keptMs || at > now + this.spec.sizeMs) return;
    const start = Math.floor(at / this.spec.sizeMs) * this.spec.sizeMs;
    let slot = this.slots.find((s) => s.start === start);
    if (!slot) {
      slot = { start, channels: new Map() };
      this.slots.push(slot);
      this.slots.sort((a, b) => a.start - b.start);
      this.prune(now);
    }
    const key = slot.channels.has(channel) || slot.channels.size < MAX_CHANNELS_PER_SLOT ? channel : OTHER_CHANNEL;
    let c = slot.channels.get(key);
    if (!c) {
      c = { h: newHistogram(), max: 0 };
      slot.channels.set(key, c);
    }
    c.h.recordValue(value);
    if (value > c.max) c.max = value;
  }

  prune(now: number): void {
    const from = now - this.spec.keptMs;
    while (this.slots.length && this.slots[0].start + this.spec.sizeMs <= from) this.slots.shift();
  }

  /** The slots starting within [from, to). */
  within(from: number, to: number): LagSlot[] {
    return this.slots.filter((s) => s.start >= from && s.start < to);
  }

  get size(): number {
    return this.slots.length;
  }
}

export interface ChannelSeries {
  channel: string;
  /** Applied acks counted over the window. */
  count: number;
  p50: (number | null)[];
  p99: (number | null)[];
}

export interface PropagationSeriesView extends StepGrid {
  slaMs: number;
  channels: ChannelSeries[];
  /** Channels with samples in the window that are not shown. */
  more: number;
}

/** Propagation lag (appliedAt − occurredAt of first successful acks) per channel and time slot. */
export class LagSeries {
  private readonly fine = new LagRing(FINE);
  private readonly coarse = new LagRing(COARSE);

  /** One lag sample at `at` (the ack's appliedAt); negative lags (clock skew) count as 0. */
  add(at: number, channel: string | null, lagMs: number, now: number): void {
    const value = Math.max(0, Math.round(lagMs));
    const key = channel || NO_CHANNEL;
    this.fine.add(at, key, value, now);
    this.coarse.add(at, key, value, now);
  }

  /** Slots held (the memory bound's unit). */
  get slots(): number {
    return this.fine.size + this.coarse.size;
  }

  series(grid: StepGrid, now: number): PropagationSeriesView {
    this.fine.prune(now);
    this.coarse.prune(now);
    const ring = grid.stepMs % COARSE.sizeMs === 0 && grid.to - grid.from > FINE.keptMs ? this.coarse : this.fine;
    // per channel, per step: the slots' histograms merged
    const perChannel = new Map<string, { count: number; steps: (Merged | null)[] }>();
    for (const slot of ring.within(grid.from, grid.to)) {
      const i = stepIndex(grid, slot.start);
      for (const [channel, c] of slot.channels) {
        let cur = perChannel.get(channel);
        if (!cur) {
          cur = { count: 0, steps: grid.steps.map(() => null) };
          perChannel.set(channel, cur);
        }
        cur.count += c.h.totalCount;
        const step = cur.steps[i];
        if (!step) cur.steps[i] = { h: c.h, max: c.max, own: false };
        else {
          // several slots in one step merge into a histogram of the answer's own, never into a slot's
          const merged = step.own ? step.h : copyOf(step.h);
          merged.add(c.h);
          cur.steps[i] = { h: merged, max: Math.max(step.max, c.max), own: true };
        }
      }
    }
    const views = new Map<string, ChannelSeries & { top: number }>();
    for (const [channel, { count, steps }] of perChannel) {
      const at = (s: Merged | null, p: number): number | null =>
        s && s.h.totalCount ? Math.min(s.max, s.h.getValueAtPercentile(p)) : null;
      const p99 = steps.map((s) => at(s, 99));
      views.set(channel, { channel, count, p50: steps.map((s) => at(s, 50)), p99, top: maxOf(p99) });
    }
    const { shown, more } = topBy(views, (v) => v.top);
    return {
      ...grid,
      slaMs: SLA_MS,
      channels: shown.map(([, v]) => ({ channel: v.channel, count: v.count, p50: v.p50, p99: v.p99 })),
      more,
    };
  }
}

function copyOf(h: Histogram): Histogram {
  const c = newHistogram();
  c.add(h);
  return c;
}

// ---- escalations ------------------------------------------------------------------------------

export interface EscalationSeriesView extends StepGrid {
  opened: number[];
  resolved: number[];
}

/** Escalations opened and resolved (or reconciled) per 15 s slot, kept an hour. */
export class EscalationSeries {
  private readonly slots = new Map<number, { opened: number; resolved: number }>();

  record(kind: 'opened' | 'resolved', at: number): void {
    const start = Math.floor(at / FINE.sizeMs) * FINE.sizeMs;
    const slot = this.slots.get(start) ?? { opened: 0, resolved: 0 };
    slot[kind]++;
    this.slots.set(start, slot);
    this.prune(at);
  }

  private prune(now: number): void {
    for (const start of this.slots.keys()) if (start + FINE.sizeMs <= now - KEPT_MS) this.slots.delete(start);
  }

  get size(): number {
    return this.slots.size;
  }

  series(grid: StepGrid, now: number): EscalationSeriesView {
    this.prune(now);
    const opened = grid.steps.map(() => 0);
    const resolved = grid.steps.map(() => 0);
    for (const [start, s] of this.slots) {
      const i = stepIndex(grid, start);
      if (i < 0) continue;
      opened[i] += s.opened;
      resolved[i] += s.resolved;
    }
    return { ...grid, opened, resolved };
  }
}

// ---- consumer-group lag ---------------------------------------------------------------------

export interface GroupSeries {
  group: string;
  /** Records behind (summed over the group's topics and partitions), the last measurement of each step. */
  lag: (number | null)[];
}

export interface ConsumerLagSeriesView extends StepGrid {
  groups: GroupSeries[];
  more: number;
}

/** Consumer-group lag measurements, kept an hour (at most MAX_LAG_SAMPLES of them). */
export class LagHistory {
  private readonly samples: { at: number; groups: Map<string, number> }[] = [];

  /** One measurement: per group and topic lags, summed per group. */
  record(at: number, totals: { group: string; lag: number }[]): void {
    const groups = new Map<string, number>();
    for (const t of totals) groups.set(t.group, (groups.get(t.group) ?? 0) + t.lag);
    const kept = topBy(groups, (v) => v, MAX_GROUPS_PER_SAMPLE).shown;
    this.samples.push({ at, groups: new Map(kept) });
    this.prune(at);
  }

  private prune(now: number): void {
    while (this.samples.length && (this.samples.length > MAX_LAG_SAMPLES || this.samples[0].at < now - KEPT_MS)) this.samples.shift();
  }

  get size(): number {
    return this.samples.length;
  }

  series(grid: StepGrid, now: number): ConsumerLagSeriesView {
    this.prune(now);
    const perGroup = new Map<string, (number | null)[]>();
    for (const s of this.samples) {
      const i = stepIndex(grid, s.at);
      if (i < 0) continue;
      for (const [group, lag] of s.groups) {
        const row = perGroup.get(group) ?? grid.steps.map(() => null);
        row[i] = lag; // samples are in time order: the step keeps its last
        perGroup.set(group, row);
      }
    }
    const { shown, more } = topBy(perGroup, maxOf);
    return { ...grid, groups: shown.map(([group, lag]) => ({ group, lag })), more };
  }
}
