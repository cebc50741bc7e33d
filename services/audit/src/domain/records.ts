/**
 * From a Kafka record to the facts the evidence log keeps of it: who produced it, what it is, whom it
 * concerns (references only), on which channel, what kind of evidence it is, and its payload as JSON
 * data. Pure: the decoding itself (Avro through the registry) happens in the application.
 */
import type { EvidenceInput, SubjectRef } from '@omnimall/evidence';

/** One record as read from Kafka. */
export interface RawRecord {
  topic: string;
  partition: number;
  /** The offset as decimal text. */
  offset: string;
  /** The broker's timestamp (epoch ms): what Kafka's offsets-by-time answer from, so reports reconcile on it. */
  timestamp: number;
  key: string | null;
  headers: Record<string, string>;
  value: Buffer | null;
}

/** What a record is evidence of; trails are queried by it. */
export const EVIDENCE_KINDS = [
  'business',
  'command',
  'policy',
  'transformation',
  'collision',
  'compensation',
  'dead_letter',
  'retry',
  'ack',
  'escalation',
  'notice',
  'checkpoint',
  'undecodable',
] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

export const DLQ_SUFFIX = '.dlq';
export const RETRY_SUFFIX = '.retry';

/** The business topic a `.dlq` or `.retry` sibling belongs to (itself otherwise). */
export function baseTopic(topic: string): string {
  if (topic.endsWith(DLQ_SUFFIX)) return topic.slice(0, -DLQ_SUFFIX.length);
  if (topic.endsWith(RETRY_SUFFIX)) return topic.slice(0, -RETRY_SUFFIX.length);
  return topic;
}

const TOPIC_KINDS: Record<string, EvidenceKind> = {
  'sync.applied': 'ack',
  'sync.applied.bulk': 'ack',
  'sync.escalation': 'escalation',
  'sync.notice': 'notice',
  'audit.checkpoint': 'checkpoint',
  'catalog.transformation-evidence': 'transformation',
  'catalog.staged-diff': 'transformation',
  'catalog.restriction-refused': 'policy',
  'catalog.conflict': 'collision',
  'promotions.override-decision': 'policy',
  'identity.compliance-violation': 'policy',
  'inventory.reservation-command': 'command',
  'promotions.usage-command': 'command',
};

type Json = Record<string, unknown>;

const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** The kind of evidence a record is (by its topic, and for exceptions and orders by what it says). */
export function kindOf(topic: string, payload: Json | null, type: string): EvidenceKind {
  if (topic.endsWith(DLQ_SUFFIX)) return 'dead_letter';
  if (topic.endsWith(RETRY_SUFFIX)) return 'retry';
  if (payload === null) return 'undecodable';
  if (topic === 'platform.exception') return payload.kind === 'refusal' ? 'policy' : 'collision';
  if (topic === 'orders.order-status' && /compensat|failed/.test(`${type} ${String(payload.reason ?? '')}`)) return 'compensation';
  return TOPIC_KINDS[topic] ?? 'business';
}

/** What the aggregate of a topic's records is, by the topic's owner (its first segment). */
const AGGREGATE_KINDS: Record<string, string> = {
  identity: 'customer',
  channels: 'channel',
  catalog: 'product',
  cart: 'customer',
  inventory: 'product',
  promotions: 'promotion',
  orders: 'order',
  partner: 'order',
};
const TOPIC_AGGREGATES: Record<string, string> = {
  'identity.staff-changed': 'staff',
  'identity.signing-keys': 'key',
  'identity.session-revoked': 'session',
  'channels.channel-credentials': 'channel',
  'channels.partner-delivery': 'channel',
  'channels.notification': 'notification',
  'promotions.loyalty-entry': 'customer',
  'promotions.tier-changed': 'customer',
  'promotions.usage-command': 'order',
  'promotions.usage': 'order',
  'inventory.reservation-command': 'order',
  'inventory.reservation': 'order',
  'sync.escalation': 'event',
  'sync.notice': 'escalation',
  'sync.applied': 'event',
  'sync.applied.bulk': 'event',
  'audit.checkpoint': 'checkpoint',
};

/** Top-level payload fields that name a subject, and the subject's kind. */
const SUBJECT_FIELDS: Record<string, string> = {
  customerId: 'customer',
  survivorId: 'customer',
  mergedId: 'customer',
  staffId: 'staff',
  channel: 'channel',
  channelCode: 'channel',
  productId: 'product',
  sku: 'product',
  orderId: 'order',
  promotionId: 'promotion',
  campaignId: 'promotion',
  ackedEventId: 'event',
  eventId: 'event',
};

/**
 * Payload fields holding identifiers a person can be found by outside the platform (a partner's own
 * customer id, an external login, an address): never a subject reference (subjects are hashed into the
 * log forever), kept only as keyed hashes beside the record so that an erasure finds them.
 */
export const PERSONAL_FIELDS = ['partnerCustomerId', 'externalId', 'email', 'phone'];

/** The personal identifiers a payload carries (top-level fields of PERSONAL_FIELDS). */
export function personalIdsOf(payload: Json | null | undefined): string[] {
  if (!payload) return [];
  return PERSONAL_FIELDS.map((f) => text(payload[f])).filter((v): v is string => v !== null);
}

/** Fields that name who acted. */
const ACTOR_FIELDS = ['actor', 'actorId', 'decidedBy', 'changedBy', 'requestedBy', 'staffId'];

function aggregateKindOf(topic: string): string {
  const base = baseTopic(topic);
  const family = base.startsWith('partner.') ? 'partner' : base.split('.')[0];
  return TOPIC_AGGREGATES[base] ?? AGGREGATE_KINDS[family] ?? 'record';
}

/** Whom the record concerns, by reference: its aggregate, then the ids its payload names (each once). */
export function subjectsOf(topic: string, aggregateId: string | null, payload: Json | null): SubjectRef[] {
  const out: SubjectRef[] = [];
  const add = (kind: string, ref: unknown): void => {
    const r = text(ref);
    if (r !== null && r.length <= 200 && !out.some((s) => s.kind === kind && s.ref === r)) out.push({ kind, ref: r });
  };
  if (baseTopic(topic) === 'platform.exception') add(text(payload?.subjectKind) ?? 'record', payload?.subjectId ?? aggregateId);
  else add(aggregateKindOf(topic), aggregateId);
  for (const [field, kind] of Object.entries(SUBJECT_FIELDS)) if (payload) add(kind, payload[field]);
  return out;
}

/** Who acted: a named actor in the payload, else null (the producing service is the record's source). */
export function actorOf(payload: Json | null): string | null {
  if (!payload) return null;
  for (const field of ACTOR_FIELDS) {
    const v = text(payload[field]);
    if (v !== null) return v.slice(0, 200);
  }
  return null;
}

/** The channel: the envelope's source channel, else one the payload names, else the aggregate itself when it is a channel. */
export function channelOf(
  sourceChannel: string | null | undefined,
  payload: Json | null,
  topic = '',
  aggregateId: string | null = null,
): string | null {
  const named = text(sourceChannel) ?? (payload ? (text(payload.channel) ?? text(payload.channelCode)) : null);
  return named ?? (aggregateKindOf(topic) === 'channel' ? text(aggregateId) : null);
}

/**
 * A decoded Avro value as JSON data: bytes as base64 text, dates as epoch milliseconds, 64-bit integers
 * beyond 2^53 as decimal text, undefined dropped (what a JSON export and re-import gives an auditor).
 */
export function toJsonData(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.getTime();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toJsonData(v)));
  if (typeof value === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(value as Json)) if (v !== undefined) out[k] = toJsonData(v);
    return out;
  }
  return null;
}

/** The headers of a record that are evidence in their own right (dead-letter and retry reasons and origins). */
export function evidenceHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.startsWith('x-') || k === 'lane') out[k] = v.slice(0, 2000);
  return out;
}

export interface Decoded {
  /** The decoded value (envelope included), or null when it could not be decoded. */
  value: Json | null;
  /** Why it could not be, when it could not. */
  error?: string;
}

/** The largest undecodable value kept (as base64) in the evidence; a larger one is kept as its size and hash only. */
export const RAW_KEEP_BYTES = 64 * 1024;

/**
 * The facts of one record, ready to be chained. `recordedAt` is when the audit saw it; a record
 * without an envelope (undecodable, or a tombstone) takes its event id and type from its headers, else
 * names itself by its position.
 */
export function evidenceOf(record: RawRecord, decoded: Decoded, recordedAt: number): EvidenceInput & { kind: EvidenceKind } {
  const value = decoded.value;
  const envelope = (value?.envelope ?? null) as Json | null;
  const { envelope: _envelope, ...body } = value ?? {};
  const payloadFacts = value === null ? null : (toJsonData(body) as Json);
  const h = record.headers;
  const eventId = text(envelope?.eventId) ?? text(h.eventId) ?? `${record.topic}:${record.partition}:${record.offset}`;
  const type = text(envelope?.type) ?? text(h.type) ?? (record.value === null ? 'tombstone' : 'undecodable');
  const extra = evidenceHeaders(h);
  const raw =
    value === null && record.value !== null
      ? record.value.length <= RAW_KEEP_BYTES
        ? { base64: record.value.toString('base64') }
        : { bytes: record.value.length }
      : undefined;
  const payload = {
    ...(payloadFacts ?? {}),
    ...(Object.keys(extra).length ? { headers: extra } : {}),
    ...(raw ? { raw, decodeError: decoded.error ?? 'no value' } : {}),
  };
  return {
    source: text(envelope?.producer) ?? text(h.producer) ?? 'unknown',
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    eventId: eventId.slice(0, 200),
    type: type.slice(0, 200),
    actor: actorOf(payloadFacts),
    subjects: subjectsOf(record.topic, text(envelope?.aggregateId) ?? record.key, payloadFacts),
    channel: channelOf(
      envelope?.sourceChannel as string | null | undefined,
      payloadFacts,
      record.topic,
      text(envelope?.aggregateId) ?? record.key,
    ),
    occurredAt: Number.isSafeInteger(envelope?.occurredAt) ? (envelope!.occurredAt as number) : record.timestamp,
    recordedAt,
    payload,
    kind: kindOf(record.topic, payloadFacts, type),
  };
}

/** Whether offsets were skipped between the last recorded one and this one, and why (null when continuous or first). */
export function skippedBetween(last: string | undefined, offset: string): string | undefined {
  if (last === undefined) return undefined;
  const expected = BigInt(last) + 1n;
  const got = BigInt(offset);
  if (got <= expected) return undefined;
  return `Kafka delivered no record for offsets ${expected}..${got - 1n} (transaction markers, compaction or retention)`;
}
