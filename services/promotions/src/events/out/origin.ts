/** What an event carries about the request or worker that caused it. */
export interface EventOrigin {
  correlationId?: string;
}
