/**
 * Stage 1, decode: which topic a record belongs to, whether it is this group's to handle now, and
 * its value.
 *
 * Guarantees: a record on `<topic>.retry` is handled only by the group that sent it there
 * (`x-consumer`), and not before its `x-not-before` (waiting at most `retryDelayMs`, so a wrong clock
 * cannot stall a partition); a value is read with its topic's own schema as the reader schema
 * (a compatible writer version is resolved); bytes that are not the Confluent wire format, a schema
 * id that is not a version of `<topic>-value`, a value that does not match, or one without an
 * event envelope is refused here with an UndecodableRecordError naming the reason (the consumer
 * dead-letters it under that reason), never handed to a handler.
 */
import type { IHeaders } from 'kafkajs';
import type { EventEnvelope } from '@omnimall/contracts';
import { headerString } from '../../kafka/publisher';
import type { EventSchemas } from '../schema-registry';
import { UndecodableRecordError } from '../topic-schemas';

const RETRY_SUFFIX = '.retry';

/** The topic a record's handler is registered for, and whether the record came through the retry topic. */
export function sourceOf(topic: string): { source: string; isRetry: boolean } {
  const isRetry = topic.endsWith(RETRY_SUFFIX);
  return { source: isRetry ? topic.slice(0, -RETRY_SUFFIX.length) : topic, isRetry };
}

/**
 * For a record of a retry topic: null when it is another group's, else how long to wait before
 * handling it (0: at once; never more than `retryDelayMs`).
 */
export function retryWait(headers: IHeaders | undefined, group: string, retryDelayMs: number, now = Date.now()): number | null {
  if (headerString(headers, 'x-consumer') !== group) return null;
  const notBefore = Number(headerString(headers, 'x-not-before') ?? 0);
  const wait = Math.min(notBefore - now, retryDelayMs);
  return wait > 0 ? wait : 0;
}

/** The attempts a retried record already had (`x-attempt`), 0 for a record of the main topic. */
export function attemptsBefore(headers: IHeaders | undefined, isRetry: boolean, attempts: number): number {
  return isRetry ? Number(headerString(headers, 'x-attempt') ?? attempts) : 0;
}

/** Decodes a record value of `topic` into an event; throws when it is not one of that topic. */
export async function decodeEvent(schemas: EventSchemas, topic: string, value: Buffer | null): Promise<{ envelope: EventEnvelope }> {
  const decoded = await schemas.decodeFrom<{ envelope: EventEnvelope }>(topic, value);
  if (!decoded?.envelope?.eventId) throw new UndecodableRecordError('undecodable', 'record has no event envelope');
  return decoded;
}
