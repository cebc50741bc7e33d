/**
 * The topics step, run by deploy/local/stack.sh, docker-compose and the chart before any service:
 * creates every topic of schemas/topics.yaml the broker lacks (with one member per partner of each
 * per-partner family), then the ACLs of kafka/acls.ts, so that on a broker enforcing ACLs each
 * service and partner can do exactly its part. Both steps are idempotent.
 *
 * Environment: KAFKA_BROKERS; KAFKA_SASL_* / KAFKA_SSL* (kafka/security.ts) for a principal allowed to
 * create topics and ACLs (locally: admin); KAFKA_PARTNERS, the partner codes (comma-separated);
 * KAFKA_ACLS=off to leave ACLs to someone else. A broker without an authorizer gets no ACLs (said so).
 */
import { Kafka, logLevel } from 'kafkajs';
import { catalogue } from '@omnimall/contracts';
import { awaitGroupCoordinator, ensureTopics } from '../kafka/topics';
import { ensureAcls, partnerTopicSpecs, plannedAcls } from '../kafka/acls';
import { kafkaConnectionOptions, securityFromEnv } from '../kafka/security';
import { partnersFromEnv } from '../kafka/local-credentials';

async function main(): Promise<void> {
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
  const partners = partnersFromEnv(process.env);
  const kafka = new Kafka({
    clientId: 'omnimall-topics',
    brokers,
    logLevel: logLevel.ERROR,
    ...kafkaConnectionOptions(securityFromEnv().kafka),
  });
  const created = await ensureTopics(kafka, [...catalogue, ...partnerTopicSpecs(partners)]);
  console.log(created.length ? `created ${created.length} topic(s): ${created.join(', ')}` : 'all catalogue topics exist');
  if (process.env.KAFKA_ACLS === 'off') console.log('KAFKA_ACLS=off: ACLs left alone');
  else {
    const rules = plannedAcls({ partners, registryTopic: process.env.SCHEMAS_TOPIC ?? '_schemas' });
    const applied = await ensureAcls(kafka, rules);
    console.log(
      applied
        ? `ACLs in place: ${rules.length} rule(s) for the services and partner(s) ${partners.join(', ') || '(none)'}`
        : 'the broker enforces no ACLs (no authorizer): none created',
    );
  }
  // On a new broker the first group request creates __consumer_offsets; until it is loaded, every
  // consumer that starts is refused. Services and tests then start on a broker that is ready.
  await awaitGroupCoordinator(kafka);
  console.log('group coordinator ready');
}

main().catch((err) => {
  console.error(`topic creation failed: ${String(err)}`);
  process.exit(1);
});
