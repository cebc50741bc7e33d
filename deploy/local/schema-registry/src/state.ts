/**
 * The registry's in-memory state, rebuilt from the `_schemas` topic records.
 * Records use the Confluent `_schemas` layout: JSON keys naming the entry, JSON values (null = tombstone).
 *   SCHEMA key {"keytype":"SCHEMA","subject":s,"version":v,"magic":1}  value {subject,version,id,schema,deleted}
 *   CONFIG key {"keytype":"CONFIG","subject":s|null,"magic":0}         value {compatibilityLevel}
 * Keys are built with a fixed property order so that compaction sees one key per entry.
 */
import { CompatibilityLevel, COMPATIBILITY_LEVELS, DEFAULT_COMPATIBILITY } from './compatibility';

export interface SchemaVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
  deleted: boolean;
}

export interface LogRecord {
  key: string;
  value: string | null;
}

export const schemaRecord = (entry: SchemaVersion): LogRecord => ({
  key: JSON.stringify({ keytype: 'SCHEMA', subject: entry.subject, version: entry.version, magic: 1 }),
  value: JSON.stringify({
    subject: entry.subject,
    version: entry.version,
    id: entry.id,
    schema: entry.schema,
    deleted: entry.deleted,
  }),
});

/** `subject` null is the global config; `level` null removes a subject's own level. */
export const configRecord = (subject: string | null, level: CompatibilityLevel | null): LogRecord => ({
  key: JSON.stringify({ keytype: 'CONFIG', subject, magic: 0 }),
  value: level === null ? null : JSON.stringify({ compatibilityLevel: level }),
});

export class RegistryState {
  private readonly subjects = new Map<string, Map<number, SchemaVersion>>();
  private readonly schemasById = new Map<number, string>();
  private readonly idsBySchema = new Map<string, number>();
  private readonly subjectLevels = new Map<string, CompatibilityLevel>();
  private globalLevel: CompatibilityLevel = DEFAULT_COMPATIBILITY;
  private maxId = 0;

  /** Applies one record; returns false (and changes nothing) when the record is not understood. */
  apply(record: LogRecord): boolean {
    let key: { keytype?: unknown; subject?: unknown; version?: unknown };
    let value: Record<string, unknown> | null;
    try {
      key = JSON.parse(record.key);
      value = record.value === null ? null : JSON.parse(record.value);
    } catch {
      return false;
    }
    if (key.keytype === 'SCHEMA' && typeof key.subject === 'string' && typeof key.version === 'number') {
      return this.applySchema(key.subject, key.version, value);
    }
    if (key.keytype === 'CONFIG' && (key.subject === null || typeof key.subject === 'string')) {
      return this.applyConfig(key.subject, value);
    }
    return false;
  }

  private applySchema(subject: string, version: number, value: Record<string, unknown> | null): boolean {
    const versions = this.subjects.get(subject) ?? new Map<number, SchemaVersion>();
    this.subjects.set(subject, versions);
    if (value === null) {
      versions.delete(version);
      return true;
    }
    const { id, schema, deleted } = value;
    if (typeof id !== 'number' || typeof schema !== 'string') return false;
    versions.set(version, { subject, version, id, schema, deleted: deleted === true });
    this.schemasById.set(id, schema);
    this.idsBySchema.set(schema, id);
    this.maxId = Math.max(this.maxId, id);
    return true;
  }

  private applyConfig(subject: string | null, value: Record<string, unknown> | null): boolean {
    const level = value?.compatibilityLevel;
    if (value !== null && !COMPATIBILITY_LEVELS.includes(level as CompatibilityLevel)) return false;
    if (subject === null) {
      this.globalLevel = value === null ? DEFAULT_COMPATIBILITY : (level as CompatibilityLevel);
    } else if (value === null) {
      this.subjectLevels.delete(subject);
    } else {
      this.subjectLevels.set(subject, level as CompatibilityLevel);
    }
    return true;
  }

  nextId(): number {
    return this.maxId + 1;
  }

  schemaById(id: number): string | undefined {
    return this.schemasById.get(id);
  }

  idOfSchema(canonical: string): number | undefined {
    return this.idsBySchema.get(canonical);
  }

  /** Versions of a subject, oldest first; soft-deleted ones only when asked. */
  versions(subject: string, includeDeleted = false): SchemaVersion[] {
    const all = [...(this.subjects.get(subject)?.values() ?? [])];
    return all.filter((v) => includeDeleted || !v.deleted).sort((a, b) => a.version - b.version);
  }

  /** The highest version number ever used by the subject, deleted ones included (never reused). */
  maxVersion(subject: string): number {
    return Math.max(0, ...this.versions(subject, true).map((v) => v.version));
  }

  subjectNames(includeDeleted = false): string[] {
    return [...this.subjects.keys()].filter((s) => this.versions(s, includeDeleted).length > 0).sort();
  }

  subjectsOfId(id: number): SchemaVersion[] {
    return [...this.subjects.values()].flatMap((m) => [...m.values()]).filter((v) => v.id === id && !v.deleted);
  }

  subjectLevel(subject: string): CompatibilityLevel | undefined {
    return this.subjectLevels.get(subject);
  }

  globalCompatibility(): CompatibilityLevel {
    return this.globalLevel;
  }

  effectiveLevel(subject: string): CompatibilityLevel {
    return this.subjectLevels.get(subject) ?? this.globalLevel;
  }
}
