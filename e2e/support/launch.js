/**
 * Runs one built service (services/<name>/dist/main.js, cwd = the service folder) as the e2e suite's
 * child process. It calls the same exported start function the service's own `require.main` block
 * calls, with the same environment-driven config (loadPlatformConfig), and adds only what the
 * environment cannot express today: consumer groups of this run's own.
 *
 * Why not `node dist/main.js` as is: run directly, every service joins the fixed production groups
 * (`cart.projections`, `identity.channel-rules`, ...). On the shared local Kafka those groups either
 * do not exist yet (then they replay every topic from the beginning: tens of thousands of catalogue
 * items and acks before this run's events) or are shared with whatever else runs them (then the
 * partitions are split and this run's instance sees only some of its events). Each group name keeps
 * the service name before the first dot, because that is how the sync-monitor attributes an ack
 * to a service. The monitor also tracks only events whose correlation id carries this run's tag, so
 * other engineers' traffic on the same Kafka does not flood it.
 *
 * Usage: node e2e/support/launch.js <service>   (env: E2E_TAG, plus the services' usual variables)
 */
'use strict';
const path = require('node:path');

const service = process.argv[2];
const tag = process.env.E2E_TAG;
if (!service || !tag) {
  console.error('usage: E2E_TAG=<tag> node launch.js <service>');
  process.exit(2);
}
const main = require(path.join(process.cwd(), 'dist', 'main.js'));
const kit = require(require.resolve('@omnimall/service-kit', { paths: [process.cwd()] }));
const env = process.env;

const starters = {
  identity: () =>
    main.startIdentity(kit.loadPlatformConfig('identity', 4001), {
      consumerGroup: (purpose) => `identity.${tag}.${purpose}`,
      replayChannelHistory: false,
    }),
  channels: () =>
    main.startChannels(kit.loadPlatformConfig('channels', 4002), {
      groupPrefix: `channels.${tag}`,
      fromBeginning: false,
      delivery: { pollIntervalMs: 200 },
    }),
  'catalog-sync': () =>
    main.startCatalogSync(kit.loadPlatformConfig('catalog-sync', 4003, env, { dbName: env.MONGO_DB ?? 'catalog' }), {
      channelsGroup: `catalog-sync.${tag}.channels`,
      channelsFromBeginning: false,
    }),
  cart: () => main.startCart(kit.loadPlatformConfig('cart', 4005), { groupPrefix: `cart.${tag}`, fromBeginning: false }),
  'sync-monitor': () =>
    main.startSyncMonitor(kit.loadPlatformConfig('sync-monitor', 4010), {
      groupSuffix: `.${tag}`,
      fromBeginning: false,
      trackEnvelope: (e) => typeof e.correlationId === 'string' && e.correlationId.startsWith(tag),
      trackAck: (a) => typeof a.envelope?.correlationId === 'string' && a.envelope.correlationId.startsWith(tag),
    }),
};

const start = starters[service];
if (!start) {
  console.error(`unknown service ${service}`);
  process.exit(2);
}
// The same process handling as the services' own entry points; the test runner is the IPC parent.
kit.runService(service, start, { stopTimeoutMs: 10_000 });
