/**
 * Who may do what on Kafka, derived from the topic catalogue (schemas/topics.yaml) and the partner
 * list, and created by the topics step (cli/create-topics.ts) on a broker that enforces ACLs.
 *
 * Guarantees (with `allow.everyone.if.no.acl.found=false`, anything not granted here is refused):
 *  - a service (principal = its name) writes the topics it produces, `sync.applied` (and its bulk lane
 *    `sync.applied.bulk`), `platform.exception` (evidence of its refusals and collisions), `platform.job-progress`
 *    (the progress of its long-running jobs), and the `.retry`
 *    and `.dlq` siblings of the topics it consumes; it reads the topics it consumes and their `.retry`
 *    (a `table` topic has no siblings: the trust reader only reads it);
 *    its consumer groups are the ones named `<service>.`; it cannot write another service's topic;
 *  - a partner (principal `partner-<code>`) writes only its own member of each per-partner family
 *    (`partner.<code>.<rest>`) and can do nothing else, so a record on that topic is the partner's;
 *  - the monitor (`sync-monitor`) may describe every topic and group, to read consumer lag;
 *  - the auditor (`audit`) reads and describes every topic (business topics, their `.retry` and `.dlq`,
 *    `sync.*`, partners' topics), to record evidence of each record and reconcile against Kafka's offsets;
 *  - the local schema registry writes and reads only its `_schemas` topic.
 * The plan is pure and deterministic; creating an ACL that exists is a no-op for Kafka, so the step
 * can run on every start.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry, type Kafka } from 'kafkajs';
import {
  catalogue,
  deadLetterTopic,
  partnerFamilies,
  partnerPrincipal,
  partnerTopic,
  retryTopic,
  type TopicSpec,
} from '@omnimall/contracts';

export type AclOperation = 'READ' | 'WRITE' | 'CREATE' | 'DELETE' | 'DESCRIBE' | 'DESCRIBE_CONFIGS' | 'IDEMPOTENT_WRITE';

export interface AclRule {
  principal: string;
  resource: 'TOPIC' | 'GROUP' | 'CLUSTER';
  /** A name, or a prefix when `prefixed`; `*` on a LITERAL rule is every name. */
  name: string;
  prefixed?: boolean;
  operation: AclOperation;
}

/** Producers and consumers of the catalogue that are not principals of their own. */
const NOT_SERVICES = new Set(['every service', 'partner systems', 'bench']);
/** The service that reads consumer lag of every group (and so describes every topic and group). */
export const MONITOR = 'sync-monitor';
/** The service that reads every record of every topic for the evidence log (@omnimall/contracts AUDITOR). */
export const AUDITOR = 'audit';
export const REGISTRY_PRINCIPAL = 'schema-registry';

/** Every service the catalogue names as a producer or consumer (planned ones included: an ACL without credentials grants nobody). */
export function catalogueServices(specs: readonly TopicSpec[] = catalogue): string[] {
  const names = new Set(specs.flatMap((t) => [t.producer, ...t.consumers]).filter((n) => !NOT_SERVICES.has(n)));
  return [...names].sort();
}

/** The concrete topics a topic name stands for: itself, and one member per partner for a family. */
function concreteTopics(spec: TopicSpec, partners: readonly string[]): string[] {
  return spec.perPartner ? [spec.name, ...partners.map((p) => partnerTopic(spec.name, p))] : [spec.name];
}

export interface AclPlanOptions {
  partners: readonly string[];
  specs?: readonly TopicSpec[];
  services?: readonly string[];
  /** The local schema registry's topic (`_schemas`); absent: no registry rules. */
  registryTopic?: string;
}

export function plannedAcls(opts: AclPlanOptions): AclRule[] {
  const specs = opts.specs ?? catalogue;
  const services = opts.services ?? catalogueServices(specs);
  const rules: AclRule[] = [];
  const topic = (principal: string, name: string, ...ops: AclOperation[]): void => {
    for (const operation of ops) rules.push({ principal: `User:${principal}`, resource: 'TOPIC', name, operation });
  };
  for (const service of services) {
    // DESCRIBE_CONFIGS: a producer reads its topics' max.message.bytes at start (publisher readTopicLimits)
    topic(service, 'sync.applied', 'WRITE', 'DESCRIBE_CONFIGS');
    topic(service, 'sync.applied.bulk', 'WRITE', 'DESCRIBE_CONFIGS');
    topic(service, 'platform.exception', 'WRITE', 'DESCRIBE_CONFIGS');
    topic(service, 'platform.job-progress', 'WRITE', 'DESCRIBE_CONFIGS');
    for (const spec of specs) {
      if (spec.producer === service && !spec.perPartner) topic(service, spec.name, 'WRITE', 'DESCRIBE_CONFIGS');
      if (!spec.consumers.includes(service)) continue;
      for (const name of concreteTopics(spec, opts.partners)) {
        topic(service, name, 'READ');
        if (spec.table) continue;
        topic(service, retryTopic(name), 'READ', 'WRITE');
        topic(service, deadLetterTopic(name), 'WRITE');
      }
    }
    for (const operation of ['READ', 'DESCRIBE', 'DELETE'] as const)
      rules.push({ principal: `User:${service}`, resource: 'GROUP', name: `${service}.`, prefixed: true, operation });
    rules.push({ principal: `User:${service}`, resource: 'CLUSTER', name: 'kafka-cluster', operation: 'IDEMPOTENT_WRITE' });
  }
  if (services.includes(MONITOR)) {
    topic(MONITOR, '*', 'DESCRIBE');
    rules.push({ principal: `User:${MONITOR}`, resource: 'GROUP', name: '*', operation: 'DESCRIBE' });
  }
  if (services.includes(AUDITOR)) {
    topic(AUDITOR, '*', 'READ', 'DESCRIBE');
  }
  for (const partner of opts.partners) {
    for (const family of partnerFamilies(specs)) topic(partnerPrincipal(partner), partnerTopic(family.name, partner), 'WRITE');
    rules.push({
      principal: `User:${partnerPrincipal(partner)}`,
      resource: 'CLUSTER',
      name: 'kafka-cluster',
      operation: 'IDEMPOTENT_WRITE',
    });
  }
  if (opts.registryTopic) {
    topic(REGISTRY_PRINCIPAL, opts.registryTopic, 'CREATE', 'READ', 'WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS');
    for (const operation of ['READ', 'DELETE'] as const)
      rules.push({ principal: `User:${REGISTRY_PRINCIPAL}`, resource: 'GROUP', name: 'local-schema-registry-', prefixed: true, operation });
    rules.push({ principal: `User:${REGISTRY_PRINCIPAL}`, resource: 'CLUSTER', name: 'kafka-cluster', operation: 'IDEMPOTENT_WRITE' });
  }
  return rules;
}

/** The topics of the partner families, per partner (for the topics step to create). */
export function partnerTopicSpecs(partners: readonly string[], specs: readonly TopicSpec[] = catalogue): TopicSpec[] {
  return partnerFamilies(specs).flatMap((f) => partners.map((p) => ({ ...f, name: partnerTopic(f.name, p), perPartner: false })));
}

function entryOf(rule: AclRule): AclEntry {
  return {
    principal: rule.principal,
    host: '*',
    resourceType: AclResourceTypes[rule.resource],
    resourceName: rule.name,
    resourcePatternType: rule.prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    operation: AclOperationTypes[rule.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/**
 * Creates the rules on the broker. Returns false, creating nothing, when the broker has no
 * authorizer (SECURITY_DISABLED: a plaintext development broker); any other refusal throws.
 */
export async function ensureAcls(kafka: Kafka, rules: readonly AclRule[]): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl: rules.map(entryOf) });
    return true;
  } catch (err) {
    if ((err as { type?: string }).type === 'SECURITY_DISABLED') return false;
    throw err;
  } finally {
    await admin.disconnect();
  }
}
