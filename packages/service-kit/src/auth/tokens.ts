/**
 * Access and device tokens: ES256 JWTs signed by identity and verified by every service with public
 * keys alone. Every token names its key in the `kid` header (the RFC 7638 thumbprint of the public
 * key), and a verifier holds a set of public keys chosen by `kid`: the configured ones
 * (AUTH_PUBLIC_KEY*, a rotation's old and new key) and, once bound to the service's TrustState, the
 * keys identity publishes on identity.signing-keys; a token without `kid`, naming a key outside the
 * set, or naming a key identity retired is refused with that reason.
 *
 * Guarantees:
 * - a verified token is answered from memory until its `exp`, never past it, and never after its key
 *   was retired or the trust state revoked it (staff disabled, session revoked): the check runs on
 *   the cached path too, so a revocation takes effect on the next request;
 * - access tokens (audience `omnimall`) and device tokens (audience `omnimall-device`, `kind: device`)
 *   are never accepted for one another;
 * - `iat` carries milliseconds (a JWT NumericDate may be fractional), so a revocation at `revokedAt`
 *   and a token issued right after it in the same second are told apart (Principal.issuedAt).
 */
import { readFileSync } from 'node:fs';
import type { TrustState } from './trust';
import { LRUCache } from 'lru-cache';
import {
  calculateJwkThumbprint,
  decodeJwt,
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

/** Access tokens are signed by identity; no service calls identity over HTTP to check a token. */
export const TOKEN_ALG = 'ES256';
export const TOKEN_ISSUER = 'omnimall-identity';
export const TOKEN_AUDIENCE = 'omnimall';
/** The audience of device tokens: never a bearer token, only `x-device-token`. */
export const DEVICE_AUDIENCE = 'omnimall-device';

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
  /** When the token was issued (epoch ms, from `iat`): revocations cover tokens issued up to an instant. */
  issuedAt: number;
}

/** What a signer puts into an access token (`issuedAt` is the signing time). */
export type TokenClaims = Omit<Principal, 'issuedAt'>;

/** What a device token says: the device and the channel it was registered through. */
export interface DeviceClaims {
  deviceId: string;
  channel: string;
}

/** A verified device token. */
export interface DeviceIdentity extends DeviceClaims {
  issuedAt: number;
}

/** A token whose signature holds but which the trust state revoked; `reason` is the revocation's. */
export class TokenRevokedError extends Error {
  constructor(readonly reason: string) {
    super(`the token was revoked (${reason})`);
    this.name = 'TokenRevokedError';
  }
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

type KeyEntry = { key: KeyLike; jwk: PublicJwk };

/** Token keys a service is configured with (PlatformConfig.tokenKeys, from AUTH_* variables). */
export interface TokenKeyConfig {
  /** Public keys (PEM, SPKI): AUTH_PUBLIC_KEY or AUTH_PUBLIC_KEY_FILE, and any a test adds. */
  publicKeys: string[];
  /** AUTH_PUBLIC_KEYS_FILE: a JWKS with several keys (a rotation). */
  jwksFile?: string;
  /** AUTH_PRIVATE_KEY or AUTH_PRIVATE_KEY_FILE (PEM, PKCS#8): identity's signing key. */
  signingKey?: string;
}

/** Milliseconds from a NumericDate (`iat`, seconds, possibly fractional). */
const millisOf = (iat: unknown): number => (typeof iat === 'number' ? Math.round(iat * 1000) : 0);

export class TokenVerifier {
  /**
   * token → its principal and key, until the token's `exp`: an ES256 verification costs more than the
   * rest of a cart write's HTTP handling. The least recently verified go first (an answer from memory
   * does not count as use). Keys and revocations are checked again on every answer from memory.
   */
  private readonly verified = new LRUCache<string, { principal: Principal; kid: string }>({ max: VERIFIED_KEPT });
  private readonly devices = new LRUCache<string, { device: DeviceIdentity; kid: string }>({ max: VERIFIED_KEPT });

  /** kid → the public key and its JWK (configured keys); `trust` adds identity's published keys and revocations. */
  private constructor(
    private readonly keys: ReadonlyMap<string, KeyEntry>,
    private readonly trust?: TrustState,
  ) {}

  private static async of(keys: KeyLike[]): Promise<TokenVerifier> {
    const byKid = new Map<string, KeyEntry>();
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
   * old and the new key during a rotation), either or both; throws a clear configuration error when
   * none is set, unless `optional` (a service that takes identity's keys from identity.signing-keys).
   */
  static async fromEnv(env: NodeJS.ProcessEnv = process.env, opts: { optional?: boolean } = {}): Promise<TokenVerifier> {
    const keys = tokenKeysFromEnv(env);
    if (!opts.optional && !keys.publicKeys.length && !keys.jwksFile)
      throw new Error(
        'AUTH_PUBLIC_KEY, AUTH_PUBLIC_KEY_FILE (the identity service public key, PEM) or AUTH_PUBLIC_KEYS_FILE (a JWKS) must be set',
      );
    return TokenVerifier.fromConfig(keys);
  }

  /** A verifier of configured keys (the public ones, and the public half of the signing key when given). */
  static async fromConfig(keys: TokenKeyConfig, signer?: TokenSigner): Promise<TokenVerifier> {
    const jwks = keys.jwksFile ? jwksKeys(readFileSync(keys.jwksFile, 'utf8'), `AUTH_PUBLIC_KEYS_FILE (${keys.jwksFile})`) : [];
    return TokenVerifier.fromJwks({ keys: signer ? [...jwks, signer.publicJwk] : jwks }, keys.publicKeys);
  }

  /** This verifier plus other public keys (identity: its signing key plus the configured ones). */
  async with(...jwks: JWK[]): Promise<TokenVerifier> {
    const more = await TokenVerifier.fromJwks({ keys: jwks });
    return new TokenVerifier(new Map([...this.keys, ...more.keys]), this.trust);
  }

  /** This verifier's keys plus identity's published ones, refusing what the trust state revokes. */
  boundTo(trust: TrustState): TokenVerifier {
    return new TokenVerifier(this.keys, trust);
  }

  /** The public keys this verifier accepts (configured and published active), as a JWKS. */
  jwks(): Jwks {
    const own = [...this.keys.values()].map((k) => ({ ...k.jwk })).filter((k) => this.trust?.signingKey(k.kid)?.status !== 'retired');
    const published = (this.trust?.activeKeys() ?? []).filter((k) => !this.keys.has(k.kid));
    return { keys: [...own, ...published] };
  }

  /** The key a token names, if accepted: configured or published active, and never retired. */
  private keyFor(kid: unknown): KeyLike {
    if (typeof kid !== 'string') throw new Error('the token names no signing key (kid); tokens without kid are refused');
    const published = this.trust?.signingKey(kid);
    if (published?.status === 'retired') throw new Error(`the token is signed with key ${kid}, which identity retired`);
    const key = this.keys.get(kid)?.key ?? (published?.status === 'active' ? published.key : undefined);
    if (!key) throw new Error(`the token is signed with key ${kid}, which is not among the accepted keys (retired or foreign)`);
    return key;
  }

  private checkRevocation(principal: Principal): void {
    const why = this.trust?.revocationOf(principal);
    if (why) throw new TokenRevokedError(why);
  }

  /**
   * The token's principal if its signature, issuer, audience and times hold, its key is accepted and
   * the trust state does not revoke it. A token verified before is answered from memory until its
   * `exp` (keys and revocations checked again); the caller gets its own copy.
   */
  async verify(token: string): Promise<Principal> {
    const known = this.verified.peek(token);
    if (known) {
      this.keyFor(known.kid);
      this.checkRevocation(known.principal);
      return copyOf(known.principal);
    }
    const { kid } = decodeProtectedHeader(token);
    const key = this.keyFor(kid);
    if (audienceOf(token) === DEVICE_AUDIENCE) throw new Error('a device token is not a bearer token: send it as x-device-token');
    const { payload } = await jwtVerify(token, key, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALG] });
    if (payload.kind === 'device') throw new Error('a device token is not a bearer token: send it as x-device-token');
    const principal = this.principalOf(payload);
    this.checkRevocation(principal);
    const ttl = typeof payload.exp === 'number' ? payload.exp * 1000 - Date.now() : 0;
    if (ttl > 0) this.verified.set(token, { principal, kid: kid as string }, { ttl });
    return copyOf(principal);
  }

  /** A device token's device and channel, if its signature, audience and times hold and its key is accepted. */
  async verifyDevice(token: string): Promise<DeviceIdentity> {
    const known = this.devices.peek(token);
    if (known) {
      this.keyFor(known.kid);
      return { ...known.device };
    }
    const { kid } = decodeProtectedHeader(token);
    const key = this.keyFor(kid);
    if (audienceOf(token) !== DEVICE_AUDIENCE) throw new Error('an access token is not a device token: send it as Authorization: Bearer');
    const { payload } = await jwtVerify(token, key, { issuer: TOKEN_ISSUER, audience: DEVICE_AUDIENCE, algorithms: [TOKEN_ALG] });
    if (payload.kind !== 'device' || typeof payload.sub !== 'string' || typeof payload.channel !== 'string')
      throw new Error('the device token names no device or channel');
    const device = { deviceId: payload.sub, channel: payload.channel, issuedAt: millisOf(payload.iat) };
    const ttl = typeof payload.exp === 'number' ? payload.exp * 1000 - Date.now() : 0;
    if (ttl > 0) this.devices.set(token, { device, kid: kid as string }, { ttl });
    return { ...device };
  }

  private principalOf(payload: JWTPayload): Principal {
    return {
      sub: String(payload.sub),
      kind: payload.kind === 'staff' ? 'staff' : 'customer',
      roles: Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [],
      channels: Array.isArray(payload.channels) ? (payload.channels as string[]) : [],
      channel: typeof payload.channel === 'string' ? payload.channel : null,
      sid: typeof payload.sid === 'string' ? payload.sid : undefined,
      issuedAt: millisOf(payload.iat),
    };
  }
}

/** The (unverified) audience of a token, to say clearly which kind was sent where. */
function audienceOf(token: string): string | undefined {
  try {
    const { aud } = decodeJwt(token);
    return Array.isArray(aud) ? aud[0] : aud;
  } catch {
    return undefined;
  }
}

function copyOf(p: Principal): Principal {
  return { ...p, roles: [...p.roles], channels: [...p.channels] };
}

/** AUTH_PUBLIC_KEY(_FILE), AUTH_PUBLIC_KEYS_FILE, AUTH_PRIVATE_KEY(_FILE) as a TokenKeyConfig (all optional). */
export function tokenKeysFromEnv(env: NodeJS.ProcessEnv = process.env): TokenKeyConfig {
  const pem = pemFrom(env.AUTH_PUBLIC_KEY, env.AUTH_PUBLIC_KEY_FILE);
  const signingKey = pemFrom(env.AUTH_PRIVATE_KEY, env.AUTH_PRIVATE_KEY_FILE);
  return {
    publicKeys: pem ? [pem] : [],
    ...(env.AUTH_PUBLIC_KEYS_FILE ? { jwksFile: env.AUTH_PUBLIC_KEYS_FILE } : {}),
    ...(signingKey ? { signingKey } : {}),
  };
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

  /** An access token (audience `omnimall`) for the principal; `issuedAt` is now, in milliseconds. */
  sign(p: TokenClaims, ttlSeconds = 900): Promise<string> {
    return new SignJWT({ kind: p.kind, roles: p.roles, channels: p.channels, channel: p.channel, ...(p.sid ? { sid: p.sid } : {}) })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: this.publicJwk.kid, typ: 'JWT' })
      .setSubject(p.sub)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(Date.now() / 1000)
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }

  /** A device token (audience `omnimall-device`, `kind: device`): sent as x-device-token, never as a bearer token. */
  signDevice(d: DeviceClaims, ttlSeconds: number): Promise<string> {
    return new SignJWT({ kind: 'device', channel: d.channel })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: this.publicJwk.kid, typ: 'JWT' })
      .setSubject(d.deviceId)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(DEVICE_AUDIENCE)
      .setIssuedAt(Date.now() / 1000)
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }
}

/** A fresh ES256 key pair as PEM strings (local stacks and tests). */
export async function generateTokenKeys(): Promise<{ publicKey: string; privateKey: string }> {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { extractable: true });
  return { publicKey: await exportSPKI(publicKey), privateKey: await exportPKCS8(privateKey) };
}
