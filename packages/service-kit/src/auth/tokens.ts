/**
 * Access tokens: ES256 JWTs signed by identity and verified by every service with the public key alone.
 * A verified token is answered from memory until its `exp`, never past it (see TokenVerifier).
 */
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { generateKeyPair, exportSPKI, exportPKCS8, importPKCS8, importSPKI, jwtVerify, SignJWT, type JWTPayload, type KeyLike } from 'jose';

/**
 * Access tokens: short-lived JWTs signed by the identity service with ES256 and verified locally by
 * every other service with the public key from its configuration (AUTH_PUBLIC_KEY or
 * AUTH_PUBLIC_KEY_FILE, PEM/SPKI). No service calls identity over HTTP to check a token.
 */
export const TOKEN_ALG = 'ES256';
export const TOKEN_ISSUER = 'omnimall-identity';
export const TOKEN_AUDIENCE = 'omnimall';

export interface Principal {
  /** Customer id or staff account id. */
  sub: string;
  kind: 'customer' | 'staff';
  /** The roles identity granted (their meaning: @omnimall/contracts access rules). */
  roles: string[];
  /** Channel codes a channel_manager may act on. */
  channels: string[];
  /** Channel the session was opened from. */
  channel: string | null;
  /** Session (refresh-token family) id, so "log out everywhere" can be told apart per session. */
  sid?: string;
}

function pemFrom(envValue: string | undefined, envFile: string | undefined): string | undefined {
  if (envValue) return envValue.replace(/\\n/g, '\n');
  if (envFile) return readFileSync(envFile, 'utf8');
  return undefined;
}

/** Verified tokens remembered per verifier (a channel app sends the same token with every request). */
const VERIFIED_KEPT = 10_000;

export class TokenVerifier {
  /**
   * token → its principal, until the token's `exp`: an ES256 verification costs more than the rest of
   * a cart write's HTTP handling. The least recently verified go first (an answer from memory does
   * not count as use).
   */
  private readonly verified = new LRUCache<string, Principal>({ max: VERIFIED_KEPT });

  private constructor(private readonly key: KeyLike) {}

  static async fromPem(spki: string): Promise<TokenVerifier> {
    return new TokenVerifier(await importSPKI(spki, TOKEN_ALG));
  }

  /** Reads AUTH_PUBLIC_KEY / AUTH_PUBLIC_KEY_FILE; throws a clear configuration error when neither is set. */
  static async fromEnv(env: NodeJS.ProcessEnv = process.env): Promise<TokenVerifier> {
    const pem = pemFrom(env.AUTH_PUBLIC_KEY, env.AUTH_PUBLIC_KEY_FILE);
    if (!pem) throw new Error('AUTH_PUBLIC_KEY or AUTH_PUBLIC_KEY_FILE must be set (the identity service public key, PEM)');
    return TokenVerifier.fromPem(pem);
  }

  /**
   * The token's principal if its signature, issuer, audience and times hold. A token verified before
   * is answered from memory until its `exp` (the same answer: nothing in it can change); the caller
   * gets its own copy.
   */
  async verify(token: string): Promise<Principal> {
    const known = this.verified.peek(token);
    if (known) return copyOf(known);
    const { payload } = await jwtVerify(token, this.key, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALG] });
    const principal = this.principalOf(payload);
    const ttl = typeof payload.exp === 'number' ? payload.exp * 1000 - Date.now() : 0;
    if (ttl > 0) this.verified.set(token, principal, { ttl });
    return copyOf(principal);
  }

  private principalOf(payload: JWTPayload): Principal {
    return {
      sub: String(payload.sub),
      kind: payload.kind === 'staff' ? 'staff' : 'customer',
      roles: Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [],
      channels: Array.isArray(payload.channels) ? (payload.channels as string[]) : [],
      channel: typeof payload.channel === 'string' ? payload.channel : null,
      sid: typeof payload.sid === 'string' ? payload.sid : undefined,
    };
  }
}

function copyOf(p: Principal): Principal {
  return { ...p, roles: [...p.roles], channels: [...p.channels] };
}

export class TokenSigner {
  private constructor(private readonly key: KeyLike) {}

  static async fromPem(pkcs8: string): Promise<TokenSigner> {
    return new TokenSigner(await importPKCS8(pkcs8, TOKEN_ALG));
  }

  static async fromEnv(env: NodeJS.ProcessEnv = process.env): Promise<TokenSigner> {
    const pem = pemFrom(env.AUTH_PRIVATE_KEY, env.AUTH_PRIVATE_KEY_FILE);
    if (!pem) throw new Error('AUTH_PRIVATE_KEY or AUTH_PRIVATE_KEY_FILE must be set (PEM, PKCS#8, ES256)');
    return TokenSigner.fromPem(pem);
  }

  sign(p: Principal, ttlSeconds = 900): Promise<string> {
    return new SignJWT({ kind: p.kind, roles: p.roles, channels: p.channels, channel: p.channel, ...(p.sid ? { sid: p.sid } : {}) })
      .setProtectedHeader({ alg: TOKEN_ALG })
      .setSubject(p.sub)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }
}

/** A fresh ES256 key pair as PEM strings (local stacks and tests). */
export async function generateTokenKeys(): Promise<{ publicKey: string; privateKey: string }> {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { extractable: true });
  return { publicKey: await exportSPKI(publicKey), privateKey: await exportPKCS8(privateKey) };
}
