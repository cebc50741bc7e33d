/**
 * Kafka TLS/SASL and registry credentials from the environment (kafka/security.ts through
 * loadPlatformConfig), and the ACL plan of the topics step (kafka/acls.ts): pure rules, unit tests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogue, partnerTopic } from '@omnimall/contracts';
import { loadPlatformConfig } from '../src/service/config';
import { basicAuthHeader, kafkaConnectionOptions, securityFromEnv } from '../src/kafka/security';
import { catalogueServices, partnerTopicSpecs, plannedAcls, type AclRule } from '../src/kafka/acls';
import { localKafkaEnv, partnersFromEnv } from '../src/kafka/local-credentials';

const load = (env: Record<string, string>) => loadPlatformConfig('identity', 4001, env);

describe('Kafka security from the environment', () => {
  it('has no TLS and no SASL when nothing is set', () => {
    const c = load({});
    expect(c.kafkaSecurity).toEqual({});
    expect(c.schemaRegistryAuth).toBeUndefined();
    expect(kafkaConnectionOptions(c.kafkaSecurity)).toEqual({});
  });

  it.each(['scram-sha-512', 'SCRAM-SHA-256', 'plain'])('takes SASL %s with its username and password', (mechanism) => {
    const c = load({ KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: 'identity', KAFKA_SASL_PASSWORD: 's3cret' });
    expect(kafkaConnectionOptions(c.kafkaSecurity)).toEqual({
      sasl: { mechanism: mechanism.toLowerCase(), username: 'identity', password: 's3cret' },
    });
  });

  it('refuses an unknown mechanism, naming the variable and the choices', () => {
    expect(() => load({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(
      /invalid environment for identity: KAFKA_SASL_MECHANISM: expected one of scram-sha-512, scram-sha-256, plain/,
    );
  });

  it('refuses a mechanism without credentials, and credentials without a mechanism, naming every missing variable', () => {
    expect(() => load({ KAFKA_SASL_MECHANISM: 'scram-sha-512' })).toThrow(
      /KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=scram-sha-512; KAFKA_SASL_PASSWORD: required/,
    );
    expect(() => load({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(
      /KAFKA_SASL_MECHANISM: required with KAFKA_SASL_USERNAME/,
    );
  });

  it('never puts the password into an error message', () => {
    let message = '';
    try {
      load({ KAFKA_SASL_MECHANISM: 'nope', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'very-secret-pw' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/KAFKA_SASL_MECHANISM/);
    expect(message).not.toContain('very-secret-pw');
  });

  it('turns TLS on with KAFKA_SSL=true (system CAs) and reads the CA, certificate and key files', () => {
    expect(kafkaConnectionOptions(load({ KAFKA_SSL: 'true' }).kafkaSecurity)).toEqual({ ssl: true });
    const dir = mkdtempSync(join(tmpdir(), 'kit-tls-'));
    for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, `${f}.pem`), `-----${f}-----`);
    const c = load({
      KAFKA_SSL_CA_FILE: join(dir, 'ca.pem'),
      KAFKA_SSL_CERT_FILE: join(dir, 'cert.pem'),
      KAFKA_SSL_KEY_FILE: join(dir, 'key.pem'),
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
    });
    expect(kafkaConnectionOptions(c.kafkaSecurity)).toEqual({
      ssl: { ca: '-----ca-----', cert: '-----cert-----', key: '-----key-----' },
      sasl: { mechanism: 'plain', username: 'u', password: 'p' },
    });
  });

  it('refuses unreadable TLS files, a certificate without its key, TLS files with KAFKA_SSL=false, and a bad boolean', () => {
    expect(() => load({ KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' })).toThrow(
      /KAFKA_SSL_CA_FILE: cannot read \/nonexistent\/ca.pem \(ENOENT\)/,
    );
    expect(() => load({ KAFKA_SSL_CERT_FILE: '/x/cert.pem' })).toThrow(/KAFKA_SSL_KEY_FILE: a client certificate needs both/);
    expect(() => load({ KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: '/x/ca.pem' })).toThrow(
      /KAFKA_SSL: is false, but KAFKA_SSL_CA_FILE asks for TLS/,
    );
    expect(() => load({ KAFKA_SSL: 'yes' })).toThrow(/KAFKA_SSL: expected true or false/);
  });

  it('takes registry basic auth only as a pair', () => {
    const c = load({ SCHEMA_REGISTRY_USER: 'svc', SCHEMA_REGISTRY_PASSWORD: 'pw' });
    expect(c.schemaRegistryAuth).toEqual({ username: 'svc', password: 'pw' });
    expect(basicAuthHeader(c.schemaRegistryAuth!)).toBe(`Basic ${Buffer.from('svc:pw').toString('base64')}`);
    expect(() => load({ SCHEMA_REGISTRY_USER: 'svc' })).toThrow(/SCHEMA_REGISTRY_PASSWORD: basic auth needs both/);
  });

  it('reads the same variables for tools that are not services', () => {
    expect(
      securityFromEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD: 'x' }).kafka.sasl,
    ).toEqual({
      mechanism: 'scram-sha-512',
      username: 'admin',
      password: 'x',
    });
    expect(() => securityFromEnv({ KAFKA_SASL_PASSWORD: 'x' })).toThrow(/invalid environment: KAFKA_SASL_MECHANISM/);
  });
});

describe('local credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-secrets-'));
  const file = join(dir, 'secrets.json');
  writeFileSync(file, JSON.stringify({ mechanism: 'scram-sha-512', users: { admin: 'a-pw', cart: 'c-pw', 'partner-acme': 'p-pw' } }));
  const env = { OMNIMALL_KAFKA_SECRETS: file };

  it("gives a service its own principal, a name without one the admin's only when asked, and yields to explicit settings", () => {
    expect(localKafkaEnv('cart', env)).toEqual({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'cart',
      KAFKA_SASL_PASSWORD: 'c-pw',
    });
    expect(localKafkaEnv('cart-sim', env, { fallbackToAdmin: true }).KAFKA_SASL_USERNAME).toBe('admin');
    expect(() => localKafkaEnv('cart-sim', env)).toThrow(/no local Kafka credentials for cart-sim/);
    expect(localKafkaEnv('cart', { ...env, KAFKA_SASL_MECHANISM: 'plain' })).toEqual({});
    expect(localKafkaEnv('cart', { OMNIMALL_KAFKA_SECRETS: join(dir, 'absent.json') })).toEqual({});
  });

  it('lists the partners from KAFKA_PARTNERS, else from the local principals, and refuses a bad code', () => {
    expect(partnersFromEnv(env)).toEqual(['acme']);
    expect(partnersFromEnv({ ...env, KAFKA_PARTNERS: 'globex, acme' })).toEqual(['acme', 'globex']);
    expect(() => partnersFromEnv({ KAFKA_PARTNERS: 'Bad.Code' })).toThrow(/Bad.Code not a partner code/);
  });
});

describe('the ACL plan', () => {
  const rules = plannedAcls({ partners: ['acme', 'globex'], registryTopic: '_schemas' });
  const allowed = (principal: string, operation: AclRule['operation'], topic: string): boolean =>
    rules.some(
      (r) =>
        r.principal === `User:${principal}` &&
        r.resource === 'TOPIC' &&
        r.operation === operation &&
        (r.prefixed ? topic.startsWith(r.name) : r.name === topic || r.name === '*'),
    );

  it('names every service of the catalogue, and no pseudo-producer', () => {
    const services = catalogueServices();
    expect(services).toEqual(expect.arrayContaining(['identity', 'channels', 'catalog-sync', 'cart', 'sync-monitor']));
    expect(services).not.toEqual(expect.arrayContaining(['partner systems']));
    expect(services).not.toContain('bench');
  });

  it('lets each service write exactly what it produces, sync.applied, and the retry/dlq of what it consumes', () => {
    expect(allowed('identity', 'WRITE', 'identity.customer-status')).toBe(true);
    expect(allowed('channels', 'WRITE', 'identity.customer-status')).toBe(false);
    expect(allowed('cart', 'WRITE', 'identity.customer-status')).toBe(false);
    expect(allowed('cart', 'READ', 'identity.customer-status')).toBe(true);
    expect(allowed('cart', 'WRITE', 'identity.customer-status.retry')).toBe(true);
    expect(allowed('cart', 'WRITE', 'identity.customer-status.dlq')).toBe(true);
    expect(allowed('catalog-sync', 'READ', 'identity.customer-status')).toBe(false);
    for (const s of catalogueServices()) expect(allowed(s, 'WRITE', 'sync.applied')).toBe(true);
    for (const spec of catalogue.filter((t) => t.producer === 'identity')) {
      const others = catalogueServices().filter((s) => s !== 'identity');
      for (const s of others) expect([s, spec.name, allowed(s, 'WRITE', spec.name)]).toEqual([s, spec.name, false]);
    }
  });

  it('lets a partner write only its own partner topics, and the consumers read every partner topic', () => {
    const acme = rules.filter((r) => r.principal === 'User:partner-acme');
    expect(acme.filter((r) => r.resource === 'TOPIC')).toEqual([
      { principal: 'User:partner-acme', resource: 'TOPIC', name: partnerTopic('partner.order-status', 'acme'), operation: 'WRITE' },
      { principal: 'User:partner-acme', resource: 'TOPIC', name: partnerTopic('partner.stock-adjustment', 'acme'), operation: 'WRITE' },
    ]);
    expect(allowed('partner-acme', 'WRITE', 'partner.globex.stock-adjustment')).toBe(false);
    expect(allowed('inventory', 'READ', 'partner.globex.stock-adjustment')).toBe(true);
    expect(allowed('inventory', 'WRITE', 'partner.globex.stock-adjustment.dlq')).toBe(true);
    expect(allowed('inventory', 'READ', 'partner.globex.order-status')).toBe(false);
    expect(allowed('partner-acme', 'WRITE', 'partner.globex.order-status')).toBe(false);
    expect(allowed('partner-acme', 'WRITE', 'partner.order-status')).toBe(false);
    expect(allowed('channels', 'READ', 'partner.globex.order-status')).toBe(true);
    expect(allowed('channels', 'WRITE', 'partner.globex.order-status.dlq')).toBe(true);
    expect(allowed('channels', 'WRITE', 'partner.globex.order-status')).toBe(false);
    expect(partnerTopicSpecs(['acme']).map((t) => t.name)).toEqual(['partner.acme.order-status', 'partner.acme.stock-adjustment']);
  });

  it("keeps each service's consumer groups under its own name, and lets only the monitor describe all groups and only the auditor read all topics", () => {
    const groups = rules.filter((r) => r.resource === 'GROUP' && r.principal === 'User:cart');
    expect(new Set(groups.map((g) => `${g.name}|${g.prefixed}`))).toEqual(new Set(['cart.|true']));
    expect(rules.filter((r) => r.name === '*').map((r) => `${r.principal} ${r.resource} ${r.operation}`)).toEqual([
      'User:sync-monitor TOPIC DESCRIBE',
      'User:sync-monitor GROUP DESCRIBE',
      'User:audit TOPIC READ',
      'User:audit TOPIC DESCRIBE',
    ]);
    expect(allowed('audit', 'READ', 'cart.cart-changed.dlq')).toBe(true);
    expect(allowed('audit', 'WRITE', 'cart.cart-changed')).toBe(false);
  });
});
