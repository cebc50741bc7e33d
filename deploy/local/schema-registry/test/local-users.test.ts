/**
 * The local registry's generated users (local-users.js): what deploy/local/schema-registry.sh hands
 * the registry (AUTH_FILE) and what jest.setup.js, with-stack.sh and platform.sh hand its clients.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadUsers } from '../src/auth';
// plain CommonJS shared with the shell scripts and jest.setup.js
const localUsers = require('../local-users.js') as {
  ensure(env: NodeJS.ProcessEnv): string;
  clientEnv(env: NodeJS.ProcessEnv, user?: string): Record<string, string>;
};

describe('local registry users', () => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-users-'));
  const env = { OMNIMALL_DATA: dir };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('generated once, private, kept across starts, and loadable by the registry', () => {
    const file = localUsers.ensure(env);
    expect(file).toBe(join(dir, 'schema-registry', 'secrets.json'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const first = readFileSync(file, 'utf8');
    expect(localUsers.ensure(env)).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(first);
    const users = loadUsers(file);
    expect(users.get('omnimall')?.role).toBe('write');
    expect(users.get('reader')?.role).toBe('read');
    expect(users.get('omnimall')?.password).not.toBe(users.get('reader')?.password);
  });

  test('clients get the write user, unless a registry of their own or credentials are configured', () => {
    localUsers.ensure(env);
    const { omnimall } = JSON.parse(readFileSync(join(dir, 'schema-registry', 'secrets.json'), 'utf8')).users;
    expect(localUsers.clientEnv(env)).toEqual({ SCHEMA_REGISTRY_USER: 'omnimall', SCHEMA_REGISTRY_PASSWORD: omnimall.password });
    expect(localUsers.clientEnv({ ...env, SCHEMA_REGISTRY_URL: 'http://sr:8081' })).toEqual({});
    expect(localUsers.clientEnv({ ...env, SCHEMA_REGISTRY_USER: 'mine' })).toEqual({});
    expect(localUsers.clientEnv({ OMNIMALL_DATA: join(dir, 'absent') })).toEqual({});
    expect(() => localUsers.clientEnv(env, 'nobody')).toThrow(/no local registry user nobody/);
  });
});
