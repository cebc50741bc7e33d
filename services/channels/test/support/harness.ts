/** Starts the channels service on the real stack, isolated (own database, own consumer groups). */
import type { RunningService } from '@omnimall/service-kit';
import { bearer, testConfig, testGroups } from '@omnimall/service-kit/testing';
import supertest from 'supertest';
import { channelsService, type ChannelsDeps, type ChannelsExposes } from '../../src/main';

export type ChannelsService = RunningService<ChannelsExposes>;

/**
 * Local mode for webhooks: plain http and receivers on 127.0.0.1 accepted (everything else non-public
 * stays refused). Tests of the production rules start a service with `env` without these.
 */
export const LOCAL_WEBHOOKS = { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' };

export async function startTestChannels(
  deps: ChannelsDeps = {},
  env: NodeJS.ProcessEnv = { ...process.env, ...LOCAL_WEBHOOKS },
  /** A database of its own unless given (a second instance on `svc.runtime.config.dbName`). */
  dbName?: string,
): Promise<ChannelsService> {
  return channelsService.start({
    // local mode: the delivery key comes from .local-data (settings.ts), as on the local platform
    env: { OMNIMALL_LOCAL: 'true', ...env },
    config: testConfig('channels', dbName ? { dbName } : {}),
    groups: testGroups(),
    deps: {
      delivery: { pollIntervalMs: 50, backoffBaseMs: 50, backoffMaxMs: 400, breakerResetMs: 500, requestTimeoutMs: 2000 },
      ...deps,
    },
  });
}

export const adminToken = () => bearer({ sub: 'stf_admin', kind: 'staff', roles: ['admin'] });
export const managerToken = (channels: string[]) => bearer({ sub: 'stf_manager_1', kind: 'staff', roles: ['channel_manager'], channels });

/** Drives a freshly registered channel through approval and onboarding to active. */
export async function activate(svc: ChannelsService, code: string): Promise<Record<string, unknown>> {
  const admin = await adminToken();
  const manager = await managerToken([code]);
  const http = supertest(svc.app);
  const step = async (token: string, action: string) => {
    const r = await http.post(`/channels/${code}/transitions`).set('authorization', token).send({ action });
    if (r.status !== 200) throw new Error(`${action}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, unknown>;
  };
  await step(manager, 'submit');
  await step(admin, 'approve'); // ticks the onboarding checklist's approval
  await step(manager, 'start_onboarding');
  for (const item of ['handoff', 'operational_readiness']) {
    const r = await http.put(`/channels/${code}/checklists/onboarding/${item}`).set('authorization', manager).send({});
    if (r.status !== 200) throw new Error(`${item}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return step(admin, 'activate');
}

/** Drives a freshly registered channel through its whole lifecycle to retired. */
export async function retire(svc: ChannelsService, code: string): Promise<void> {
  await activate(svc, code);
  const admin = await adminToken();
  const manager = await managerToken([code]);
  const http = supertest(svc.app);
  const ok = (r: supertest.Response, what: string) => {
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  ok(await http.post(`/channels/${code}/transitions`).set('authorization', admin).send({ action: 'sunset' }), 'sunset');
  ok(await http.post(`/channels/${code}/transitions`).set('authorization', manager).send({ action: 'start_offboarding' }), 'offboarding');
  for (const item of ['stock_liquidation', 'data_migration', 'legal_compliance'])
    ok(await http.put(`/channels/${code}/checklists/offboarding/${item}`).set('authorization', admin).send({}), item);
  ok(await http.post(`/channels/${code}/transitions`).set('authorization', admin).send({ action: 'retire' }), 'retire');
}
