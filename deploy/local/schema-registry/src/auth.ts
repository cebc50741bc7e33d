/**
 * HTTP basic auth for the registry, with two roles: `write` may do everything, `read` only what
 * changes nothing (GET, and the POSTs that look a schema up or test compatibility). The users come
 * from a JSON file (`AUTH_FILE`, written by deploy/local/schema-registry.sh into
 * `.local-data/schema-registry/secrets.json`):
 *
 *   { "users": { "<name>": { "password": "<secret>", "role": "write" | "read" } } }
 *
 * Guarantees:
 *  - with users configured, every route but GET /healthz answers 401 (Confluent-shaped, with
 *    `WWW-Authenticate: Basic`) unless the request carries a known user's password; a `read` user
 *    gets 403 (error_code 40301) on anything that writes;
 *  - passwords are compared in constant time: both sides are hashed (SHA-256, so the lengths match)
 *    and compared with timingSafeEqual, and an unknown user is compared against a dummy, so neither
 *    a password's length nor a user's existence shows in the time taken;
 *  - a malformed users file refuses the start (every problem named, never a password).
 * Header parsing is jshttp's `basic-auth` (scheme case, padding, passwords with colons).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import parseBasicAuth from 'basic-auth';
import type { RequestHandler } from 'express';
import { ErrorCode, RegistryError } from './errors';

export const ROLES = ['read', 'write'] as const;
export type Role = (typeof ROLES)[number];

export interface RegistryUser {
  password: string;
  role: Role;
}

/** name → user. Empty: no authentication (a registry nobody configured). */
export type RegistryUsers = ReadonlyMap<string, RegistryUser>;

/** The users of a parsed users file; throws naming every problem (never a password). */
export function usersOf(parsed: unknown, source = 'users file'): RegistryUsers {
  const users = (parsed as { users?: unknown } | null)?.users;
  if (typeof users !== 'object' || users === null || Array.isArray(users)) throw new Error(`${source}: expected { "users": { ... } }`);
  const problems: string[] = [];
  const out = new Map<string, RegistryUser>();
  for (const [name, u] of Object.entries(users as Record<string, unknown>)) {
    const { password, role } = (u ?? {}) as Partial<RegistryUser>;
    if (!name || name.includes(':')) problems.push(`user "${name}": a name must be non-empty and without ':'`);
    if (typeof password !== 'string' || password.length < 12) problems.push(`user "${name}": password must be a string of 12+ characters`);
    if (!ROLES.includes(role as Role)) problems.push(`user "${name}": role must be one of ${ROLES.join(', ')}`);
    if (typeof password === 'string' && ROLES.includes(role as Role)) out.set(name, { password, role: role as Role });
  }
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
  if (out.size === 0) throw new Error(`${source}: no users (remove AUTH_FILE to run without authentication)`);
  return out;
}

export function loadUsers(file: string): RegistryUsers {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the users file ${file}: ${(err as Error).message}`);
  }
  return usersOf(parsed, file);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Compared against when the user is unknown, so an unknown name costs what a wrong password does. */
const DUMMY = digest(randomBytes(32).toString('hex'));

/** The user named, when `password` is theirs (constant time in the password and the user's existence). */
export function authenticate(users: RegistryUsers, name: string, password: string): RegistryUser | null {
  const user = users.get(name);
  const ok = timingSafeEqual(digest(password), user ? digest(user.password) : DUMMY);
  return ok && user ? user : null;
}

/** What a `read` user may do: nothing that changes the registry's state. */
export function isReadOnly(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  if (method !== 'POST') return false;
  // POST /subjects/{subject} looks a schema up; POST /compatibility/... only checks one.
  return /^\/subjects\/[^/]+\/?$/.test(path) || path.startsWith('/compatibility/');
}

const OPEN_PATHS = new Set(['/healthz']);

/** The middleware; with no users it lets everything through (authentication not configured). */
export function basicAuth(users: RegistryUsers): RequestHandler {
  return (req, res, next) => {
    if (users.size === 0 || OPEN_PATHS.has(req.path)) return next();
    const given = parseBasicAuth(req);
    const user = given ? authenticate(users, given.name, given.pass) : null;
    if (!user) {
      res.set('WWW-Authenticate', 'Basic realm="schema-registry", charset="UTF-8"');
      return next(new RegistryError(401, ErrorCode.UNAUTHORIZED, 'Unauthorized: send the registry user and password (HTTP basic auth)'));
    }
    if (user.role !== 'write' && !isReadOnly(req.method, req.path))
      return next(new RegistryError(403, ErrorCode.USER_DENIED, `User is denied operation ${req.method} ${req.path}: read-only`));
    next();
  };
}
