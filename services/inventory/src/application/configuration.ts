import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@omnimall/service-kit/errors';
import { channelNotFound, type Logger } from '@omnimall/service-kit';
import { sourceOf } from '../domain/availability';
import type { ChannelPolicy, Exception, Source } from '../domain/types';
import type { EventOrigin } from '../events/out/origin';
import type { ConfigRepository, Link, Location, StoredPolicy } from '../store';
import type { StockService } from './stock';
import type { WorldCache } from './world';

/**
 * Runs the recompute of every SKU after configuration changes, one at a time: changes made while one
 * runs are covered by one more run after it (so a burst of changes costs two passes, not one each).
 */
export class Recomputer {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly stock: Pick<StockService, 'recomputeAll'>,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  kick(origin: EventOrigin = {}): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.stock.recomputeAll(origin);
        } catch (err) {
          this.logger.warn('availability recompute failed; the next change or recheck runs it again', { err: String(err) });
        }
      } while (this.again);
      this.running = null;
    })();
    return this.running;
  }

  /** Resolves when no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}

export type NewException = Omit<Exception, 'id' | 'owner' | 'createdAt'>;

/**
 * Locations, their links to channels, channel policies and business exceptions. Every change is
 * followed by a recompute: each SKU's channels whose availability it changed hear of it.
 */
export class Configuration {
  constructor(
    private readonly config: ConfigRepository,
    private readonly worlds: WorldCache,
    private readonly recomputer: Recomputer,
  ) {}

  locations(): Promise<Location[]> {
    return this.config.locations();
  }

  /** Refuses a channel inventory never heard of (404 channel_not_found, as in every service). */
  async knownChannel(code: string): Promise<void> {
    if (!(await this.config.channel(code))) throw channelNotFound(code, 'inventory');
  }

  async location(id: string): Promise<Location> {
    const l = await this.config.location(id);
    if (!l) throw new NotFoundError('location_not_found', `no location ${id}`, 'GET /locations lists them');
    return l;
  }

  async saveLocation(loc: Omit<Location, 'updatedAt'>): Promise<Location> {
    if (loc.kind === 'dropship' && !loc.partner)
      throw new ValidationError('partner_required', 'a drop-ship location belongs to a partner', 'name the partner channel in `partner`');
    const saved = { ...loc, updatedAt: Date.now() };
    await this.config.saveLocation(saved);
    this.changed();
    return saved;
  }

  links(channel?: string): Promise<Link[]> {
    return this.config.links(channel);
  }

  async link(channel: string, locationId: string, priority: number): Promise<Link> {
    await this.location(locationId);
    const link = { channel, locationId, priority };
    await this.config.saveLink(link);
    this.changed();
    return link;
  }

  async unlink(channel: string, locationId: string): Promise<void> {
    if (!(await this.config.removeLink(channel, locationId)))
      throw new NotFoundError(
        'link_not_found',
        `location ${locationId} is not linked to ${channel}`,
        'GET /channels/{code}/locations lists the links',
      );
    this.changed();
  }

  async source(channel: string): Promise<Source> {
    return sourceOf((await this.worlds.get()).world, channel);
  }

  policy(channel: string): Promise<StoredPolicy> {
    return this.config.policy(channel);
  }

  async setPolicy(channel: string, policy: ChannelPolicy, by: string): Promise<StoredPolicy> {
    await this.config.savePolicy(channel, policy, by);
    this.changed();
    return this.config.policy(channel);
  }

  exceptions(): Promise<Exception[]> {
    return this.config.exceptions();
  }

  async addException(e: NewException, owner: string): Promise<Exception> {
    const now = Date.now();
    if (e.expiresAt <= now)
      throw new ValidationError('expiry_in_past', 'an exception must expire in the future', 'set expiresAt after now');
    if (e.kind === 'embargo' && !(e.until && e.until > now))
      throw new ValidationError('embargo_until_required', 'an embargo lasts until a date in the future', 'set `until` after now');
    if (e.kind === 'threshold_exempt' && !e.channel)
      throw new ValidationError('channel_required', 'a threshold exemption names the channel it exempts', 'set `channel`');
    const exception: Exception = { ...e, id: randomUUID(), owner, createdAt: now };
    await this.config.saveException(exception);
    this.changed();
    return exception;
  }

  async exception(id: string): Promise<Exception> {
    const e = await this.config.exception(id);
    if (!e) throw new NotFoundError('exception_not_found', `no exception ${id}`, 'GET /exceptions lists them');
    return e;
  }

  async removeException(id: string): Promise<void> {
    if (!(await this.config.removeException(id)))
      throw new ConflictError('exception_not_found', `no exception ${id}`, 'it was removed already');
    this.changed();
  }

  /**
   * Re-applies the configuration when an exception expired or an embargo ended since `since`: their
   * effect is a matter of time, not of a change anyone makes.
   */
  async recheck(since: number, now: number): Promise<boolean> {
    const due = (await this.config.exceptions()).some(
      (e) =>
        (e.expiresAt > since && e.expiresAt <= now) || (e.until !== undefined && e.until !== null && e.until > since && e.until <= now),
    );
    if (due) this.changed();
    return due;
  }

  /** A change made here: this instance reads the configuration afresh and recomputes what it changed. */
  changed(origin: EventOrigin = {}): void {
    this.worlds.invalidate();
    void this.recomputer.kick(origin);
  }
}
