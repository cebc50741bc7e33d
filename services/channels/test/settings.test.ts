import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { channelsSettings, localDeliveryKeyFile } from '../src/settings';
import { WITH_KEY } from './support/fixtures';

describe('channels settings from the environment', () => {
  it('polls for due deliveries every second unless DELIVERY_POLL_INTERVAL_MS says otherwise', () => {
    expect(channelsSettings(WITH_KEY).deliveryPollIntervalMs).toBe(1000);
    expect(channelsSettings({ ...WITH_KEY, DELIVERY_POLL_INTERVAL_MS: '' }).deliveryPollIntervalMs).toBe(1000);
    expect(channelsSettings({ ...WITH_KEY, DELIVERY_POLL_INTERVAL_MS: '200' }).deliveryPollIntervalMs).toBe(200);
  });

  it('refuses an interval that is not a positive whole number of milliseconds', () => {
    for (const bad of ['0', '-5', 'soon', '1.5'])
      expect(() => channelsSettings({ ...WITH_KEY, DELIVERY_POLL_INTERVAL_MS: bad })).toThrow(
        /DELIVERY_POLL_INTERVAL_MS must be a positive number/,
      );
  });
});

describe('the delivery key (DELIVERY_SECRET_KEY)', () => {
  let data: string;
  beforeEach(() => {
    data = mkdtempSync(join(tmpdir(), 'channels-key-'));
  });
  afterEach(() => rmSync(data, { recursive: true, force: true }));

  it('is required outside local mode', () => {
    expect(() => channelsSettings({})).toThrow(/DELIVERY_SECRET_KEY must be set/);
    expect(() => channelsSettings({ OMNIMALL_LOCAL: 'false', OMNIMALL_DATA: data })).toThrow(/DELIVERY_SECRET_KEY must be set/);
  });

  it('takes 32 bytes as hex or base64 and refuses anything else', () => {
    expect(channelsSettings({ DELIVERY_SECRET_KEY: 'ab'.repeat(32) }).deliveryKey).toEqual(Buffer.alloc(32, 0xab));
    expect(channelsSettings(WITH_KEY).deliveryKey).toEqual(Buffer.alloc(32, 7));
    for (const bad of ['secret', 'ab'.repeat(16), Buffer.alloc(31).toString('base64')])
      expect(() => channelsSettings({ DELIVERY_SECRET_KEY: bad })).toThrow(/DELIVERY_SECRET_KEY must be 32 random bytes/);
  });

  it('in local mode without a setting, is read from .local-data, written there once and kept across starts', () => {
    const env = { OMNIMALL_LOCAL: 'true', OMNIMALL_DATA: data };
    const first = channelsSettings(env).deliveryKey;
    const file = localDeliveryKeyFile(env);
    expect(file).toBe(join(data, 'channels', 'delivery-secret.key'));
    expect(Buffer.from(readFileSync(file, 'utf8'), 'base64')).toEqual(first);
    expect(statSync(file).mode & 0o077).toBe(0); // readable by its owner only
    expect(channelsSettings(env).deliveryKey).toEqual(first); // a restart reads the same key
    // the setting wins over the file
    expect(channelsSettings({ ...env, ...WITH_KEY }).deliveryKey).toEqual(Buffer.alloc(32, 7));
  });
});

describe('retention', () => {
  it('keeps deliveries and notifications 30 days and prunes every 10 minutes by default', () => {
    expect(channelsSettings(WITH_KEY).retention).toEqual({
      deliveryMs: 30 * 86_400_000,
      notificationMs: 30 * 86_400_000,
      pruneIntervalMs: 600_000,
    });
  });

  it('reads DELIVERY_RETENTION_DAYS, NOTIFICATION_RETENTION_DAYS and PRUNE_INTERVAL_MINUTES, fractions included', () => {
    const r = channelsSettings({
      ...WITH_KEY,
      DELIVERY_RETENTION_DAYS: '7',
      NOTIFICATION_RETENTION_DAYS: '0.5',
      PRUNE_INTERVAL_MINUTES: '0.5',
    }).retention;
    expect(r).toEqual({ deliveryMs: 7 * 86_400_000, notificationMs: 43_200_000, pruneIntervalMs: 30_000 });
    for (const name of ['DELIVERY_RETENTION_DAYS', 'NOTIFICATION_RETENTION_DAYS', 'PRUNE_INTERVAL_MINUTES'])
      for (const bad of ['0', '-1', 'forever'])
        expect(() => channelsSettings({ ...WITH_KEY, [name]: bad })).toThrow(new RegExp(`${name} must be a positive number`));
  });
});
