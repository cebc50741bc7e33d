/**
 * The registry's operations, in Confluent's terms. Reads go to the in-memory state; changes go
 * through `store.update`, so they are decided against the latest state one at a time.
 */
import { CompatibilityLevel, incompatibilities, parseAvro, parseCompatibilityLevel, PreviousVersion } from './compatibility';
import { ErrorCode, RegistryError, schemaNotFound, subjectNotFound, versionNotFound } from './errors';
import { configRecord, RegistryState, SchemaVersion, schemaRecord } from './state';
import { KafkaStore } from './store';

/** A version number, or `latest` / -1. */
export type VersionRef = number | 'latest';

export function parseVersion(raw: string): VersionRef {
  if (raw === 'latest' || raw === '-1') return 'latest';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
    throw new RegistryError(
      422,
      ErrorCode.INVALID_VERSION,
      `The specified version '${raw}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
    );
  }
  return n;
}

export class Registry {
  constructor(private readonly store: KafkaStore) {}

  private get state(): RegistryState {
    return this.store.state;
  }

  subjects(includeDeleted: boolean): string[] {
    return this.state.subjectNames(includeDeleted);
  }

  schemaById(id: number): string {
    const schema = this.state.schemaById(id);
    if (schema === undefined) throw schemaNotFound();
    return schema;
  }

  /** `GET /schemas/ids/:id/versions`: the live subject versions using a global id. */
  subjectsOfId(id: number): { subject: string; version: number }[] {
    this.schemaById(id);
    return this.state.subjectsOfId(id).map(({ subject, version }) => ({ subject, version }));
  }

  versions(subject: string): number[] {
    return this.liveVersions(subject).map((v) => v.version);
  }

  version(subject: string, ref: VersionRef): SchemaVersion {
    const versions = this.liveVersions(subject);
    const found = ref === 'latest' ? versions[versions.length - 1] : versions.find((v) => v.version === ref);
    if (!found) throw versionNotFound(subject, ref);
    return found;
  }

  /** `POST /subjects/:subject`: the version of the subject holding this schema. */
  lookup(subject: string, schemaText: unknown, schemaType: unknown): SchemaVersion {
    const { canonical } = parseAvro(schemaText, schemaType);
    const found = this.liveVersions(subject).find((v) => v.schema === canonical);
    if (!found) throw schemaNotFound(`Schema not found under subject '${subject}'`);
    return found;
  }

  /** Registers a schema under a subject; returns its global id. Idempotent per subject. */
  register(subject: string, schemaText: unknown, schemaType: unknown): Promise<number> {
    const parsed = parseAvro(schemaText, schemaType);
    return this.store.update((state) => {
      const live = state.versions(subject);
      const existing = live.find((v) => v.schema === parsed.canonical);
      if (existing) return { records: [], result: existing.id };

      const level = state.effectiveLevel(subject);
      const reasons = incompatibilities(level, parsed.type, toPrevious(live));
      if (reasons.length > 0) {
        throw new RegistryError(
          409,
          ErrorCode.INCOMPATIBLE_SCHEMA,
          `Schema being registered is incompatible with an earlier schema for subject "${subject}" ` +
            `(compatibility ${level}): ${reasons.join('; ')}`,
        );
      }
      const id = state.idOfSchema(parsed.canonical) ?? state.nextId();
      const version = state.maxVersion(subject) + 1;
      const entry = { subject, version, id, schema: parsed.canonical, deleted: false };
      return { records: [schemaRecord(entry)], result: id };
    });
  }

  /**
   * `POST /compatibility/subjects/:subject/versions/:version`: a numbered version is checked alone,
   * `latest` as registration would check it (all live versions for *_TRANSITIVE levels).
   */
  checkCompatibility(subject: string, ref: VersionRef, schemaText: unknown, schemaType: unknown): string[] {
    const parsed = parseAvro(schemaText, schemaType);
    // Like Confluent: nothing registered yet is compatible with `latest`; a missing numbered version is an error.
    const against = ref === 'latest' ? this.state.versions(subject) : [this.version(subject, ref)];
    return incompatibilities(this.state.effectiveLevel(subject), parsed.type, toPrevious(against));
  }

  /** Soft delete: the versions stay readable by id but leave the subject. Returns the deleted versions. */
  deleteSubject(subject: string): Promise<number[]> {
    return this.store.update((state) => {
      const live = state.versions(subject);
      if (live.length === 0) throw subjectNotFound(subject);
      return {
        records: live.map((v) => schemaRecord({ ...v, deleted: true })),
        result: live.map((v) => v.version),
      };
    });
  }

  deleteVersion(subject: string, ref: VersionRef): Promise<number> {
    return this.store.update(() => {
      const found = this.version(subject, ref);
      return { records: [schemaRecord({ ...found, deleted: true })], result: found.version };
    });
  }

  globalLevel(): CompatibilityLevel {
    return this.state.globalCompatibility();
  }

  /** A subject's own level; with `defaultToGlobal`, the level that applies to it. */
  subjectLevel(subject: string, defaultToGlobal: boolean): CompatibilityLevel {
    const level = defaultToGlobal ? this.state.effectiveLevel(subject) : this.state.subjectLevel(subject);
    if (level === undefined) {
      throw new RegistryError(
        404,
        ErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
        `Subject '${subject}' does not have subject-level compatibility configured`,
      );
    }
    return level;
  }

  /** `subject` null sets the global level. */
  setLevel(subject: string | null, raw: unknown): Promise<CompatibilityLevel> {
    const level = parseCompatibilityLevel(raw);
    return this.store.update(() => ({ records: [configRecord(subject, level)], result: level }));
  }

  /** Removes a subject's own level (it falls back to the global one); returns the removed level. */
  deleteSubjectLevel(subject: string): Promise<CompatibilityLevel> {
    return this.store.update(() => {
      const level = this.subjectLevel(subject, false);
      return { records: [configRecord(subject, null)], result: level };
    });
  }

  private liveVersions(subject: string): SchemaVersion[] {
    const versions = this.state.versions(subject);
    if (versions.length === 0) throw subjectNotFound(subject);
    return versions;
  }
}

function toPrevious(versions: SchemaVersion[]): PreviousVersion[] {
  return versions.map((v) => ({ version: v.version, type: parseAvro(v.schema).type }));
}
