/**
 * Findings 10 and 12 of issue 17, the kit's part: rate limits per caller with 429 and Retry-After,
 * security headers on every response, and correlation ids kept only when safe.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { createHttpApp, createLogger, HttpApi, newEnvelope, requireAuth, ServiceMetrics, type RateLimit, type RouteSpec } from '../src';
import { bearer, testTokens } from '../src/testing';

const logger = createLogger('kit-test', 'error');

/** A route answering 200 `{ ok: true }`, with whatever else the test sets. */
const okRoute = (method: 'get' | 'post', path: string, extra: Partial<RouteSpec<unknown, unknown, unknown>> = {}) => ({
  method,
  path,
  summary: path,
  responses: { 200: { description: 'ok' } },
  handler: async () => ({ body: { ok: true } }),
  ...extra,
});

async function app(opts: { limit?: RateLimit | false; extend?: (a: express.Express) => void } = {}) {
  const { verifier } = await testTokens();
  const tight: RateLimit = { points: 2, durationSec: 60, group: 'auth' };
  const api = new HttpApi({ title: 'kit test', version: '1.0.0' }, { rateLimit: opts.limit })
    .route(okRoute('get', '/open'))
    .route(okRoute('get', '/mine', { auth: true, before: [requireAuth(verifier, { kind: 'customer' })] }))
    .route(okRoute('post', '/login', { rateLimit: tight }))
    .route(okRoute('post', '/register', { rateLimit: tight }))
    .route(okRoute('get', '/unlimited', { rateLimit: false }))
    .route(
      okRoute('get', '/failing', {
        handler: async () => {
          throw new Error('a bug');
        },
      }),
    );
  return createHttpApp({ service: 'kit-test', logger, metrics: new ServiceMetrics('kit-test'), api, extend: opts.extend });
}

describe('rate limits', () => {
  it('answers 429 rate_limited with Retry-After and a hint once a caller is over its budget', async () => {
    const a = await app();
    expect((await request(a).post('/login')).status).toBe(200);
    expect((await request(a).post('/login')).status).toBe(200);
    const res = await request(a).post('/login');
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ code: 'rate_limited', details: { retryAfterSeconds: expect.any(Number) } });
    expect(res.body.hint).toMatch(/Retry-After/);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('shares one budget between the routes of a group', async () => {
    const a = await app();
    expect((await request(a).post('/login')).status).toBe(200);
    expect((await request(a).post('/register')).status).toBe(200);
    expect((await request(a).post('/register')).status).toBe(429);
  });

  it('counts each verified principal on its own budget', async () => {
    const a = await app({ limit: { points: 2, durationSec: 60 } });
    const alice = await bearer({ sub: 'alice', kind: 'customer' });
    const bob = await bearer({ sub: 'bob', kind: 'customer' });
    for (let i = 0; i < 2; i++) expect((await request(a).get('/mine').set('authorization', alice)).status).toBe(200);
    expect((await request(a).get('/mine').set('authorization', alice)).status).toBe(429);
    expect((await request(a).get('/mine').set('authorization', bob)).status).toBe(200);
  });

  it('charges requests with a refused token to their address, so random tokens get no fresh budget', async () => {
    const a = await app({ limit: { points: 2, durationSec: 60 } });
    const forged = (n: number) => `Bearer not-a-token-${n}`;
    expect((await request(a).get('/mine').set('authorization', forged(1))).status).toBe(401);
    expect((await request(a).get('/mine').set('authorization', forged(2))).status).toBe(401);
    const res = await request(a).get('/mine').set('authorization', forged(3));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('applies the default limit to routes without their own, and none where a route says false', async () => {
    const a = await app({ limit: { points: 1, durationSec: 60 } });
    expect((await request(a).get('/open')).status).toBe(200);
    expect((await request(a).get('/open')).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await request(a).get('/unlimited')).status).toBe(200);
  });

  it('documents 429 with Retry-After on every limited route, and only there', async () => {
    const doc = (await request(await app()).get('/openapi.json')).body;
    const tooMany = doc.paths['/login'].post.responses['429'];
    expect(tooMany.description).toMatch(/2 per 60 s/);
    expect(tooMany.headers['Retry-After'].schema.type).toBe('integer');
    expect(doc.paths['/open'].get.responses['429'].headers['Retry-After']).toBeDefined();
    expect(doc.paths['/unlimited'].get.responses['429']).toBeUndefined();
  });
});

describe('security headers', () => {
  it('puts helmet headers with a strict CSP on API answers, errors and unknown routes alike', async () => {
    const a = await app();
    for (const res of [
      await request(a).get('/open'),
      await request(a).get('/failing'),
      await request(a).get('/nope'),
      await request(a).get('/healthz'),
    ]) {
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=31536000/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it("lets the sync-monitor's dashboard load: only its own files, no inline script or style", async () => {
    const publicDir = join(__dirname, '..', '..', '..', 'services', 'sync-monitor', 'public');
    const html = readFileSync(join(publicDir, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/dashboard\/[\w.-]+"/); // same origin: script-src 'self'
      expect(body.trim()).toBe(''); // no inline script
    }
    expect(html).toMatch(/<link rel="stylesheet" href="\/dashboard\/[\w.-]+"/); // style-src 'self'
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i); // no inline style or handler
    const js = readFileSync(join(publicDir, 'app.js'), 'utf8');
    expect(js).not.toMatch(/\beval\(|new Function\(|\.innerHTML\s*=|setAttribute\(\s*['"](style|on)/);

    const served = await await app({ extend: (a) => a.get('/dashboard/', (_req, res) => res.type('html').send(html)) });
    const res = await request(served).get('/dashboard/');
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(/style-src 'self'/);
    expect(res.headers['content-security-policy']).toMatch(/connect-src 'self'/);
  });
});

describe('correlation ids', () => {
  it('keeps a safe x-correlation-id and echoes it', async () => {
    const res = await request(await app())
      .get('/open')
      .set('x-correlation-id', 'req-42:a_b.c');
    expect(res.headers['x-correlation-id']).toBe('req-42:a_b.c');
  });

  it.each([
    ['longer than 128 characters', 'a'.repeat(129)],
    ['with characters outside the safe set', 'abc<script>'],
    ['with spaces', 'two words'],
  ])('replaces one %s with a fresh id, never echoing it', async (_what, unsafe) => {
    const res = await request(await app())
      .get('/failing')
      .set('x-correlation-id', unsafe);
    const given = res.headers['x-correlation-id'];
    expect(given).not.toBe(unsafe);
    expect(given).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.hint).toContain(given);
    expect(res.text).not.toContain(unsafe);
  });

  it('bounds the correlation id the kit copies into an event envelope', () => {
    const base = { type: 't', producer: 'p', aggregateId: 'a', aggregateVersion: 1 };
    expect(newEnvelope({ ...base, correlationId: 'x'.repeat(128) }).correlationId).toBe('x'.repeat(128));
    const replaced = newEnvelope({ ...base, correlationId: 'x'.repeat(5000) }).correlationId;
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    expect(newEnvelope({ ...base, correlationId: 'a\r\nb' }).correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
