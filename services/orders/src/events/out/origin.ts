/** Where a change comes from: the channel it was made on (if any) and the correlation id of the request or event. */
export interface EventOrigin {
  sourceChannel?: string | null;
  correlationId?: string;
}
