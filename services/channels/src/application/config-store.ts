/** The global configuration versions: seeded with version 1, appended to by admins, never edited. */
import { LRUCache } from 'lru-cache';
import { ConflictError, NotFoundError, ValidationError, type DocumentLocks } from '@omnimall/service-kit';
import { INITIAL_CONFIG, type ConfigEntry, type ConfigVersion } from '../domain/config';
import type { ConfigVersionRepository } from '../store';

const CURRENT = 'current';

/**
 * Every channel write evaluates the block reasons against the current version, so the current
 * version is cached for `cacheMs`; a publish through this instance refreshes it at once, another
 * instance's publish is seen within cacheMs.
 */
export class ConfigStore {
  private readonly cached: LRUCache<typeof CURRENT, ConfigVersion>;

  constructor(
    private readonly versions: ConfigVersionRepository,
    private readonly locks: DocumentLocks,
    cacheMs = 1000,
  ) {
    this.cached = new LRUCache<typeof CURRENT, ConfigVersion>({ max: 1, ttl: cacheMs, allowStale: false });
  }

  async ensureInitial(): Promise<void> {
    if (await this.versions.any()) return;
    await this.versions.insert(INITIAL_CONFIG, 'system'); // false: another instance seeded it
  }

  async current(): Promise<ConfigVersion> {
    const hit = this.cached.get(CURRENT);
    if (hit) return hit;
    const value = await this.versions.latest();
    if (!value) throw new Error('no configuration version: ensureInitial() was not run');
    this.cached.set(CURRENT, value);
    return value;
  }

  async get(version: number): Promise<ConfigVersion> {
    const value = await this.versions.get(version);
    if (!value)
      throw new NotFoundError(
        'config_version_not_found',
        `configuration version ${version} does not exist`,
        'GET /config shows the current version',
      );
    return value;
  }

  /** Appends a version: the given entries replace or add keys of the current one; `remove` drops keys. */
  async publish(
    input: { entries: Record<string, ConfigEntry>; remove?: string[]; minimumVersion?: number },
    by: string,
  ): Promise<ConfigVersion> {
    return this.locks.run('config_versions:head', async () => {
      this.cached.delete(CURRENT); // decide on the latest version, not a cached one
      const cur = await this.current();
      const version = cur.version + 1;
      const minimumVersion = input.minimumVersion ?? cur.minimumVersion;
      if (minimumVersion < cur.minimumVersion || minimumVersion > version) {
        throw new ValidationError(
          'validation_failed',
          `minimumVersion must be between ${cur.minimumVersion} and ${version}`,
          'the required minimum never goes down and cannot exceed the new version',
          {
            fields: [{ field: 'body.minimumVersion', problem: `between ${cur.minimumVersion} and ${version}`, code: 'too_small' }],
          },
        );
      }
      const entries = { ...cur.entries, ...input.entries };
      for (const key of input.remove ?? []) delete entries[key];
      const value = { version, minimumVersion, entries };
      if (!(await this.versions.insert(value, by)))
        throw new ConflictError('config_version_conflict', `configuration version ${version} was published meanwhile`, 'publish again');
      this.cached.set(CURRENT, value);
      return value;
    });
  }
}
