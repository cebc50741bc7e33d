/**
 * Periodic snapshots of the in-memory tracking, and its restore at start.
 *
 * A snapshot is captured in one synchronous step (handlers change the state synchronously, so the
 * image is consistent): the state's open events and recently closed ones (application/state.ts), the
 * lag histograms, and the positions of the records it holds (domain/positions.ts). It is then
 * serialised in slices of SLICE events, yielding to the event loop between them (a tracking record
 * is never changed in place, only replaced, so the captured records stay as they were; serialised at
 * once, a bulk's 100,000 open events held every consumer of the monitor for about a second every
 * snapshot), gzip-compressed off the main thread and stored in chunks (store/snapshots.ts); the
 * newest KEEP stay.
 *
 * Guarantees: the consumer groups commit offsets only after `covering()` resolved, i.e. once a
 * snapshot captured after the offsets were handled is stored, so the committed offsets never pass
 * what the latest snapshot holds; after a crash the restored positions tell which replayed records
 * the state already holds (nothing applied twice) and everything after them is replayed (nothing
 * lost). Requests arriving within COALESCE_MS share one snapshot. A failed write rejects: the
 * consumers keep their offsets for the next commit. Restoring reads one snapshot: a start costs the
 * same whatever the history.
 */
import { promisify } from 'node:util';
import { gunzip, gzip, constants } from 'node:zlib';
import type { Logger } from '@omnimall/service-kit';
import type { Positions } from '../domain/positions';
import type { EncodedWindows } from '../domain/windows';
import type { MonitorMetrics } from '../metrics';
import type { SnapshotRepository } from '../store';
import type { StateImage } from './state';
import type { TrackedEvents } from './tracked-events';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Commit requests within this time share one snapshot. */
const COALESCE_MS = 50;
/** Snapshots kept (the newest ones). */
const KEEP = 2;
/** Events serialised between two yields to the event loop. */
const SLICE = 1000;

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** JSON of the image, its events serialised a slice at a time (the event loop runs in between). */
async function serialise(image: Image): Promise<string> {
  const marker = `__events_${image.at}_${Math.random().toString(36).slice(2)}__`;
  const shell = JSON.stringify({ ...image, state: { ...image.state, events: [marker] } });
  const slices: string[] = [];
  const { events } = image.state;
  for (let i = 0; i < events.length; i += SLICE) {
    slices.push(
      events
        .slice(i, i + SLICE)
        .map((e) => JSON.stringify(e))
        .join(','),
    );
    await yieldToLoop();
  }
  return shell.replace(`["${marker}"]`, () => `[${slices.join(',')}]`);
}

export interface SnapshotOptions {
  /** Closed events changed within this time go into a snapshot too (queries after a restart). */
  recentMs: number;
  /** At most this many closed events per snapshot. */
  recentMax: number;
}

interface Image {
  v: 1;
  at: number;
  positions: Record<string, number>;
  state: StateImage;
  windows: EncodedWindows;
}

export interface Restored {
  at: number;
  events: number;
  bytes: number;
  ms: number;
}

export class Snapshots {
  private pending?: Promise<void>;
  private chain: Promise<unknown> = Promise.resolve();
  /** When the last snapshot was captured and how many bytes it took (0: none yet). */
  last = { at: 0, bytes: 0, events: 0 };

  constructor(
    private readonly events: TrackedEvents,
    private readonly positions: Positions,
    private readonly repo: SnapshotRepository,
    private readonly metrics: MonitorMetrics,
    private readonly logger: Logger,
    private readonly opts: SnapshotOptions,
  ) {}

  /** Resolves once a snapshot captured after this call is stored (the consumers' beforeCommit). */
  covering(): Promise<void> {
    this.pending ??= new Promise<void>((r) => setTimeout(r, COALESCE_MS)).then(() => {
      this.pending = undefined;
      return this.take();
    });
    return this.pending;
  }

  /** Captures and stores a snapshot now (after any in progress), then removes older ones past KEEP. */
  take(keep = KEEP): Promise<void> {
    const run = this.chain.then(() => this.write(keep));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async write(keep: number): Promise<void> {
    const at = Date.now();
    const image: Image = {
      v: 1,
      at,
      positions: this.positions.toJSON(),
      state: this.events.state.image(at, this.opts.recentMs, this.opts.recentMax),
      windows: this.events.windows.encode(),
    };
    const data = await gzipAsync(Buffer.from(await serialise(image)), { level: constants.Z_BEST_SPEED });
    try {
      await this.repo.save(at, data);
      await this.repo.prune(keep);
    } catch (err) {
      this.logger.warn('snapshot not stored; offsets held back until one is', { err: String(err) });
      throw err;
    }
    this.last = { at, bytes: data.length, events: image.state.events.length };
    this.metrics.snapshotBytes.set(data.length);
    this.metrics.snapshotAt.set(at / 1000);
  }

  /** Restores the latest snapshot (state, positions, histograms); null when there is none. */
  async restore(): Promise<Restored | null> {
    const t0 = Date.now();
    const latest = await this.repo.latest();
    if (!latest) return null;
    const image = JSON.parse((await gunzipAsync(latest.data)).toString('utf8')) as Image;
    this.events.state.restore(image.state);
    this.positions.restore(image.positions);
    this.events.windows.decode(image.windows, Date.now());
    this.last = { at: image.at, bytes: latest.data.length, events: image.state.events.length };
    return { at: image.at, events: image.state.events.length, bytes: latest.data.length, ms: Date.now() - t0 };
  }
}
