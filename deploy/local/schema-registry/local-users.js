/**
 * The local registry's users, as deploy/local/kafka.sh keeps the Kafka principals: generated once
 * into `$OMNIMALL_DATA/schema-registry/secrets.json` (default `<repo>/.local-data`, git-ignored,
 * mode 600) and kept across starts. Two users: `omnimall` (role write: services register their
 * schemas at start, tools and tests do too) and `reader` (role read: looks, never changes).
 *
 * Plain CommonJS so the shell scripts (`node local-users.js ensure|env`) and jest.setup.js use it
 * without a build. Local mode only: with SCHEMA_REGISTRY_URL set (a registry of your own) or
 * SCHEMA_REGISTRY_USER already given, `clientEnv` adds nothing, so explicit settings always win.
 */
const { existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { randomBytes } = require('node:crypto');
const { dirname, join } = require('node:path');

/** The user every local client (services, tools, tests, benches) authenticates as. */
const CLIENT_USER = 'omnimall';
const USERS = { [CLIENT_USER]: 'write', reader: 'read' };

function secretsFile(env = process.env) {
  return join(env.OMNIMALL_DATA || join(__dirname, '..', '..', '..', '.local-data'), 'schema-registry', 'secrets.json');
}

/** Writes a password for each user that has none yet; returns the file. */
function ensure(env = process.env) {
  const file = secretsFile(env);
  const cur = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const users = { ...(cur.users || {}) };
  for (const [name, role] of Object.entries(USERS)) {
    users[name] = { password: (users[name] && users[name].password) || randomBytes(18).toString('base64url'), role };
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ users }, null, 2) + '\n', { mode: 0o600 });
  return file;
}

/** SCHEMA_REGISTRY_USER/PASSWORD of `user` for a client of the local registry; {} when not local or not generated. */
function clientEnv(env = process.env, user = CLIENT_USER) {
  if (env.SCHEMA_REGISTRY_URL || env.SCHEMA_REGISTRY_USER) return {};
  const file = secretsFile(env);
  if (!existsSync(file)) return {};
  const found = (JSON.parse(readFileSync(file, 'utf8')).users || {})[user];
  if (!found) throw new Error(`no local registry user ${user} in ${file}: restart the registry (deploy/local/schema-registry.sh)`);
  return { SCHEMA_REGISTRY_USER: user, SCHEMA_REGISTRY_PASSWORD: found.password };
}

module.exports = { CLIENT_USER, secretsFile, ensure, clientEnv };

if (require.main === module) {
  const [command, user] = process.argv.slice(2);
  if (command === 'ensure') console.log(ensure());
  else if (command === 'env') for (const [k, v] of Object.entries(clientEnv(process.env, user))) console.log(`${k}=${v}`);
  else {
    console.error('usage: node local-users.js ensure|env [user]');
    process.exit(2);
  }
}
