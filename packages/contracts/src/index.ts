export type { TopicSpec } from './topic-spec';
export { catalogue } from './generated/catalogue';
export * from './generated/events';
import { catalogue } from './generated/catalogue';
import type { TopicSpec } from './topic-spec';

/** The catalogue entry of a topic; throws on a name the catalogue does not declare. */
export function topicSpec(name: string): TopicSpec {
  const spec = catalogue.find((t) => t.name === name);
  if (!spec) throw new Error(`topic ${name} is not in schemas/topics.yaml`);
  return spec;
}

export const retryTopic = (topic: string): string => `${topic}.retry`;
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;
export * from './access';
