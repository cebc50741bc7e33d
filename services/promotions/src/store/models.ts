import { Schema, type Connection, type Model } from 'mongoose';

/** Schemaless beyond the declared paths: the repositories own the shape of their documents. */
export const loose = { versionKey: false, minimize: false, strict: false } as const;

/** One model per collection, registered once per connection (a second build on it reuses it). */
export const model = <T>(db: Connection, name: string, definition: Record<string, unknown>, collection: string): Model<T> =>
  (db.models[name] as Model<T> | undefined) ?? db.model<T>(name, new Schema(definition, loose), collection);
