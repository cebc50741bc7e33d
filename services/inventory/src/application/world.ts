import type { World } from '../domain/types';
import type { ConfigRepository, Location } from '../store';

/** The configuration availability reads, with the locations by id (operations check them). */
export interface Snapshot {
  world: World;
  locations: ReadonlyMap<string, Location>;
}

/**
 * The configuration as this instance last read it, reused for `ttlMs` (every stock change computes the
 * availability of every channel, and the configuration is a handful of small collections that change
 * rarely). A change made here invalidates it at once: the next caller waits for a fresh read. Once a
 * copy is older than `ttlMs` it is read again in the background while callers go on with the copy they
 * have (no request waits for the periodic read); so one made on another instance (or a channel event
 * handled there) is seen within `ttlMs` and one read — and the recompute that follows every
 * configuration change reads a fresh copy, so what is published catches up with it.
 */
export class WorldCache {
  private cached: { at: number; snapshot: Promise<Snapshot> } | null = null;
  /** The background read under way, if any. */
  private refreshing: Promise<Snapshot> | null = null;
  /** Bumped by invalidate, so a background read begun before it is not installed after it. */
  private generation = 0;

  constructor(
    private readonly config: ConfigRepository,
    private readonly ttlMs: number,
  ) {}

  async get(now = Date.now()): Promise<Snapshot> {
    if (!this.cached) {
      const snapshot = this.load(now);
      this.cached = { at: now, snapshot };
      snapshot.catch(() => (this.cached = null));
    } else if (now - this.cached.at >= this.ttlMs && !this.refreshing) this.refresh(now);
    const s = await this.cached.snapshot;
    return { world: { ...s.world, now }, locations: s.locations };
  }

  /** Forgets the cached copy (after a change made here). */
  invalidate(): void {
    this.generation++;
    this.cached = null;
    this.refreshing = null;
  }

  /** Reads the configuration again and installs it once read (unless invalidated meanwhile); a failed read keeps the old copy. */
  private refresh(now: number): void {
    const generation = this.generation;
    const next = this.load(now);
    this.refreshing = next;
    void next
      .then(
        () => {
          if (this.generation === generation) this.cached = { at: now, snapshot: next };
        },
        () => undefined,
      )
      .finally(() => {
        if (this.refreshing === next) this.refreshing = null;
      });
  }

  private async load(now: number): Promise<Snapshot> {
    const [world, locations] = await Promise.all([this.config.world(now), this.config.locations()]);
    return { world, locations: new Map(locations.map((l) => [l.id, l])) };
  }
}
