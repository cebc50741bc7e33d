export type { TopicSpec } from './topic-spec';
export { catalogue } from './generated/catalogue';
export * from './generated/events';
import { catalogue } from './generated/catalogue';
import type { TopicSpec } from './topic-spec';
import { partnerOfTopic } from './partners';

/**
 * The catalogue entry of a topic (a per-partner topic's is its family's, see partners.ts); throws on a
 * name the catalogue does not declare.
 */
export function topicSpec(name: string): TopicSpec {
  const family = partnerOfTopic(name)?.family;
  const spec = catalogue.find((t) => t.name === (family ?? name));
  if (!spec) throw new Error(`topic ${name} is not in schemas/topics.yaml`);
  return spec;
}

export const retryTopic = (topic: string): string => `${topic}.retry`;
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;
export * from './access';
export * from './partners';
