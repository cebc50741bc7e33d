/**
 * RFC 8785 (JSON Canonicalization Scheme): one byte sequence per JSON value, whatever the key order or
 * number spelling it arrived with, so a hash or a signature over it is repeatable by anyone.
 *
 * The serialisation itself is the `canonicalize` package (Samuel Erdtman, an RFC 8785 author): members
 * sorted by UTF-16 code units, numbers as ECMAScript prints them, strings with JSON.stringify's minimal
 * escapes. It stays on its 2.x line: 3.x and later ship only as an ES module, which jest's CommonJS
 * runtime here cannot load. It is handed a plain copy of the input, held to the I-JSON subset the RFC
 * requires (§3.1), so it never sees what 2.x would turn into wrong or lossy text: lone surrogates, cycles,
 * NaN and ±Infinity, BigInt, functions and symbols, and containers that serialise as `{}` (Map, Set,
 * typed arrays, boxed primitives...). Like JSON.stringify, `undefined` members are left out and an
 * `undefined` array element becomes `null`: exactly what a JSON export and re-import gives an auditor.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** A value that is not JSON data; `path` says where (`$`, `$.lines[2].sku`). */
export class CanonicalJsonError extends TypeError {
  readonly code = 'not_canonical_json';
  constructor(
    readonly path: string,
    readonly hint: string,
  ) {
    super(`${path}: ${hint}`);
    this.name = 'CanonicalJsonError';
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Objects that JSON.stringify (and so the serialiser) would silently write as `{}` or lose. */
function lossyKind(value: object): string | null {
  if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof WeakSet) return value.constructor.name;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.constructor.name;
  if (value instanceof Number || value instanceof String || value instanceof Boolean) return `boxed ${value.constructor.name}`;
  if (value instanceof RegExp || value instanceof Promise || value instanceof Error) return value.constructor.name;
  return null;
}

function memberPath(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Throws a CanonicalJsonError unless `value` is JSON data RFC 8785 can canonicalise without loss. */
export function assertJsonData(value: unknown, path = '$'): void {
  plain(value, path, new Set(), 'top');
}

type Slot = 'top' | 'member' | 'element';

/**
 * The JSON data `value` stands for, as plain objects, arrays and primitives: toJSON applied, undefined
 * members left out, undefined elements made null. The serialiser only ever sees this copy, so it never
 * meets a value it would mishandle (a toJSON it fails to see across realms, a hole, a function).
 */
function plain(value: unknown, path: string, open: Set<object>, slot: Slot): unknown {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError(path, 'a string holds a lone UTF-16 surrogate (not I-JSON)');
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `${value} is not a JSON number`);
      return value;
    case 'boolean':
      return value;
    case 'undefined':
      // Left out of an object, null in an array (as JSON.stringify does); nothing at the top.
      if (slot === 'top') throw new CanonicalJsonError(path, 'undefined is not a JSON value');
      return slot === 'element' ? null : undefined;
    case 'bigint':
      throw new CanonicalJsonError(path, 'a BigInt is not a JSON number: send it as a decimal string');
    case 'function':
    case 'symbol':
      throw new CanonicalJsonError(path, `a ${typeof value} is not JSON data`);
  }
  if (value === null) return null;
  const object = value as object & { toJSON?: unknown };
  if (typeof object.toJSON === 'function') {
    // What toJSON gives stands in the value's place; it must be a JSON value itself.
    return plain((object.toJSON as () => unknown)(), path, open, 'top');
  }
  const lossy = lossyKind(object);
  if (lossy !== null) throw new CanonicalJsonError(path, `a ${lossy} is not JSON data: convert it to an object or array`);
  if (open.has(object)) throw new CanonicalJsonError(path, 'a cycle: the value contains itself');
  open.add(object);
  let copy: unknown;
  if (Array.isArray(object)) {
    const elements: unknown[] = [];
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) throw new CanonicalJsonError(`${path}[${i}]`, 'a sparse array (hole) is not JSON data');
      elements.push(plain(object[i], `${path}[${i}]`, open, 'element'));
    }
    copy = elements;
  } else {
    const members: Record<string, unknown> = {};
    for (const key of Object.keys(object)) {
      const member = memberPath(path, key);
      if (LONE_SURROGATE.test(key)) throw new CanonicalJsonError(member, 'a member name holds a lone UTF-16 surrogate (not I-JSON)');
      const data = plain((object as Record<string, unknown>)[key], member, open, 'member');
      // defineProperty, not assignment: a member named "__proto__" (JSON.parse makes one) stays a member.
      if (data !== undefined) Object.defineProperty(members, key, { value: data, enumerable: true, writable: true, configurable: true });
    }
    copy = members;
  }
  open.delete(object);
  return copy;
}

/** The RFC 8785 canonical text of `value`. Throws a CanonicalJsonError for anything that is not JSON data. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(plain(value, '$', new Set(), 'top'));
  if (text === undefined) throw new CanonicalJsonError('$', 'not a JSON value');
  return text;
}

/** The UTF-8 bytes of the canonical text. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** SHA-256 of the canonical text's UTF-8 bytes (32 bytes). */
export function canonicalHash(value: unknown): Buffer {
  return createHash('sha256').update(canonicalBytes(value)).digest();
}
