/**
 * Reads the databases of a running platform directly, for checks no API can make: whether any
 * document anywhere still holds a given value (erasure). Collections are listed with the driver, never
 * named here, so a collection added later is searched too. Each document is rendered as text with
 * every binary field (Buffer, BSON Binary: Avro payloads, encrypted or raw bodies) decoded as UTF-8
 * beside its JSON, and searched case-insensitively.
 */
import mongoose from 'mongoose';

const { MongoClient, Binary } = mongoose.mongo;

export interface Hit {
  db: string;
  collection: string;
  id: string;
  needle: string;
  /** The text around the hit. */
  excerpt: string;
}

/** A document as searchable text: JSON, with binary fields replaced by their UTF-8 decoding. */
export function documentText(doc: unknown): string {
  const decoded = (v: unknown): unknown => {
    if (v instanceof Binary) return Buffer.from(v.buffer).toString('utf8');
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (Array.isArray(v)) return v.map(decoded);
    if (v && typeof v === 'object' && v.constructor === Object)
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, decoded(x)]));
    return v;
  };
  return JSON.stringify(decoded(doc));
}

/** Every document of every collection of `dbs` that contains one of `needles` (case-insensitive). */
export async function findEverywhere(dbs: readonly string[], needles: readonly string[]): Promise<Hit[]> {
  const client = new MongoClient(process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017');
  await client.connect();
  const hits: Hit[] = [];
  const lowered = needles.map((n) => n.toLowerCase());
  try {
    for (const name of dbs) {
      const db = client.db(name);
      for (const { name: collection } of await db.listCollections({}, { nameOnly: true }).toArray()) {
        for await (const doc of db.collection(collection).find({})) {
          const text = documentText(doc);
          const lower = text.toLowerCase();
          lowered.forEach((needle, i) => {
            const at = lower.indexOf(needle);
            if (at >= 0)
              hits.push({
                db: name,
                collection,
                id: String(doc._id),
                needle: needles[i],
                excerpt: text.slice(Math.max(0, at - 80), at + needle.length + 80),
              });
          });
        }
      }
    }
  } finally {
    await client.close();
  }
  return hits;
}

/** The collections each database holds (to show the search covered something). */
export async function collectionsOf(dbs: readonly string[]): Promise<Record<string, string[]>> {
  const client = new MongoClient(process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017');
  await client.connect();
  try {
    const out: Record<string, string[]> = {};
    for (const name of dbs) out[name] = (await client.db(name).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    return out;
  } finally {
    await client.close();
  }
}
