/** What an event carries about the request or worker that caused it: the channel it was made on (if any) and its correlation id. */
export interface EventOrigin {
  sourceChannel?: string | null;
  correlationId?: string;
}
