/**
 * Avro through the schema registry: schemas registered (BACKWARD) at start, so an incompatible change
 * fails the start with the registry's own message; registry calls go through a circuit breaker.
 */
import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import type CircuitBreaker from 'opossum';
import type { TopicSpec } from '@omnimall/contracts';
import { createBreaker } from '../resilience/breaker';
import type { ServiceMetrics } from '../observability/metrics';
import { TopicSchemas, UndecodableRecordError } from './topic-schemas';

/** The registry's own refusal (incompatible schema, invalid schema...), surfaced unchanged at start. */
export class SchemaRegistrationError extends Error {
  constructor(
    readonly subject: string,
    readonly registryMessage: string,
  ) {
    super(`schema registration for ${subject} refused by the registry: ${registryMessage}`);
  }
}

/** Confluent wire format: magic byte 0, then the 4-byte big-endian schema id, then Avro binary. */
export function schemaIdOf(buffer: Buffer): number | null {
  if (!buffer || buffer.length < 5 || buffer.readUInt8(0) !== 0) return null;
  return buffer.readInt32BE(1);
}

/**
 * Encodes and decodes events in the Confluent wire format. Schemas are registered once at start
 * (subject `<topic>-value`, BACKWARD); every network call to the registry goes through a circuit
 * breaker, and encode/decode after warm-up touch only the client's cache.
 */
export class EventSchemas {
  readonly client: SchemaRegistry;
  private readonly idsByTopic = new Map<string, number>();
  private readonly knownIds = new Set<number>();
  private readonly fetchSchema: CircuitBreaker<[number], unknown>;
  private readonly registerBreaker: CircuitBreaker<[TopicSpec], number>;

  /** `auth`: basic auth for a registry that asks for it (SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD). */
  constructor(url: string, metrics: ServiceMetrics, auth?: { username: string; password: string }) {
    this.client = new SchemaRegistry({ host: url, retry: { retries: 2, maxRetryTimeInSecs: 1 }, ...(auth ? { auth } : {}) });
    const isClientError = (err: unknown): boolean => {
      const status = (err as { status?: number }).status;
      return typeof status === 'number' && status >= 400 && status < 500;
    };
    this.fetchSchema = createBreaker('schema-registry', (id: number) => this.client.getSchema(id), metrics, { isClientError });
    this.registerBreaker = createBreaker('schema-registry-register', (spec: TopicSpec) => this.registerOne(spec), metrics, {
      isClientError: (err) => err instanceof SchemaRegistrationError || isClientError(err),
      timeoutMs: 15000,
    });
  }

  private async registerOne(spec: TopicSpec): Promise<number> {
    const subject = `${spec.name}-value`;
    try {
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(spec.avro) },
        { subject, compatibility: COMPATIBILITY.BACKWARD },
      );
      return id;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        throw new SchemaRegistrationError(subject, (err as Error).message);
      }
      throw err;
    }
  }

  /** Registers the value schema of each topic; an incompatible change rejects with the registry's message. */
  async register(topics: readonly TopicSpec[]): Promise<void> {
    for (const spec of topics) {
      const id = await this.registerBreaker.fire(spec);
      this.idsByTopic.set(spec.name, id);
      this.knownIds.add(id);
    }
  }

  idOf(topic: string): number {
    const id = this.idsByTopic.get(topic);
    if (id === undefined) throw new Error(`topic ${topic} was not registered by this service (add it to its produced topics)`);
    return id;
  }

  async encode(topic: string, value: unknown): Promise<Buffer> {
    return this.client.encode(this.idOf(topic), value);
  }

  /**
   * Decodes a record value with its writer's schema, whatever topic it came from: for tests and
   * tools that read what they produced. Consumers use `decodeFrom`, which holds the record to its topic.
   */
  async decode<T>(buffer: Buffer): Promise<T> {
    const id = schemaIdOf(buffer);
    if (id === null) throw new Error('not a Confluent wire-format record (magic byte missing)');
    if (!this.knownIds.has(id)) {
      await this.fetchSchema.fire(id);
      this.knownIds.add(id);
    }
    return (await this.client.decode(buffer)) as T;
  }

  /** The catalogue's schema per topic, read once; created on first use. */
  private topicSchemas?: TopicSchemas;
  private get topics(): TopicSchemas {
    return (this.topicSchemas ??= new TopicSchemas(this.client, async (id) => {
      if (!this.knownIds.has(id)) {
        await this.fetchSchema.fire(id);
        this.knownIds.add(id);
      }
      return this.client.getSchema(id);
    }));
  }

  /**
   * Decodes a record of `topic` as that topic's own schema says (see topic-schemas.ts): refuses,
   * with an UndecodableRecordError naming the reason, bytes that are not the Confluent wire format,
   * a schema id that is not a version of `<topic>-value`, and a value that does not match.
   */
  async decodeFrom<T>(topic: string, buffer: Buffer | null): Promise<T> {
    const id = buffer ? schemaIdOf(buffer) : null;
    if (id === null || !buffer) throw new UndecodableRecordError('undecodable', 'not a Confluent wire-format record (magic byte missing)');
    return this.topics.read<T>(topic, id, buffer.subarray(5));
  }

  /** The fields of an event value its topic's schema would refuse (empty: it can be encoded). */
  problems(topic: string, value: unknown): string[] {
    if (!this.idsByTopic.has(topic)) return [`topic ${topic} was not registered by this service (add it to its produced topics)`];
    return this.topics.problems(topic, value);
  }

  /** Bytes of a valid event value in the Confluent wire format (5-byte header + Avro body). */
  encodedSize(topic: string, value: unknown): number {
    return 5 + this.topics.encodedSize(topic, value);
  }
}
