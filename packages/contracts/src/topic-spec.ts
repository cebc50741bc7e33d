/** One entry of the topic catalogue (schemas/topics.yaml), as the generator emits it. */
export interface TopicSpec {
  name: string;
  description: string;
  /** Envelope field whose value is the Kafka key (normally the aggregate id). */
  key: string;
  /** Full Avro name of the value record. */
  value: string;
  valueType: string;
  schemaFile: string;
  partitions: number;
  cleanup: 'delete' | 'compact';
  producer: string;
  consumers: string[];
  priority: 'high' | 'normal';
  slaSeconds: number;
  /**
   * A family of per-partner topics: partner `<code>` writes only `partner.<code>.<rest>` (for the name
   * `partner.<rest>`), so who wrote a record is known from its topic (see partners.ts).
   */
  perPartner?: boolean;
  /**
   * State every consumer instance reads whole into memory at start and follows (signing keys,
   * revocations, channel credentials): a per-process reader, no acknowledgements, not tracked by the
   * sync-monitor.
   */
  table?: boolean;
  /** Retention of a `delete` topic in hours (the broker's default when absent). */
  retentionHours?: number;
  /** The value schema with every named type expanded: what is registered as `<name>-value`. */
  avro: unknown;
}
