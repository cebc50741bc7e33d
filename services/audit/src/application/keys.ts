/**
 * The checkpoint signing key. In production AUDIT_SIGNING_KEY holds an Ed25519 private key (PKCS#8
 * PEM, from a secret); it never reaches the database, only its public half does (so checkpoints signed
 * before a rotation still verify). Without it (development, tests) a key is generated once, stored in
 * the audit's own database and reused at every start, and a warning says so.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { keyIdOf } from '@omnimall/evidence';
import type { Logger } from '@omnimall/service-kit';
import type { KeyRecord, KeyRepository } from '../store/checkpoints';

export interface Signer {
  keyId: string;
  privateKey: KeyObject;
  publicPem: string;
  /** Whether the key came from the environment (false: generated here, development only). */
  configured: boolean;
}

export async function loadSigner(keys: KeyRepository, configuredPem: string | null, logger: Logger): Promise<Signer> {
  if (configuredPem) {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(configuredPem.replace(/\\n/g, '\n'));
    } catch (err) {
      throw new Error(`AUDIT_SIGNING_KEY is not a PKCS#8 PEM private key: ${(err as Error).message}`);
    }
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new Error(`AUDIT_SIGNING_KEY must be an Ed25519 key, not ${privateKey.asymmetricKeyType}`);
    const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    const signer = { keyId: keyIdOf(privateKey), privateKey, publicPem, configured: true };
    await keys.remember({ keyId: signer.keyId, publicPem, createdAt: Date.now() });
    return signer;
  }
  let record: KeyRecord | null = await keys.generated();
  if (!record) {
    const pair = generateKeyPairSync('ed25519');
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    record = await keys.saveGenerated({ keyId: keyIdOf(pair.privateKey), publicPem, privatePem, createdAt: Date.now() });
  }
  logger.warn('checkpoints are signed with a key generated in the audit database: set AUDIT_SIGNING_KEY in production', {
    keyId: record.keyId,
  });
  return { keyId: record.keyId, privateKey: createPrivateKey(record.privatePem!), publicPem: record.publicPem, configured: false };
}
