/** The global configuration versions: seeded with version 1, appended to by admins, never edited. */
import { isDuplicateKeyError, NotFoundError, ValidationError, type DocumentLocks } from '@omnimall/service-kit';
import { INITIAL_CONFIG, type ConfigEntry, type ConfigVersion } from '../domain/config';
import type { ConfigVersionDoc, Store } from '../store/models';

function toVersion(doc: ConfigVersionDoc): ConfigVersion {
  return {
    version: doc._id,
    minimumVersion: doc.minimumVersion,
    entries: Object.fromEntries(doc.entries.map(({ key, ...e }) => [key, e])),
  };
}

function rows(entries: Record<string, ConfigEntry>): ConfigVersionDoc['entries'] {
  return Object.entries(entries).map(([key, e]) => ({ key, ...e }));
}

/**
 * Every channel write evaluates the block reasons against the current version, so the current
 * version is cached for `cacheMs`; a publish through this instance refreshes it at once, another
 * instance's publish is seen within cacheMs.
 */
export class ConfigStore {
  private cached?: { at: number; value: ConfigVersion };

  constructor(
    private readonly store: Store,
    private readonly locks: DocumentLocks,
    private readonly cacheMs = 1000,
  ) {}

  async ensureInitial(): Promise<void> {
    if (await this.store.configVersions.exists({})) return;
    try {
      await this.store.configVersions.create({
        _id: INITIAL_CONFIG.version,
        minimumVersion: INITIAL_CONFIG.minimumVersion,
        entries: rows(INITIAL_CONFIG.entries),
        createdAt: new Date(),
        createdBy: 'system',
      });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // another instance seeded it
    }
  }

  async current(): Promise<ConfigVersion> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.value;
    const doc = await this.store.configVersions.findOne().sort({ _id: -1 }).lean();
    if (!doc) throw new Error('no configuration version: ensureInitial() was not run');
    const value = toVersion(doc);
    this.cached = { at: Date.now(), value };
    return value;
  }

  async get(version: number): Promise<ConfigVersion> {
    const doc = await this.store.configVersions.findById(version).lean();
    if (!doc)
      throw new NotFoundError(
        'config_version_not_found',
        `configuration version ${version} does not exist`,
        'GET /config shows the current version',
      );
    return toVersion(doc);
  }

  /** Appends a version: the given entries replace or add keys of the current one; `remove` drops keys. */
  async publish(
    input: { entries: Record<string, ConfigEntry>; remove?: string[]; minimumVersion?: number },
    by: string,
  ): Promise<ConfigVersion> {
    return this.locks.run('config_versions:head', async () => {
      this.cached = undefined; // decide on the latest version, not a cached one
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
      await this.store.configVersions.create({
        _id: version,
        minimumVersion,
        entries: rows(entries),
        createdAt: new Date(),
        createdBy: by,
      });
      const value = { version, minimumVersion, entries };
      this.cached = { at: Date.now(), value };
      return value;
    });
  }
}
