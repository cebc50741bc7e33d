import { randomBytes } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '@omnimall/service-kit/errors';
import type { TokenVerifier } from '@omnimall/service-kit';
import type { IdentityContext } from './context';

/**
 * Device tokens: an anonymous device or app installation of a channel is given a random id chosen
 * here (never by the client) and a token binding that id to the channel (the kit's `signDevice`:
 * audience `omnimall-device`, so it is never accepted as a bearer token). Nothing is stored: the
 * signed token is the device's proof of possession. A customer links a device to their account only
 * by showing its token, so nobody can claim another person's device id (and with it their anonymous cart).
 */
export interface IssuedDevice {
  deviceId: string;
  deviceToken: string;
  expiresAt: Date;
}

/** 128 random bits, base64url: a valid external id (no spaces or colons) nobody can guess. */
const newDeviceId = (): string => `dev_${randomBytes(16).toString('base64url')}`;

/** Issues a device id and its token for `channel` (the channel credential the request came with). */
export async function issueDevice(ctx: IdentityContext, channel: string): Promise<IssuedDevice> {
  const ttl = ctx.settings.deviceTokenTtlSeconds;
  const deviceId = newDeviceId();
  const deviceToken = await ctx.signer.signDevice({ deviceId, channel }, ttl);
  return { deviceId, deviceToken, expiresAt: new Date(Date.now() + ttl * 1000) };
}

/**
 * The device a device token proves, for a request on `channel`: 401 `device_token_invalid` for a
 * token that does not verify (forged, expired, a bearer token), 403 `channel_mismatch` for a device
 * of another channel.
 */
export async function provenDevice(verifier: TokenVerifier, token: string, channel: string): Promise<{ deviceId: string }> {
  let device: { deviceId: string; channel: string };
  try {
    device = await verifier.verifyDevice(token);
  } catch (err) {
    throw new UnauthorizedError(
      'device_token_invalid',
      `the device token was refused: ${(err as Error).message}`,
      'send the deviceToken POST /devices issued to this device (ask for a new one once it expired)',
    );
  }
  if (device.channel !== channel)
    throw new ForbiddenError(
      'channel_mismatch',
      `this device token belongs to channel ${device.channel}, not ${channel}`,
      'send the device token issued through the same channel as the request',
      { channel, deviceChannel: device.channel },
    );
  return { deviceId: device.deviceId };
}
