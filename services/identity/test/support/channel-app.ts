/**
 * Customer calls as a channel app makes them: x-channel-code + x-channel-key of a key published on
 * channels.channel-credentials (the kit's testAuth, awaited until identity's trust state has it).
 */
import request from 'supertest';
import { testAuth, type TestAuth } from '@omnimall/service-kit/testing';
import type { RunningIdentity } from '../../src/main';
import { uniqueEmail } from './harness';

export interface ChannelApp {
  auth: TestAuth;
  channel: string;
  headers: Record<string, string>;
}

export async function channelApp(svc: RunningIdentity, channel = 'web'): Promise<ChannelApp> {
  const auth = await testAuth();
  const { apiKey } = await auth.issueChannelKey(channel, { into: svc });
  return { auth, channel, headers: { 'x-channel-code': channel, 'x-channel-key': apiKey } };
}

let n = 0;
const address = (): string => `10.251.${(n >> 8) & 255}.${n++ & 255}`;

export interface SignedIn {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

const signedIn = (body: { customer: { id: string }; tokens: { accessToken: string; refreshToken: string; sessionId: string } }) => ({
  id: body.customer.id,
  accessToken: body.tokens.accessToken,
  refreshToken: body.tokens.refreshToken,
  sessionId: body.tokens.sessionId,
});

/** Registers a customer through the channel app (each from an address of its own: registrations are limited per address). */
export async function registerThrough(svc: RunningIdentity, app: ChannelApp, body: Record<string, unknown> = {}): Promise<SignedIn> {
  const email = uniqueEmail('t');
  const password = 'a-long-password-1';
  const res = await request(svc.app)
    .post('/auth/register')
    .set(app.headers)
    .set('x-forwarded-for', address())
    .send({ email, password, dataRegion: 'eu', ...body });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...signedIn(res.body), email: (body.email as string) ?? email, password: (body.password as string) ?? password };
}

/** Opens another session of a customer through the channel app. */
export async function loginThrough(svc: RunningIdentity, app: ChannelApp, who: { email: string; password: string }): Promise<SignedIn> {
  const res = await request(svc.app)
    .post('/auth/login')
    .set(app.headers)
    .set('x-forwarded-for', address())
    .send({ email: who.email, password: who.password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...signedIn(res.body), email: who.email, password: who.password };
}
