/** What every event catalog-sync publishes shares (the Avro records are in schemas/avro/catalog). */
export const PRODUCER = 'catalog-sync';

/** A free-form value as the JSON text the Avro records carry (null for undefined). */
export const json = (v: unknown): string => JSON.stringify(v ?? null);
