import { channelOf, channelResponses } from '@omnimall/service-kit';
import { issueDevice } from '../application/devices';
import { ChannelAppHeaders, errors, tags, type Routes } from './common';
import * as S from './schemas';

/**
 * Devices: a channel app (x-channel-code + x-channel-key) asks for a device id and its device token
 * for an anonymous device or installation. The id is identity's choice, random; the token binds it
 * to the app's channel and is the device's proof of possession: anonymous carts are reached with it
 * (x-device-token) and a customer links the device to their account only by showing it.
 */
export function deviceRoutes({ api, ctx, channelApp }: Routes): void {
  api.route({
    method: 'post',
    path: '/devices',
    summary: 'Issue a device id and a device token bound to the channel of the credential (channel app)',
    tags: tags.devices,
    headers: ChannelAppHeaders,
    before: channelApp(),
    // Minting costs a signature and stores nothing; the bound keeps one address from minting without end.
    rateLimit: { points: 300, durationSec: 60 },
    responses: {
      201: { description: 'a new device of the channel', schema: S.DeviceIssued },
      ...channelResponses,
      ...errors([429], 'too many devices asked for from this address (Retry-After)'),
    },
    handler: async ({ res }) => {
      const d = await issueDevice(ctx, channelOf(res)!);
      return { status: 201, body: { deviceId: d.deviceId, deviceToken: d.deviceToken, expiresAt: d.expiresAt.toISOString() } };
    },
  });
}
