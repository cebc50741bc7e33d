/**
 * Global configuration versions (`config_versions`, _id = the version number), appended, never
 * edited. Entries are stored as a list because configuration keys contain dots.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError } from '@omnimall/service-kit';
import type { ConfigEntry, ConfigVersion } from '../domain/config';

/** The stored shape (tests read it through StoreModels). */
export interface ConfigVersionDoc {
  _id: number;
  minimumVersion: number;
  entries: ({ key: string } & ConfigEntry)[];
  createdAt: Date;
  createdBy: string;
}

export interface ConfigVersionRepository {
  any(): Promise<boolean>;
  latest(): Promise<ConfigVersion | null>;
  get(version: number): Promise<ConfigVersion | null>;
  /** Appends a version; false when that version exists already. */
  insert(version: ConfigVersion, by: string): Promise<boolean>;
}

const configVersionSchema = new Schema<ConfigVersionDoc>(
  { _id: Number, minimumVersion: Number, entries: { type: Schema.Types.Mixed }, createdAt: Date, createdBy: String },
  { versionKey: false, minimize: false },
);

export function configVersionModel(db: Connection): Model<ConfigVersionDoc> {
  return db.model<ConfigVersionDoc>('ConfigVersion', configVersionSchema, 'config_versions');
}

function toVersion(doc: ConfigVersionDoc): ConfigVersion {
  return {
    version: doc._id,
    minimumVersion: doc.minimumVersion,
    entries: Object.fromEntries(doc.entries.map(({ key, ...e }) => [key, e])),
  };
}

export function configVersionRepository(model: Model<ConfigVersionDoc>): ConfigVersionRepository {
  return {
    any: async () => !!(await model.exists({})),
    latest: async () => {
      const doc = await model.findOne().sort({ _id: -1 }).lean<ConfigVersionDoc>();
      return doc && toVersion(doc);
    },
    get: async (version) => {
      const doc = await model.findById(version).lean<ConfigVersionDoc>();
      return doc && toVersion(doc);
    },
    async insert(v, by) {
      try {
        await model.create({
          _id: v.version,
          minimumVersion: v.minimumVersion,
          entries: Object.entries(v.entries).map(([key, e]) => ({ key, ...e })),
          createdAt: new Date(),
          createdBy: by,
        });
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
  };
}
