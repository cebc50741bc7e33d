/**
 * What one HTTP request is, reachable from anywhere its handling leads (AsyncLocalStorage): its
 * correlation id, and the ids of the events its writes staged in an outbox. The app (app.ts) opens
 * a context per request; the outbox notes each event it commits while one is open (outbox.ts); the
 * API answers a write with those ids in `x-event-ids` (api.ts), so a caller can find the events its
 * change caused (on the sync-monitor, in the audit log) without guessing.
 *
 * Guarantees: only committed events are noted (a write that wrote nothing, or failed, notes none);
 * work outside a request (consumers, periodic passes) has no context and notes nothing; at most
 * MAX_EVENT_IDS_IN_HEADER ids are listed in the header, `x-event-count` always says how many there were.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  /** The request's correlation id (kept from x-correlation-id when safe, else fresh). */
  readonly correlationId: string;
  /** The events the request's writes committed so far, in commit order. */
  readonly eventIds: string[];
}

/** The response header listing the ids of the events a write committed (comma-separated). */
export const EVENT_IDS_HEADER = 'x-event-ids';
/** The response header counting them (also when the list is cut short). */
export const EVENT_COUNT_HEADER = 'x-event-count';
/** How many ids the header lists at most (a bulk write may stage thousands; the count says so). */
export const MAX_EVENT_IDS_IN_HEADER = 50;

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` (and everything it leads to, sync or async) inside a request's context. */
export function runInRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the request being handled, or undefined outside any request. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/** Where the app also keeps a request's context (res.locals), for code that holds the response. */
export const REQUEST_CONTEXT = 'requestContext';

/** The context of the request a response answers (the one the app opened for it). */
export function requestContextOf(res: { locals: Record<string, unknown> }): RequestContext | undefined {
  return (res.locals[REQUEST_CONTEXT] as RequestContext | undefined) ?? currentRequest();
}

/** Notes committed events on the request they were written for (no request: nothing to note). */
export function noteCommittedEvents(context: RequestContext | undefined, eventIds: readonly string[]): void {
  if (context) context.eventIds.push(...eventIds);
}

/** The headers naming a request's committed events, or none when it committed none. */
export function eventIdHeaders(context: RequestContext | undefined): Record<string, string> {
  if (!context?.eventIds.length) return {};
  const ids = [...new Set(context.eventIds)];
  return { [EVENT_IDS_HEADER]: ids.slice(0, MAX_EVENT_IDS_IN_HEADER).join(','), [EVENT_COUNT_HEADER]: String(ids.length) };
}
