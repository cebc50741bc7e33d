/**
 * Access tokens: ES256 JWTs signed by identity and verified by every service with public keys alone.
 * Every token names its key in the `kid` header (the RFC 7638 thumbprint of the public key), and a
 * verifier holds a set of public keys chosen by `kid`, so during a rotation the old and the new key
 * are both live; a token without `kid` or naming a key outside the set is refused with that reason.
 * A verified token is answered from memory until its `exp`, never past it (see TokenVerifier).
 */
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importJWK,
  importPKCS8,
  importSPKI,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
  type KeyLike,
} from 'jose';

/**
 * Access tokens: short-lived JWTs signed by the identity service with ES256 and verified locally by
 * every other service with the public keys from its configuration (AUTH_PUBLIC_KEY or
 * AUTH_PUBLIC_KEY_FILE, PEM/SPKI, and/or AUTH_PUBLIC_KEYS_FILE, a JWKS with several keys for a
 * rotation). No service calls identity over HTTP to check a token.
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

/** A public signing key as published in a JWKS (identity's `/.well-known/jwks.json`). */
export interface PublicJwk extends JWK {
  kty: string;
  kid: string;
  alg: typeof TOKEN_ALG;
  use: 'sig';
}

/** A JSON Web Key Set. */
export interface Jwks {
  keys: PublicJwk[];
}

/** The public half of a key as a JWK named by its RFC 7638 thumbprint (private members dropped). */
async function publicJwkOf(key: KeyLike): Promise<PublicJwk> {
  const { kty, crv, x, y } = await exportJWK(key);
  const bare = { kty: kty as string, crv, x, y };
  return { ...bare, kid: await calculateJwkThumbprint(bare), alg: TOKEN_ALG, use: 'sig' };
}

/** The keys of a JWKS document (read from AUTH_PUBLIC_KEYS_FILE); a malformed file stops the start with its name. */
function jwksKeys(text: string, source: string): JWK[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not JSON: ${(err as Error).message}`);
  }
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${source} must be a JWKS: {"keys": [<EC P-256 public JWK>, ...]}`);
  return keys as JWK[];
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

  /** kid → the public key and its JWK. */
  private constructor(private readonly keys: ReadonlyMap<string, { key: KeyLike; jwk: PublicJwk }>) {}

  private static async of(keys: KeyLike[]): Promise<TokenVerifier> {
    const byKid = new Map<string, { key: KeyLike; jwk: PublicJwk }>();
    for (const key of keys) {
      const jwk = await publicJwkOf(key);
      byKid.set(jwk.kid, { key, jwk });
    }
    return new TokenVerifier(byKid);
  }

  /** A verifier of one or several public keys (PEM, SPKI). */
  static async fromPem(...spki: string[]): Promise<TokenVerifier> {
    return TokenVerifier.of(await Promise.all(spki.map((pem) => importSPKI(pem, TOKEN_ALG, { extractable: true }))));
  }

  /** A verifier of a JWKS's keys (their `kid` is recomputed from the key, never taken on trust). */
  static async fromJwks(jwks: { keys: JWK[] }, extraPems: string[] = []): Promise<TokenVerifier> {
    const fromJwks = await Promise.all(jwks.keys.map(async (jwk) => (await importJWK({ ...jwk, alg: TOKEN_ALG }, TOKEN_ALG)) as KeyLike));
    const fromPems = await Promise.all(extraPems.map((pem) => importSPKI(pem, TOKEN_ALG, { extractable: true })));
    return TokenVerifier.of([...fromPems, ...fromJwks]);
  }

  /**
   * Reads AUTH_PUBLIC_KEY / AUTH_PUBLIC_KEY_FILE (one PEM) and AUTH_PUBLIC_KEYS_FILE (a JWKS, e.g. the
   * old and the new key during a rotation), either or both; throws a clear configuration error when none is set.
   */
  static async fromEnv(env: NodeJS.ProcessEnv = process.env): Promise<TokenVerifier> {
    const pem = pemFrom(env.AUTH_PUBLIC_KEY, env.AUTH_PUBLIC_KEY_FILE);
    const file = env.AUTH_PUBLIC_KEYS_FILE;
    if (!pem && !file)
      throw new Error(
        'AUTH_PUBLIC_KEY, AUTH_PUBLIC_KEY_FILE (the identity service public key, PEM) or AUTH_PUBLIC_KEYS_FILE (a JWKS) must be set',
      );
    const keys = file ? jwksKeys(readFileSync(file, 'utf8'), `AUTH_PUBLIC_KEYS_FILE (${file})`) : [];
    return TokenVerifier.fromJwks({ keys }, pem ? [pem] : []);
  }

  /** This verifier plus other public keys (identity: its signing key plus the configured ones). */
  async with(...jwks: JWK[]): Promise<TokenVerifier> {
    const more = await TokenVerifier.fromJwks({ keys: jwks });
    return new TokenVerifier(new Map([...this.keys, ...more.keys]));
  }

  /** The public keys this verifier accepts, as a JWKS. */
  jwks(): Jwks {
    return { keys: [...this.keys.values()].map((k) => ({ ...k.jwk })) };
  }

  /**
   * The token's principal if its signature, issuer, audience and times hold. A token verified before
   * is answered from memory until its `exp` (the same answer: nothing in it can change); the caller
   * gets its own copy.
   */
  async verify(token: string): Promise<Principal> {
    const known = this.verified.peek(token);
    if (known) return copyOf(known);
    const { kid } = decodeProtectedHeader(token);
    if (typeof kid !== 'string') throw new Error('the token names no signing key (kid); tokens without kid are refused');
    const entry = this.keys.get(kid);
    if (!entry) throw new Error(`the token is signed with key ${kid}, which is not among the accepted keys (retired or foreign)`);
    const { payload } = await jwtVerify(token, entry.key, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALG] });
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
  private constructor(
    private readonly key: KeyLike,
    /** The public half as a JWK; its `kid` goes into every token's header. */
    readonly publicJwk: PublicJwk,
  ) {}

  static async fromPem(pkcs8: string): Promise<TokenSigner> {
    const key = await importPKCS8(pkcs8, TOKEN_ALG, { extractable: true });
    return new TokenSigner(key, await publicJwkOf(key));
  }

  /** The RFC 7638 thumbprint of the public key: the `kid` of every token this signer signs. */
  get kid(): string {
    return this.publicJwk.kid;
  }

  static async fromEnv(env: NodeJS.ProcessEnv = process.env): Promise<TokenSigner> {
    const pem = pemFrom(env.AUTH_PRIVATE_KEY, env.AUTH_PRIVATE_KEY_FILE);
    if (!pem) throw new Error('AUTH_PRIVATE_KEY or AUTH_PRIVATE_KEY_FILE must be set (PEM, PKCS#8, ES256)');
    return TokenSigner.fromPem(pem);
  }

  sign(p: Principal, ttlSeconds = 900): Promise<string> {
    return new SignJWT({ kind: p.kind, roles: p.roles, channels: p.channels, channel: p.channel, ...(p.sid ? { sid: p.sid } : {}) })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: this.publicJwk.kid, typ: 'JWT' })
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
