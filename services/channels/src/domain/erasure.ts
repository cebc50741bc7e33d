/**
 * What an erasure (identity.data-request, kind erasure) changes in channels' copies, as pure rules:
 * the pseudonym that replaces the customer's global id, the rewrite of a stored delivery body, and
 * the ids of the erasure notices sent to partners.
 *
 * Guarantees: the pseudonym derives from the request alone (`erased_<requestId>`), so it says
 * nothing about the customer and a replayed request writes the same value; a body is rewritten as
 * JSON (every string value and key naming the customer has the id replaced), so its structure and
 * the other customers it names stay intact.
 */
import { createHmac } from 'node:crypto';

/** The event kind of the notice a partner gets when a customer it mapped was erased. */
export const CUSTOMER_ERASED = 'customer.erased';

/** What a pending delivery whose secret part names an erased customer ends with. */
export const CUSTOMER_ERASED_ERROR = 'customer_erased';

export function pseudonymFor(requestId: string): string {
  return `erased_${requestId}`;
}

function replaceIn(value: unknown, customerId: string, pseudonym: string): unknown {
  if (typeof value === 'string') return value.split(customerId).join(pseudonym);
  if (Array.isArray(value)) return value.map((v) => replaceIn(v, customerId, pseudonym));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.split(customerId).join(pseudonym), replaceIn(v, customerId, pseudonym)]),
    );
  return value;
}

/** A delivery's JSON body with every mention of the customer replaced by the pseudonym. */
export function pseudonymiseBody(body: string, customerId: string, pseudonym: string): string {
  return JSON.stringify(replaceIn(JSON.parse(body), customerId, pseudonym));
}

/**
 * The source id of the erasure notice for one partner customer id: one per request, channel and
 * partner id, so a replayed request sends nothing twice. The partner id enters only as an HMAC under
 * the delivery key, so the id stored in clear does not reveal it (partner ids may be guessable).
 */
export function erasureNoticeId(key: Buffer, requestId: string, channel: string, partnerCustomerId: string): string {
  const digest = createHmac('sha256', key).update(`${channel}\n${partnerCustomerId}`).digest('hex').slice(0, 24);
  return `erasure_${requestId}_${digest}`;
}
