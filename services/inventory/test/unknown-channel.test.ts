/** A channel inventory never heard of is answered as in every service: 404 channel_not_found, with a hint; a known one is served. */
import { uniqueName } from '@omnimall/service-kit/testing';
import request from 'supertest';
import { channelKnown, Simulator, staff, startTestInventory, type InventoryInstance } from './support';

let inv: InventoryInstance;
let sim: Simulator;

beforeAll(async () => {
  sim = await Simulator.start();
  inv = await startTestInventory();
});
afterAll(async () => {
  await inv?.stop();
  await sim?.stop();
});

describe('an unknown channel', () => {
  it('is 404 channel_not_found on every channel route; a known channel is served', async () => {
    const admin = await staff('admin-u', ['admin']);
    const ghost = uniqueName('ghost');
    for (const [method, path] of [
      ['get', `/channels/${ghost}/policy`],
      ['get', `/channels/${ghost}/locations`],
      ['get', `/channels/${ghost}/source`],
      ['delete', `/channels/${ghost}/locations/loc-1`],
    ] as const) {
      const r = await request(inv.app)[method](path).set(admin);
      expect([path, r.status, r.body.code, r.body.details]).toEqual([path, 404, 'channel_not_found', { channel: ghost }]);
      expect(r.body.hint).toEqual(expect.any(String));
    }
    const put = await request(inv.app).put(`/channels/${ghost}/policy`).set(admin).send({});
    expect([put.status, put.body.code]).toEqual([404, 'channel_not_found']);

    const known = uniqueName('web');
    await sim.channel(known);
    await channelKnown(inv, known);
    expect((await request(inv.app).get(`/channels/${known}/policy`).set(admin)).status).toBe(200);
  });
});
