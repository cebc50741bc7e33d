import { percentile, WINDOWS, type WindowName } from './propagation';

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

/**
 * Lag samples of the last hour kept in memory (bounded), for p50/p95/p99 over sliding windows.
 * Percentiles are exact (nearest rank) over the samples in the window.
 */
export class LagWindows {
  private samples: LagSample[] = [];

  constructor(private readonly maxSamples = 500_000) {}

  add(s: LagSample, now: number): void {
    this.samples.push(s);
    if (this.samples.length > this.maxSamples || (this.samples.length % 1000 === 0 && this.samples[0].at < now - WINDOWS['1h']))
      this.prune(now);
  }

  private prune(now: number): void {
    const from = now - WINDOWS['1h'];
    this.samples = this.samples.filter((s) => s.at >= from).slice(-this.maxSamples);
  }

  select(window: WindowName, now: number, f: SampleFilter = {}): LagSample[] {
    const from = now - WINDOWS[window];
    return this.samples.filter(
      (s) =>
        s.at >= from &&
        (!f.type || s.type === f.type) &&
        (!f.consumer || s.consumer === f.consumer) &&
        (f.channel === undefined || s.channel === f.channel),
    );
  }

  percentiles(window: WindowName, now: number, f: SampleFilter = {}): Percentiles {
    return summarise(
      window,
      this.select(window, now, f).map((s) => s.lagMs),
    );
  }

  /** Percentiles per event type in one window. */
  byType(window: WindowName, now: number): (Percentiles & { type: string })[] {
    const groups = new Map<string, number[]>();
    for (const s of this.select(window, now)) groups.set(s.type, [...(groups.get(s.type) ?? []), s.lagMs]);
    return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([type, lags]) => ({ type, ...summarise(window, lags) }));
  }
}

function summarise(window: WindowName, lags: number[]): Percentiles {
  const sorted = [...lags].sort((a, b) => a - b);
  return {
    window,
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}
