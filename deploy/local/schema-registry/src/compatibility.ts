/**
 * Avro parsing and the Confluent compatibility rules, on top of avsc.
 * `reader.createResolver(writer)` throws when data written with `writer` cannot be read with `reader`.
 */
import * as avro from 'avsc';
import { invalidSchema, RegistryError, ErrorCode } from './errors';

export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

export function parseCompatibilityLevel(value: unknown): CompatibilityLevel {
  const level = typeof value === 'string' ? value.toUpperCase() : value;
  if (!COMPATIBILITY_LEVELS.includes(level as CompatibilityLevel)) {
    throw new RegistryError(
      422,
      ErrorCode.INVALID_COMPATIBILITY_LEVEL,
      `Invalid compatibility level ${JSON.stringify(value)}. Valid values are ${COMPATIBILITY_LEVELS.join(', ')}.`,
    );
  }
  return level as CompatibilityLevel;
}

export interface ParsedSchema {
  /** Compact JSON text: what is stored, returned, and compared to detect the same schema. */
  canonical: string;
  type: avro.Type;
}

/** Parses Avro schema text; throws a 42201 RegistryError when it is not valid Avro. */
export function parseAvro(text: unknown, schemaType: unknown = 'AVRO'): ParsedSchema {
  if (schemaType !== undefined && schemaType !== null && schemaType !== 'AVRO') {
    throw invalidSchema(`schemaType ${JSON.stringify(schemaType)} is not supported by this registry (AVRO only)`);
  }
  if (typeof text !== 'string' || text.trim() === '') {
    throw invalidSchema('"schema" must be a non-empty string holding the Avro schema as JSON');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidSchema(`schema is not JSON (${(err as Error).message})`);
  }
  try {
    return { canonical: JSON.stringify(json), type: avro.Type.forSchema(json as avro.Schema) };
  } catch (err) {
    throw invalidSchema((err as Error).message);
  }
}

/** Why `reader` cannot read data written with `writer`; undefined when it can. */
function unreadable(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export interface PreviousVersion {
  version: number;
  type: avro.Type;
}

/**
 * Checks `candidate` against the subject's live versions (oldest first) under `level`.
 * Returns the reasons it is incompatible; an empty list means compatible.
 */
export function incompatibilities(level: CompatibilityLevel, candidate: avro.Type, previous: readonly PreviousVersion[]): string[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? previous : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const reasons: string[] = [];
  for (const { version, type } of against) {
    const cannotReadOld = backward ? unreadable(candidate, type) : undefined;
    if (cannotReadOld) reasons.push(`new schema cannot read data written with version ${version}: ${cannotReadOld}`);
    const oldCannotRead = forward ? unreadable(type, candidate) : undefined;
    if (oldCannotRead) reasons.push(`version ${version} cannot read data written with the new schema: ${oldCannotRead}`);
  }
  return reasons;
}
