/**
 * Generates, from schemas/topics.yaml and schemas/avro/**.avsc:
 *   src/generated/catalogue.ts  the runtime topic catalogue with fully expanded Avro schemas
 *   src/generated/events.ts     TypeScript types of every record, and the topic → value type map
 *   docs/asyncapi.yaml          an AsyncAPI 2.6 document of all topics
 * With --check it writes nothing and exits 1 when any of them is stale (the build runs it).
 */
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import * as avro from 'avsc';
import YAML from 'yaml';

const root = join(__dirname, '..', '..', '..');
const schemaDir = join(root, 'schemas', 'avro');
const check = process.argv.includes('--check');

type AvroSchema = string | AvroSchema[] | { type: string; name?: string; namespace?: string; [k: string]: unknown };

interface TopicEntry {
  name: string;
  description: string;
  key: string;
  value: string;
  partitions?: number;
  cleanup?: 'delete' | 'compact';
  producer: string;
  consumers?: string[];
  priority?: 'high' | 'normal';
  slaSeconds?: number;
  /** One topic per partner (`partner.<code>.<rest>`), each written only by that partner's principal. */
  perPartner?: boolean;
  /** State every service instance reads whole into memory at start (no acks, not tracked by the monitor). */
  table?: boolean;
  /** Retention of a `delete` topic, in hours (the broker default when absent). */
  retentionHours?: number;
}

function listAvsc(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? listAvsc(p) : f.endsWith('.avsc') ? [p] : [];
    });
}

function fullName(schema: { name?: string; namespace?: string }, ns?: string): string {
  const name = schema.name as string;
  if (name.includes('.')) return name;
  const space = schema.namespace ?? ns;
  return space ? `${space}.${name}` : name;
}

// Load every .avsc, resolving cross-file references in dependency order (a file may reference a
// named type declared in another). Each file is retried until its references are known.
function loadSchemas(): Map<string, { file: string; raw: AvroSchema; type: avro.Type }> {
  const pending = listAvsc(schemaDir).map((file) => ({ file, raw: JSON.parse(readFileSync(file, 'utf8')) as AvroSchema }));
  const registry: Record<string, avro.Type> = {};
  const loaded = new Map<string, { file: string; raw: AvroSchema; type: avro.Type }>();
  while (pending.length) {
    const before = pending.length;
    for (let i = pending.length - 1; i >= 0; i--) {
      const { file, raw } = pending[i];
      try {
        // Parse into a scratch copy: a failed attempt must not leave half-registered names behind.
        const scratch = { ...registry };
        const type = avro.Type.forSchema(raw as avro.Schema, { registry: scratch });
        Object.assign(registry, scratch);
        loaded.set(fullName(raw as { name: string; namespace?: string }), { file, raw, type });
        pending.splice(i, 1);
      } catch (err) {
        if (!/undefined type name/.test(String(err))) throw new Error(`${relative(root, file)}: ${String(err)}`);
      }
    }
    if (pending.length === before) {
      throw new Error(`unresolvable type references in: ${pending.map((p) => relative(root, p.file)).join(', ')}`);
    }
  }
  return loaded;
}

// Every named type a schema declares, nested ones included (a record declared inside another file's
// field, such as CampaignUse in UsageCommand, may be referenced by name from a third file).
function namedTypes(schema: AvroSchema, ns: string | undefined, out: Map<string, AvroSchema>): void {
  if (typeof schema === 'string') return;
  if (Array.isArray(schema)) return schema.forEach((s) => namedTypes(s, ns, out));
  let space = ns;
  if (schema.type === 'record' || schema.type === 'enum' || schema.type === 'fixed' || schema.type === 'error') {
    const full = fullName(schema, ns);
    // its namespace written out, since a reference may be expanded in another namespace
    if (!out.has(full)) out.set(full, { ...schema, namespace: full.split('.').slice(0, -1).join('.') });
    space = full.split('.').slice(0, -1).join('.');
  }
  for (const f of (schema.fields as { type: AvroSchema }[] | undefined) ?? []) namedTypes(f.type, space, out);
  for (const key of ['items', 'values'] as const) if (schema[key]) namedTypes(schema[key] as AvroSchema, space, out);
  if (typeof schema.type === 'object') namedTypes(schema.type as AvroSchema, space, out);
}

// The registered schema must be self-contained: inline each named type at its first use, keeping
// every attribute as written (docs, logical types), which avsc's own schema() export would drop.
function expand(schema: AvroSchema, raws: Map<string, AvroSchema>, ns: string | undefined, seen: Set<string>): AvroSchema {
  if (typeof schema === 'string') {
    const full = schema.includes('.') ? schema : ns && raws.has(`${ns}.${schema}`) ? `${ns}.${schema}` : schema;
    const raw = raws.get(full);
    if (!raw || seen.has(full)) return schema;
    return expand(raw, raws, ns, seen);
  }
  if (Array.isArray(schema)) return schema.map((s) => expand(s, raws, ns, seen));
  const out: Record<string, unknown> = { ...schema };
  let space = ns;
  if (schema.type === 'record' || schema.type === 'enum' || schema.type === 'fixed' || schema.type === 'error') {
    const full = fullName(schema, ns);
    seen.add(full);
    space = full.split('.').slice(0, -1).join('.');
  }
  if (Array.isArray(schema.fields)) {
    out.fields = (schema.fields as { type: AvroSchema }[]).map((f) => ({ ...f, type: expand(f.type, raws, space, seen) }));
  }
  if (schema.items) out.items = expand(schema.items as AvroSchema, raws, space, seen);
  if (schema.values) out.values = expand(schema.values as AvroSchema, raws, space, seen);
  if (typeof schema.type === 'object') out.type = expand(schema.type as AvroSchema, raws, space, seen);
  return out as AvroSchema;
}

// ---- TypeScript types --------------------------------------------------------------------------

function tsName(full: string): string {
  return full.split('.').pop() as string;
}

function tsType(schema: AvroSchema, ns: string | undefined, out: string[], seen: Set<string>): string {
  if (typeof schema === 'string') {
    switch (schema) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'bytes':
        return 'Buffer';
      case 'string':
        return 'string';
      default:
        return tsName(schema);
    }
  }
  if (Array.isArray(schema)) return schema.map((s) => tsType(s, ns, out, seen)).join(' | ');
  switch (schema.type) {
    case 'record':
    case 'error': {
      const name = fullName(schema, ns);
      if (!seen.has(name)) {
        seen.add(name);
        const space = name.split('.').slice(0, -1).join('.');
        const fields = (schema.fields as { name: string; type: AvroSchema; doc?: string }[]).map((f) => {
          const doc = f.doc ? `  /** ${f.doc} */\n` : '';
          return `${doc}  ${f.name}: ${tsType(f.type, space, out, seen)};`;
        });
        const doc = schema.doc ? `/** ${String(schema.doc)} */\n` : '';
        out.push(`${doc}export interface ${tsName(name)} {\n${fields.join('\n')}\n}`);
      }
      return tsName(name);
    }
    case 'enum': {
      const name = fullName(schema, ns);
      if (!seen.has(name)) {
        seen.add(name);
        out.push(`export type ${tsName(name)} = ${(schema.symbols as string[]).map((s) => `'${s}'`).join(' | ')};`);
      }
      return tsName(name);
    }
    case 'fixed':
      return 'Buffer';
    case 'array':
      return `Array<${tsType(schema.items as AvroSchema, ns, out, seen)}>`;
    case 'map':
      return `Record<string, ${tsType(schema.values as AvroSchema, ns, out, seen)}>`;
    default:
      return tsType(schema.type, ns, out, seen);
  }
}

// ---- generation --------------------------------------------------------------------------------

function generate(): Map<string, string> {
  const schemas = loadSchemas();
  const doc = YAML.parse(readFileSync(join(root, 'schemas', 'topics.yaml'), 'utf8')) as {
    defaults: Partial<TopicEntry>;
    topics: TopicEntry[];
  };
  const names = new Set<string>();
  const topics = doc.topics.map((t) => {
    const entry = { ...doc.defaults, ...t } as Required<TopicEntry>;
    entry.consumers = entry.consumers ?? [];
    entry.slaSeconds = entry.slaSeconds ?? (entry.priority === 'high' ? 2 : 30);
    for (const field of ['name', 'description', 'key', 'value', 'producer'] as const) {
      if (!entry[field]) throw new Error(`topics.yaml: topic ${t.name ?? '?'} lacks ${field}`);
    }
    if (names.has(entry.name)) throw new Error(`topics.yaml: duplicate topic ${entry.name}`);
    if (entry.perPartner && !/^partner\.[a-z0-9-]+$/.test(entry.name))
      throw new Error(`topics.yaml: perPartner topic ${entry.name} must be named partner.<name> (members are partner.<code>.<name>)`);
    names.add(entry.name);
    const schema = schemas.get(entry.value);
    if (!schema) throw new Error(`topics.yaml: ${entry.name} names unknown record ${entry.value}`);
    const fields = (schema.raw as unknown as { fields: { name: string }[] }).fields;
    if (fields[0]?.name !== 'envelope') throw new Error(`${entry.value}: first field must be the envelope`);
    return { entry, schema };
  });

  const raws = new Map<string, AvroSchema>();
  for (const s of schemas.values()) namedTypes(s.raw, undefined, raws);
  const registered = (value: string): AvroSchema => expand(value, raws, undefined, new Set());
  const files = new Map<string, string>();
  const banner = '// Generated by packages/contracts/scripts/generate.ts from schemas/. Do not edit.\n';

  // catalogue.ts
  const catalogue = topics.map(({ entry, schema }) => ({
    ...entry,
    valueType: tsName(entry.value),
    schemaFile: relative(root, schema.file),
    avro: registered(entry.value),
  }));
  files.set(
    join(__dirname, '..', 'src', 'generated', 'catalogue.ts'),
    `${banner}import type { TopicSpec } from '../topic-spec';\n\nexport const catalogue: readonly TopicSpec[] = ${JSON.stringify(catalogue, null, 2)};\n`,
  );

  // events.ts
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [, s] of [...schemas.entries()].sort(([a], [b]) => a.localeCompare(b))) tsType(s.raw, undefined, out, seen);
  const map = topics.map(({ entry }) => `  '${entry.name}': ${tsName(entry.value)};`).join('\n');
  files.set(
    join(__dirname, '..', 'src', 'generated', 'events.ts'),
    `${banner}/* eslint-disable */\n\n${out.join('\n\n')}\n\n/** The value type carried by each topic. */\nexport interface TopicValues {\n${map}\n}\n\nexport type TopicName = keyof TopicValues;\n`,
  );

  // docs/asyncapi.yaml
  const channels: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const { entry } of topics) {
    const msg = tsName(entry.value);
    channels[entry.name] = {
      description: entry.description,
      subscribe: { summary: `Produced by ${entry.producer}`, message: { $ref: `#/components/messages/${msg}` } },
      bindings: { kafka: { partitions: entry.partitions, replicas: 1, topicConfiguration: { 'cleanup.policy': [entry.cleanup] } } },
      'x-consumers': entry.consumers,
      'x-priority': entry.priority,
      'x-sla-seconds': entry.slaSeconds,
      'x-key': entry.key,
      ...(entry.table ? { 'x-table': 'read whole into memory by every consumer instance at start; no acknowledgements' } : {}),
      ...(entry.retentionHours ? { 'x-retention-hours': entry.retentionHours } : {}),
      ...(entry.perPartner
        ? {
            'x-per-partner': `one topic per partner: ${entry.name.replace(/^partner\./, 'partner.<partner code>.')}, written only by principal partner-<partner code>`,
          }
        : {}),
    };
    messages[msg] = {
      name: msg,
      schemaFormat: 'application/vnd.apache.avro+json;version=1.9.0',
      contentType: 'application/octet-stream',
      description: 'Confluent wire format: magic byte 0, 4-byte schema id, Avro binary.',
      bindings: { kafka: { key: { type: 'string', description: entry.key } } },
      payload: registered(entry.value),
    };
  }
  const asyncapi = {
    asyncapi: '2.6.0',
    info: { title: 'omnimall events', version: '1.0.0', description: 'Every Kafka topic of omnimall, generated from schemas/topics.yaml.' },
    servers: { local: { url: '127.0.0.1:9092', protocol: 'kafka' } },
    channels,
    components: { messages },
  };
  files.set(
    join(root, 'docs', 'asyncapi.yaml'),
    `# Generated from schemas/ by packages/contracts/scripts/generate.ts. Do not edit.\n${YAML.stringify(asyncapi)}`,
  );
  return files;
}

const files = generate();
let stale = 0;
for (const [path, content] of files) {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (current === content) continue;
  if (check) {
    stale++;
    console.error(`stale: ${relative(root, path)} (run: npm run generate -w @omnimall/contracts)`);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    console.log(`wrote ${relative(root, path)}`);
  }
}
if (stale) process.exit(1);
