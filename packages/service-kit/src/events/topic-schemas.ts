/**
 * Each topic read and written as its own catalogue schema says, whatever schema a writer chose.
 *
 * Guarantees:
 *  - a record is decoded with the catalogue's schema of the topic being consumed as the reader
 *    schema (Avro schema resolution from the writer schema its id names), so a handler sees exactly
 *    the fields and types of its topic: a compatible writer (an older or newer version of the topic)
 *    is resolved, a field of the wrong type is refused;
 *  - a schema id that is not a version of the topic's `<topic>-value` subject is refused
 *    (`schema_not_of_topic`), even when the registry knows it under another subject: a partner
 *    cannot write a record with another topic's schema, or one of its own making. A partner's own
 *    topic (`partner.<code>.<rest>`, see @omnimall/contracts' partners.ts) is read as its family's
 *    and also accepts the family's subject (what the platform registers);
 *  - `problems` lists the fields of a value that its topic's schema would refuse, so a writer can
 *    refuse an event before it is committed rather than after.
 *
 * Costs: the subject's ids are read once per topic (and again when an unknown id shows up, at most
 * once per id every 10 s), the writer schema once per id, the resolver once per (topic, id); after
 * that a decode is one Avro read.
 */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Type, type Resolver } from 'avsc';
import { LRUCache } from 'lru-cache';
import { partnerOfTopic, topicSpec } from '@omnimall/contracts';

/** Why a record was refused: the reason its dead-letter copy carries in `x-dlq-reason`. */
export type RefusalReason = 'undecodable' | 'schema_not_of_topic' | 'schema_unresolvable';

/** A record that cannot be read as an event of its topic; no retry can change that. */
export class UndecodableRecordError extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'UndecodableRecordError';
  }
}

/** How long an id found outside a topic's subject is refused without asking the registry again. */
const REFUSED_FOR_MS = 10_000;
/** Missing versions in a row after which the walk of a subject's versions stops. */
const MAX_VERSION_GAP = 50;

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

interface ReadPlan {
  reader: Type;
  /** Absent when the writer schema is the reader schema. */
  resolver?: Resolver;
}

export class TopicSchemas {
  private readonly readers = new Map<string, Type>();
  /** subject → the schema ids of its versions, as last read. */
  private readonly subjectIds = new Map<string, Promise<Set<number>>>();
  private readonly plans = new LRUCache<string, ReadPlan>({ max: 1000 });
  private readonly refused = new LRUCache<string, UndecodableRecordError>({ max: 10_000, ttl: REFUSED_FOR_MS });

  constructor(
    private readonly client: SchemaRegistry,
    /** The writer schema of an id (the registry's, through the caller's breaker). */
    private readonly writerOf: (id: number) => Promise<unknown>,
    /** A topic's reader schema (default: the catalogue's, schemas/topics.yaml). */
    private readonly catalogue: (topic: string) => unknown = (topic) => topicSpec(topic).avro,
  ) {}

  /** The catalogue's schema of a topic, as an Avro type. */
  reader(topic: string): Type {
    let type = this.readers.get(topic);
    if (!type) {
      type = Type.forSchema(this.catalogue(topic) as never);
      this.readers.set(topic, type);
    }
    return type;
  }

  /** The fields of `value` that the topic's schema refuses (empty: it can be encoded). */
  problems(topic: string, value: unknown): string[] {
    let type: Type;
    try {
      type = this.reader(topic);
    } catch (err) {
      return [(err as Error).message];
    }
    const paths: string[] = [];
    const valid = type.isValid(value, {
      errorHook: (path: string[], v: unknown) => paths.push(`${path.join('.') || '(value)'}: ${describe(v)}`),
    });
    return valid ? [] : paths.length ? paths : ['(value): does not match the schema'];
  }

  /** Bytes of `value` encoded with its topic's schema (Avro body only); the value must be valid (see problems). */
  encodedSize(topic: string, value: unknown): number {
    return this.reader(topic).toBuffer(value).length;
  }

  /** Decodes an Avro body written with schema `id` as an event of `topic`; throws UndecodableRecordError. */
  async read<T>(topic: string, id: number, body: Buffer): Promise<T> {
    const plan = await this.planFor(topic, id);
    try {
      return plan.reader.fromBuffer(body, plan.resolver) as T;
    } catch (err) {
      throw new UndecodableRecordError('undecodable', `the value does not match its schema ${id}: ${(err as Error).message}`);
    }
  }

  private async planFor(topic: string, id: number): Promise<ReadPlan> {
    const key = `${topic}\u0000${id}`;
    const known = this.plans.get(key);
    if (known) return known;
    const refused = this.refused.get(key);
    if (refused) throw refused;
    const subject = `${topic}-value`;
    const family = partnerOfTopic(topic)?.family;
    const subjects = family ? [subject, `${family}-value`] : [subject];
    if (!(await this.isVersionOfAny(subjects, id))) {
      const err = new UndecodableRecordError(
        'schema_not_of_topic',
        `schema id ${id} is not a version of ${subject}; write ${topic} records with a schema registered under that subject`,
      );
      this.refused.set(key, err);
      throw err;
    }
    const reader = this.reader(topic);
    const writer = (await this.writerOf(id)) as Type;
    if (typeof writer?.createResolver !== 'function')
      throw new UndecodableRecordError('schema_unresolvable', `schema id ${id} is not an Avro schema`);
    let plan: ReadPlan;
    try {
      plan = reader.equals(writer) ? { reader } : { reader, resolver: reader.createResolver(writer) };
    } catch (err) {
      throw new UndecodableRecordError('schema_unresolvable', `schema id ${id} cannot be read as ${subject}: ${(err as Error).message}`);
    }
    this.plans.set(key, plan);
    return plan;
  }

  private async isVersionOfAny(subjects: string[], id: number): Promise<boolean> {
    for (const subject of subjects) if (await this.isVersionOf(subject, id)) return true;
    return false;
  }

  /** Whether `id` is one of the subject's versions; an id not seen yet makes it read the versions again. */
  private async isVersionOf(subject: string, id: number): Promise<boolean> {
    const cached = this.subjectIds.get(subject);
    if (cached && (await cached.catch(() => new Set<number>())).has(id)) return true;
    const fresh = this.versionIds(subject);
    this.subjectIds.set(subject, fresh);
    void fresh.catch(() => {
      if (this.subjectIds.get(subject) === fresh) this.subjectIds.delete(subject);
    });
    return (await fresh).has(id);
  }

  /** The ids of a subject's live versions, walking version numbers up to the latest one's id. */
  private async versionIds(subject: string): Promise<Set<number>> {
    const ids = new Set<number>();
    let latest: number;
    try {
      latest = await this.client.getLatestSchemaId(subject);
    } catch (err) {
      if (statusOf(err) === 404) return ids; // no such subject: nothing belongs to it
      throw err;
    }
    for (let version = 1, gap = 0; gap < MAX_VERSION_GAP; version++) {
      try {
        const id = await this.client.getRegistryId(subject, version);
        ids.add(id);
        gap = 0;
        if (id === latest) break;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        gap++; // a deleted version
      }
    }
    ids.add(latest);
    return ids;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const text = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${text.length > 40 ? `${text.slice(0, 40)}…` : text} not allowed`;
}
