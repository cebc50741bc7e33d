/** The record as read from Kafka, in the form a tracking document keeps for re-delivery (value base64). */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { RawRecord } from '../../domain/propagation';

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

export function rawOf(m: KafkaMessage | undefined): RawRecord | null {
  if (!m?.value) return null;
  return { key: m.key ? m.key.toString() : null, value: m.value.toString('base64'), headers: headersOf(m.headers) };
}
