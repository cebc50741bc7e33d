/**
 * Per-partner topic families: a catalogue topic marked `perPartner` (`partner.<rest>`) stands for one
 * topic per partner, `partner.<code>.<rest>`, which only the principal `partner-<code>` may write (the
 * ACLs the topics step creates). The partner a record speaks for is therefore the topic it was
 * read from: a consumer derives it with `partnerOfTopic`, never from a field of the record.
 *
 * A partner's code is its channel code (lower-case letters, digits and hyphens, 2-32 characters,
 * starting with a letter), so a member name can be told from the family's `.retry`/`.dlq` siblings.
 */
import { catalogue } from './generated/catalogue';
import type { TopicSpec } from './topic-spec';

export const PARTNER_CODE = /^[a-z][a-z0-9-]{1,31}$/;

/** The Kafka principal (SASL user) of a partner. */
export const partnerPrincipal = (code: string): string => `partner-${code}`;

/** The catalogue's per-partner families. */
export function partnerFamilies(specs: readonly TopicSpec[] = catalogue): TopicSpec[] {
  return specs.filter((t) => t.perPartner);
}

/** The topic partner `code` writes for a family (`partner.order-status`, `acme` → `partner.acme.order-status`). */
export function partnerTopic(family: string, code: string): string {
  if (!PARTNER_CODE.test(code)) throw new Error(`${JSON.stringify(code)} is not a partner code (${PARTNER_CODE.source})`);
  if (!family.startsWith('partner.')) throw new Error(`${family} is not a per-partner topic family`);
  return `partner.${code}.${family.slice('partner.'.length)}`;
}

/** The family and partner of a member topic; null for any other topic (a family's own name, a `.retry`...). */
export function partnerOfTopic(topic: string, specs: readonly TopicSpec[] = catalogue): { family: string; partner: string } | null {
  const m = /^partner\.([a-z][a-z0-9-]{1,31})\.(.+)$/.exec(topic);
  if (!m) return null;
  const family = `partner.${m[2]}`;
  return specs.some((t) => t.perPartner && t.name === family) ? { family, partner: m[1] } : null;
}
