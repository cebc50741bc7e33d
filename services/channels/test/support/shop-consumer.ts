/**
 * A stand-in for a service that takes transactions (until cart exists): a separate kit runtime that
 * keeps a projection of channels.channel-changed and refuses a transaction on a channel that is not
 * active or whose commerce is blocked, naming the state and when it is expected back.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Schema } from 'mongoose';
import { appliedEventsPath, ConflictError, createHttpApp, HttpApi, loadPlatformConfig, ServiceRuntime, z } from '@omnimall/service-kit';
import { localKafkaEnv } from '@omnimall/service-kit/testing';

// Not the kit's testing helpers: the benchmark (plain tsx, outside jest) uses this file too.
const unique = (prefix: string): string => `${prefix}_${randomUUID().slice(0, 8)}`;

interface ChannelProjection {
  _id: string;
  appliedEvents: string[];
  state: string;
  blockReasons: string[];
  expectedBackAt: Date | null;
  version: number;
}

export interface Shop {
  runtime: ServiceRuntime;
  url: string;
  server: Server;
  stop(): Promise<void>;
}

export async function startShop(): Promise<Shop> {
  const config = loadPlatformConfig(
    'shop',
    0,
    // on the local secured Kafka: the tooling's principal (a stand-in has none of its own)
    { ...process.env, ...localKafkaEnv('shop', process.env, { fallbackToAdmin: true }), LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
    { dbName: unique('test_shop'), instanceId: unique('shop') },
  );
  const runtime = await ServiceRuntime.start({ config, produces: [] });
  const Projection = runtime.db.model<ChannelProjection>(
    'ChannelProjection',
    new Schema<ChannelProjection>(
      { _id: String, state: String, blockReasons: [String], expectedBackAt: Date, version: Number, ...appliedEventsPath },
      { versionKey: false },
    ),
    'channel_projection',
  );
  await runtime.consume({
    group: unique('shop.channel-projection'),
    dedupe: 'in-document',
    handlers: {
      // Only a newer version moves the projection: an older or replayed event matches nothing
      // (and its upsert collides on _id), which applyOnce reports as a duplicate. No lock: the
      // document is the record's key and only this group writes it, so partition order serialises.
      'channels.channel-changed': async (ev, ctx) => {
        await ctx.applyOnce(
          Projection,
          { _id: ev.code, version: { $lt: ev.envelope.aggregateVersion } },
          {
            $set: {
              state: ev.state,
              blockReasons: ev.blockReasons,
              expectedBackAt: ev.expectedBackAt ? new Date(ev.expectedBackAt) : null,
              version: ev.envelope.aggregateVersion,
            },
          },
          { upsert: true },
        );
      },
    },
  });
  const api = new HttpApi({ title: 'shop (test)', version: '0' }).route({
    method: 'post',
    path: '/transactions',
    summary: 'Take a transaction on a channel',
    body: z.object({ channel: z.string() }),
    responses: { 201: { description: 'Taken' } },
    handler: async ({ body }) => {
      const ch = await Projection.findById(body.channel).lean();
      if (!ch || ch.state !== 'active' || ch.blockReasons.length) {
        const state = ch?.state ?? 'unknown';
        throw new ConflictError(
          'channel_not_active',
          `channel ${body.channel} is ${state}${ch?.blockReasons.length ? ` (blocked: ${ch.blockReasons.join(', ')})` : ''}`,
          ch?.expectedBackAt ? `expected back at ${ch.expectedBackAt.toISOString()}` : 'try another channel',
          { channel: body.channel, state, expectedBackAt: ch?.expectedBackAt ?? null, blockReasons: ch?.blockReasons ?? [] },
        );
      }
      return { status: 201, body: { accepted: true, channel: body.channel } };
    },
  });
  const app = createHttpApp({ service: 'shop', logger: runtime.logger, metrics: runtime.metrics, api });
  const server = await runtime.listen(app);
  const addr = server.address() as { port: number };
  return { runtime, server, url: `http://127.0.0.1:${addr.port}`, stop: () => runtime.stop() };
}
