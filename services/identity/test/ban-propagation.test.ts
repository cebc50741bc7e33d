import request from 'supertest';
import { ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { RunningIdentity } from '../src/main';
import { adminToken, registerCustomer, startTestIdentity } from './support/harness';
import { StandingProjection } from './support/standing-projection';

/**
 * Another service built on the shared kit (as cart or channels are) keeps its own projection of
 * identity.customer-status and refuses what a banned or suspended customer attempts, without
 * calling identity. This is the cross-service half of the 2-second entitlement requirement.
 */
describe('ban propagation to another service', () => {
  let svc: RunningIdentity;
  let other: ServiceRuntime;
  let projection: StandingProjection;
  let admin: string;
  beforeAll(async () => {
    svc = await startTestIdentity();
    other = await ServiceRuntime.start({ config: testConfig('cart-sim'), produces: [] });
    projection = await StandingProjection.start(other, uniqueName('cart-sim.customer-standing'));
    admin = await adminToken(svc);
  });
  afterAll(async () => {
    await other?.stop();
    await svc?.stop();
  });

  it('refuses a banned customer after the ban, and serves them again after reinstatement', async () => {
    const c = await registerCustomer(svc);
    await waitFor(() => projection.applied.get(c.id)?.status === 'active', 'the registration to reach the projection');
    expect(await projection.refuses(c.id)).toBe(false);

    const ban = await request(svc.app).post(`/admin/customers/${c.id}/ban`).set('authorization', admin).send({ reason: 'fraud ring' });
    expect(ban.status).toBe(200);
    await waitFor(() => projection.refuses(c.id), 'the other service to refuse the banned customer', 2000, 5);
    await expect(projection.assertMayAct(c.id)).rejects.toMatchObject({ status: 403, code: 'customer_banned' });
    const persisted = await waitFor(
      async () => (await projection.stored(c.id))?.status === 'banned',
      'the durable projection to record the ban',
    );
    expect(persisted).toBe(true);

    await request(svc.app).post(`/admin/customers/${c.id}/reinstate`).set('authorization', admin).send({ reason: 'appeal upheld' });
    await waitFor(async () => !(await projection.refuses(c.id)), 'the reinstatement to reach the projection', 2000, 5);

    await request(svc.app)
      .post(`/admin/customers/${c.id}/suspend`)
      .set('authorization', admin)
      .send({ reason: 'cool-off', until: Date.now() + 60_000 });
    await waitFor(() => projection.refuses(c.id), 'the suspension to reach the projection', 2000, 5);
    await expect(projection.assertMayAct(c.id)).rejects.toMatchObject({ code: 'customer_suspended' });
  });

  it('ignores an older standing replayed after a newer one', async () => {
    const c = await registerCustomer(svc);
    await request(svc.app).post(`/admin/customers/${c.id}/ban`).set('authorization', admin).send({ reason: 'abuse' });
    await waitFor(() => projection.refuses(c.id), 'the ban', 2000, 5);
    // Replay the registration (version 1) as a new delivery: the projection must keep the ban (version 2).
    const { customerStatusChanged } = await import('../src/events/out/customer');
    const stale = customerStatusChanged({ ...(await svc.store.customers.get(c.id))!, status: 'active', version: 1 }, 'registered');
    await svc.runtime.publisher.publish([stale]);
    const marker = customerStatusChanged({ ...(await svc.store.customers.get(c.id))!, version: 3 }, 'tier_changed');
    await svc.runtime.publisher.publish([marker]);
    await waitFor(async () => (await projection.stored(c.id))?.version === 3, 'the marker after the stale event');
    expect(await projection.refuses(c.id)).toBe(true);
    expect((await projection.stored(c.id))?.status).toBe('banned');
  });
});
