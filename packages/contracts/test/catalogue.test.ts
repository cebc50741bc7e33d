import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as avro from 'avsc';
import { catalogue, deadLetterTopic, retryTopic, topicSpec } from '../src';

describe('the topic catalogue', () => {
  it('is in step with schemas/ (the generated files are not stale)', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'scripts', 'generate.ts'), '--check'], {
      encoding: 'utf8',
    });
    expect(out).toBe('');
  });

  it('gives every topic a parseable, self-contained value schema that starts with the envelope', () => {
    for (const t of catalogue) {
      const type = avro.Type.forSchema(t.avro as avro.Schema) as avro.types.RecordType;
      expect(type.fields[0].name).toBe('envelope');
      expect((type.fields[0].type as avro.types.RecordType).fields.map((f) => f.name)).toEqual([
        'eventId',
        'type',
        'occurredAt',
        'producer',
        'sourceChannel',
        'correlationId',
        'aggregateId',
        'aggregateVersion',
      ]);
    }
  });

  it('keeps logical types in the registered schema (occurredAt is timestamp-millis)', () => {
    const envelope = (topicSpec('sync.applied').avro as { fields: { type: { fields: { name: string; type: unknown }[] } }[] }).fields[0]
      .type;
    expect(envelope.fields.find((f) => f.name === 'occurredAt')!.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });

  it('declares a 2 s SLA for every high-priority topic and names its producer and consumers', () => {
    for (const t of catalogue) {
      if (t.priority === 'high') expect(t.slaSeconds).toBeLessThanOrEqual(2);
      expect(t.producer).toBeTruthy();
    }
    expect(topicSpec('sync.applied').consumers).toContain('sync-monitor');
  });

  it('refuses a topic it does not declare and names retry and dead-letter siblings', () => {
    expect(() => topicSpec('no.such-topic')).toThrow(/not in schemas\/topics.yaml/);
    expect(retryTopic('cart.cart-changed')).toBe('cart.cart-changed.retry');
    expect(deadLetterTopic('cart.cart-changed')).toBe('cart.cart-changed.dlq');
  });
});
