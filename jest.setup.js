// Service logs are JSON lines meant for log shippers; in tests they only bury jest's report.
// Set LOG_SILENT=0 to see them.
process.env.LOG_SILENT = process.env.LOG_SILENT ?? '1';

// Clients of the local schema registry (services, raw clients) authenticate as its client user;
// nothing is added when SCHEMA_REGISTRY_URL or SCHEMA_REGISTRY_USER is set (deploy/local/schema-registry/local-users.js).
Object.assign(process.env, require('./deploy/local/schema-registry/local-users.js').clientEnv(process.env));
