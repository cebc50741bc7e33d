import { partnerOfTopic, type TopicName, type TopicSpec } from '@omnimall/contracts';
import type { Expectation } from './propagation';

/** Topics whose envelopes the monitor tracks: every catalogue topic with consumers, except the acks themselves and probes. */
// sync.notice is the monitor's own fallback channel: escalating a late notice would send more notices.
// identity.password-reset carries a secret token: the monitor is granted no read on it (only its consumer is).
// platform.job-progress is telemetry for the monitor itself (its job board): a lost intermediate event is
// harmless by design, nobody acknowledges it, and the monitor tracking its own input would only track itself.
export const NOT_TRACKED = new Set([
  'sync.applied',
  'sync.applied.bulk',
  'platform.probe',
  'sync.notice',
  'identity.password-reset',
  'platform.job-progress',
]);

/**
 * The audit service reads every topic to record evidence and acknowledges none (nothing may wait for
 * it): it is never an expected consumer, and a topic only it reads is not tracked.
 */
const AUDITOR = 'audit';
const expectedConsumers = (t: TopicSpec): string[] => t.consumers.filter((c) => c !== AUDITOR);

export function trackedTopics(catalogue: readonly TopicSpec[]): TopicName[] {
  // The catalogue's names are the topic names (TopicName is generated from the same file).
  // A table topic (keys, revocations, credentials) is read whole by every instance at start and never acknowledged.
  return catalogue.filter((t) => expectedConsumers(t).length > 0 && !t.table && !NOT_TRACKED.has(t.name)).map((t) => t.name as TopicName);
}

/**
 * The topics the envelope subscription reads: `topics` with each per-partner family (which nobody
 * writes) replaced by its partners' own topics, `partner.<code>.<rest>`, as found on the broker
 * (`present`); a family without partner topics is dropped.
 */
export function envelopeTopics(
  topics: readonly string[],
  catalogue: readonly TopicSpec[],
  present: (family: string) => readonly string[],
): string[] {
  const families = new Set(catalogue.filter((t) => t.perPartner).map((t) => t.name));
  return topics.flatMap((t) => (families.has(t) ? [...present(t)] : [t]));
}

export type Expectations = (topic: string) => Expectation;

/**
 * Expected consumer services and SLA per topic, from the catalogue; a partner's own topic expects what
 * its family does; an unknown topic expects nobody.
 */
export function catalogueExpectations(catalogue: readonly TopicSpec[]): Expectations {
  const byName = new Map(catalogue.map((t) => [t.name, { consumers: expectedConsumers(t), slaMs: t.slaSeconds * 1000 }]));
  return (topic) => byName.get(partnerOfTopic(topic, catalogue)?.family ?? topic) ?? { consumers: [], slaMs: 10_000 };
}

/** The topic's priority (a partner's own topic has its family's; unknown: normal). */
export function priorityOf(topic: string, catalogue: readonly TopicSpec[]): 'high' | 'normal' {
  const name = partnerOfTopic(topic, catalogue)?.family ?? topic;
  return catalogue.find((t) => t.name === name)?.priority === 'high' ? 'high' : 'normal';
}

/** The shortest SLA among the topics (ms): tracking behind by more cannot tell such an event late in time. */
export function shortestSlaMs(topics: readonly string[], expectations: Expectations): number {
  return Math.min(...topics.map((t) => expectations(t).slaMs));
}
