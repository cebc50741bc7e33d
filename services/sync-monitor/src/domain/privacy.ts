/**
 * Pure rules of the monitor's customer data: which customers a tracked record concerns, what an
 * erasure leaves of a tracked event, and when retention drops payloads and events.
 *
 * What the monitor stores about a customer (and nothing else holds personal data: the channel status,
 * the status feed and the known groups carry channel codes, event types and error classes only):
 *  - the original record of each tracked event (`raw`: key, Avro bytes, headers), kept for
 *    re-delivery; its payload may carry personal data (an external login id, a partner's customer id);
 *  - free text about the event: a consumer's ack error (`Name: message`, the message may quote
 *    input) and an admin's note on a retry, reconciliation or support case;
 *  - customer ids: the event's aggregateId (customer-keyed topics) and `customers`, the ids its
 *    payload names (kept so an erasure finds the customer's events after `raw` is gone), and
 *    `relatedEvents`, the events it was made from (a partner's record, which names the customer only
 *    by the partner's own id, is found through the mapped status that names both).
 * An erasure drops the record and replaces the free text (an ack error keeps its class, which the
 * issue grouping uses); ids stay, as identity keeps the erased customer's id.
 */
import { affectedCustomers, errorClass, type Tracking } from './propagation';

/** Top-level payload fields naming one of our customers (the ids a tracked record concerns). */
const CUSTOMER_FIELDS = /^(customerId|sourceCustomerId|targetCustomerId)$/;
/** channels.notification and sync.notice name their customer recipients here. */
const RECIPIENT_FIELDS = new Set(['recipientIds']);
/** Lists of records naming a customer each (cart.promotion-notice: `customers: [{ customerId, channel }]`). */
const RECIPIENT_RECORDS = new Set(['customers']);
/** An ack error after erasure: its class, then this. */
export const ERASED_TEXT = '[erased]';

/** An error's class when it looks like one (the kit writes `Name: message`), else `unknown`: never free text. */
function safeClass(error: string): string {
  const cls = error.includes(':') ? errorClass(error) : 'unknown';
  return /^[A-Za-z_][\w.-]{0,80}$/.test(cls) ? cls : 'unknown';
}

/** The customer ids a decoded event value names (deduplicated, in order). */
export function customersOf(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  const out = new Set<string>();
  for (const [k, v] of Object.entries(value)) {
    if (CUSTOMER_FIELDS.test(k) && typeof v === 'string' && v) out.add(v);
    if (RECIPIENT_FIELDS.has(k) && Array.isArray(v)) for (const id of v) if (typeof id === 'string' && id) out.add(id);
    if (RECIPIENT_RECORDS.has(k) && Array.isArray(v))
      for (const r of v) {
        const id = (r as { customerId?: unknown } | null)?.customerId;
        if (typeof id === 'string' && id) out.add(id);
      }
  }
  return [...out];
}

/** Who and what a tracked record concerns, as its payload says. */
export interface Subjects {
  /** Customer ids it names. */
  customers: string[];
  /** Events it was made from (`sourceEventId`: a partner's record behind its mapped status), erased with it. */
  relatedEvents: string[];
}

/** The subjects of a decoded event value. */
export function subjectsOf(value: unknown): Subjects {
  const source = (value as { sourceEventId?: unknown } | null)?.sourceEventId;
  return { customers: customersOf(value), relatedEvents: typeof source === 'string' && source ? [source] : [] };
}

/**
 * The tracked event with what it concerns: the customers its payload names and its aggregate on a
 * customer-keyed topic, and the events it names as its source.
 */
export function withSubjects(t: Tracking, s: Subjects = { customers: [], relatedEvents: [] }): Tracking {
  const customers = [...new Set([...(t.customers ?? []), ...s.customers, ...affectedCustomers(t.topic, t.aggregateId)])];
  const relatedEvents = [...new Set([...(t.relatedEvents ?? []), ...s.relatedEvents])];
  if (!customers.length && !relatedEvents.length) return t;
  return { ...t, ...(customers.length ? { customers } : {}), ...(relatedEvents.length ? { relatedEvents } : {}) };
}

/**
 * The tracked event with the customer's personal data erased: no original record, ack errors reduced
 * to their class, notes removed. Null when nothing is left to erase (a replay changes nothing).
 */
export function eraseTracking(t: Tracking, now: number): Tracking | null {
  const erasedError = (e: string | null): string | null => (e === null ? null : `${safeClass(e)}: ${ERASED_TEXT}`);
  const acks = t.acks.map((a) => (a.error === null || a.error === erasedError(a.error) ? a : { ...a, error: erasedError(a.error) }));
  const retries = t.retries.map((r) => (r.error ? { ...r, error: erasedError(r.error) } : r));
  const actions = t.actions.map((a) => (a.note === null ? a : { ...a, note: null }));
  const changed =
    t.raw !== null ||
    acks.some((a, i) => a !== t.acks[i]) ||
    retries.some((r, i) => r.error !== t.retries[i].error) ||
    actions.some((a, i) => a !== t.actions[i]);
  if (!changed) return null;
  return { ...t, raw: null, acks, retries, actions, erasedAt: now };
}

/** How long the monitor keeps what it tracks (SYNC_RAW_RETENTION_HOURS, SYNC_EVENT_RETENTION_DAYS). */
export interface RetentionPolicy {
  rawRetentionMs: number;
  eventRetentionMs: number;
}

/** The cut-offs of one pruning pass: records of events that occurred before `raw`, closed events before `events`. */
export function retentionCutoffs(policy: RetentionPolicy, now: number): { raw: number; events: number } {
  return { raw: now - policy.rawRetentionMs, events: now - policy.eventRetentionMs };
}
