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
 * rarely). A change made here invalidates it at once; one made on another instance (or a channel
 * event handled there) is seen within `ttlMs` — and the recompute that follows every configuration
 * change reads a fresh copy, so what is published catches up with it.
 */
export class WorldCache {
  private cached: { at: number; snapshot: Promise<Snapshot> } | null = null;

  constructor(
    private readonly config: ConfigRepository,
    private readonly ttlMs: number,
  ) {}

  async get(now = Date.now()): Promise<Snapshot> {
    if (!this.cached || now - this.cached.at >= this.ttlMs) {
      const snapshot = this.load(now);
      this.cached = { at: now, snapshot };
      snapshot.catch(() => (this.cached = null));
    }
    const s = await this.cached.snapshot;
    return { world: { ...s.world, now }, locations: s.locations };
  }

  /** Forgets the cached copy (after a change made here). */
  invalidate(): void {
    this.cached = null;
  }

  private async load(now: number): Promise<Snapshot> {
    const [world, locations] = await Promise.all([this.config.world(now), this.config.locations()]);
    return { world, locations: new Map(locations.map((l) => [l.id, l])) };
  }
}
