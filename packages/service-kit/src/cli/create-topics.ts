/** Creates every topic of schemas/topics.yaml that the broker lacks. Run by deploy/local/stack.sh. */
import { Kafka, logLevel } from 'kafkajs';
import { awaitGroupCoordinator, ensureTopics } from '../kafka/topics';

async function main(): Promise<void> {
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const kafka = new Kafka({ clientId: 'omnimall-topics', brokers, logLevel: logLevel.ERROR });
  const created = await ensureTopics(kafka);
  console.log(created.length ? `created ${created.length} topic(s): ${created.join(', ')}` : 'all catalogue topics exist');
  // On a new broker the first group request creates __consumer_offsets; until it is loaded, every
  // consumer that starts is refused. Services and tests then start on a broker that is ready.
  await awaitGroupCoordinator(kafka);
  console.log('group coordinator ready');
}

main().catch((err) => {
  console.error(`topic creation failed: ${String(err)}`);
  process.exit(1);
});
