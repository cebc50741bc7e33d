/**
 * Propagation lag over sliding windows, aggregated in HDR histograms (hdr-histogram-js): memory and
 * the cost of a sample do not grow with traffic.
 *
 * Samples land in time buckets, one histogram per (event type, consumer service, channel) and
 * bucket: 10 s buckets kept for 5 minutes serve the 1m and 5m windows, 60 s buckets kept for an hour
 * serve 1h. A window takes the buckets that end after its start, so it may include up to one bucket
 * more (10 s, or 60 s for 1h) than its length. Values keep two significant digits (an error under 1%,
 * well inside the 10% agreement the benchmarks ask of the monitor's figures); `max` is exact, and no
 * percentile is reported above it. Negative lags (clock skew between producer and consumer) count
 * as 0. `encode`/`decode` carry the histograms through a snapshot.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { WINDOWS, type WindowName } from './propagation';

export interface LagSample {
  /** appliedAt of the ack (ms): windows slide over the time the change landed. */
  at: number;
  lagMs: number;
  type: string;
  consumer: string; // service
  group: string;
  channel: string | null;
}

export interface Percentiles {
  window: WindowName;
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface SampleFilter {
  type?: string;
  consumer?: string;
  channel?: string;
}

interface Series {
  type: string;
  consumer: string;
  channel: string | null;
  h: Histogram;
  /** Exact largest value recorded (the histogram's own is rounded up to its bucket). */
  max: number;
}

interface Bucket {
  start: number;
  series: Map<string, Series>;
}

/** The histograms as a snapshot keeps them. */
export interface EncodedWindows {
  fine: EncodedBucket[];
  coarse: EncodedBucket[];
}
interface EncodedBucket {
  start: number;
  series: Array<{ type: string; consumer: string; channel: string | null; max: number; h: string }>;
}

const FINE = { sizeMs: 10_000, keptMs: WINDOWS['5m'] + 10_000 };
const COARSE = { sizeMs: 60_000, keptMs: WINDOWS['1h'] + 60_000 };

const newHistogram = (): Histogram =>
  build({
    bitBucketSize: 32,
    numberOfSignificantValueDigits: 2,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000,
    autoResize: true,
    useWebAssembly: false,
  });

class BucketRing {
  buckets: Bucket[] = [];

  constructor(private readonly spec: { sizeMs: number; keptMs: number }) {}

  add(s: LagSample, value: number, now: number): void {
    if (s.at < now - this.spec.keptMs) return;
    const start = Math.floor(s.at / this.spec.sizeMs) * this.spec.sizeMs;
    let b = this.buckets.find((x) => x.start === start);
    if (!b) {
      b = { start, series: new Map() };
      this.buckets.push(b);
      this.buckets.sort((x, y) => x.start - y.start);
      this.prune(now);
    }
    const key = `${s.type}\u0000${s.consumer}\u0000${s.channel ?? ''}`;
    let series = b.series.get(key);
    if (!series) {
      series = { type: s.type, consumer: s.consumer, channel: s.channel, h: newHistogram(), max: 0 };
      b.series.set(key, series);
    }
    series.h.recordValue(value);
    if (value > series.max) series.max = value;
  }

  prune(now: number): void {
    const from = now - this.spec.keptMs;
    while (this.buckets.length && this.buckets[0].start + this.spec.sizeMs <= from) this.buckets.shift();
  }

  /** The series of the buckets that end after `from`. */
  *since(from: number): Iterable<Series> {
    for (const b of this.buckets) if (b.start + this.spec.sizeMs > from) yield* b.series.values();
  }

  encode(): EncodedBucket[] {
    return this.buckets.map((b) => ({
      start: b.start,
      series: [...b.series.values()].map((s) => ({
        type: s.type,
        consumer: s.consumer,
        channel: s.channel,
        max: s.max,
        h: encodeIntoCompressedBase64(s.h),
      })),
    }));
  }

  decode(buckets: EncodedBucket[]): void {
    this.buckets = buckets.map((b) => {
      const series = new Map<string, Series>();
      for (const s of b.series) {
        const h = newHistogram();
        h.add(decodeFromCompressedBase64(s.h, 32, false));
        series.set(`${s.type}\u0000${s.consumer}\u0000${s.channel ?? ''}`, {
          type: s.type,
          consumer: s.consumer,
          channel: s.channel,
          max: s.max,
          h,
        });
      }
      return { start: b.start, series };
    });
  }
}

export class LagWindows {
  private readonly fine = new BucketRing(FINE);
  private readonly coarse = new BucketRing(COARSE);

  add(s: LagSample, now: number): void {
    const value = Math.max(0, Math.round(s.lagMs));
    this.fine.add(s, value, now);
    this.coarse.add(s, value, now);
  }

  private series(window: WindowName, now: number): Iterable<Series> {
    const from = now - WINDOWS[window];
    return window === '1h' ? this.coarse.since(from) : this.fine.since(from);
  }

  percentiles(window: WindowName, now: number, f: SampleFilter = {}): Percentiles {
    const matching = [...this.series(window, now)].filter(
      (s) =>
        (!f.type || s.type === f.type) &&
        (!f.consumer || s.consumer === f.consumer) &&
        (f.channel === undefined || (s.channel ?? '') === f.channel),
    );
    return summarise(window, matching);
  }

  /** Percentiles per event type in one window. */
  byType(window: WindowName, now: number): (Percentiles & { type: string })[] {
    const groups = new Map<string, Series[]>();
    for (const s of this.series(window, now)) groups.set(s.type, [...(groups.get(s.type) ?? []), s]);
    return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([type, series]) => ({ type, ...summarise(window, series) }));
  }

  encode(): EncodedWindows {
    return { fine: this.fine.encode(), coarse: this.coarse.encode() };
  }

  /** Replaces the histograms with a snapshot's, dropping buckets older than they are kept as of `now`. */
  decode(e: EncodedWindows, now: number): void {
    this.fine.decode(e.fine);
    this.coarse.decode(e.coarse);
    this.fine.prune(now);
    this.coarse.prune(now);
  }
}

function summarise(window: WindowName, series: Series[]): Percentiles {
  if (!series.length) return { window, count: 0, p50: null, p95: null, p99: null, max: null };
  const merged = newHistogram();
  let max = 0;
  for (const s of series) {
    merged.add(s.h);
    max = Math.max(max, s.max);
  }
  const count = merged.totalCount;
  if (!count) return { window, count: 0, p50: null, p95: null, p99: null, max: null };
  const at = (p: number): number => Math.min(max, merged.getValueAtPercentile(p));
  return { window, count, p50: at(50), p95: at(95), p99: at(99), max };
}
