/**
 * The marketing consents cart keeps (identity.consent-changed, one customer and channel per event,
 * full state): whether the customer may be sent marketing, a promotion notice, on that channel.
 * Only `marketing` is kept; analytics and personalisation concern nothing cart does.
 */
export interface MarketingConsent {
  customerId: string;
  channel: string;
  marketing: boolean;
  /** When identity recorded the change (epoch millis): the newest wins. */
  changedAt: number;
  /** The customer's aggregateVersion at the change: breaks a tie between two changes in one millisecond. */
  version: number;
}

/** A consent's key: one per customer and channel. */
export const consentId = (customerId: string, channel: string): string => `${customerId}:${channel}`;
