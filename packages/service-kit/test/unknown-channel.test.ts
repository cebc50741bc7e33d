import request from 'supertest';
import { channelNotFound, channelNotFoundResponse, createHttpApp, createLogger, HttpApi, ServiceMetrics, z } from '../src';

describe('the one answer to an unknown channel', () => {
  const api = new HttpApi({ title: 'unknown channel', version: '1.0.0' }, { rateLimit: false }).route({
    method: 'get',
    path: '/channels/:code/things',
    summary: 'things of a channel no one knows',
    params: z.object({ code: z.string() }),
    responses: { 200: { description: 'never' }, ...channelNotFoundResponse },
    handler: async ({ params }) => {
      throw channelNotFound(params.code, 'the things service');
    },
  });
  const app = createHttpApp({ service: 'things', logger: createLogger('things', 'error'), metrics: new ServiceMetrics('things'), api });

  it('is 404 channel_not_found with the channel in details and a hint, documented in OpenAPI', async () => {
    const res = await request(app).get('/channels/ghost/things');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      code: 'channel_not_found',
      message: 'there is no channel ghost known to the things service',
      hint: expect.stringContaining('GET /channels on the channels service'),
      details: { channel: 'ghost' },
    });
    const doc = (await request(app).get('/openapi.json')).body.paths['/channels/{code}/things'].get;
    expect(doc.responses['404'].description).toMatch(/^channel_not_found/);
  });
});
