/** The channels service's webhook settings (the rules themselves are the kit's, tested there). */
import { channelsSettings } from '../src/settings';
import { WITH_KEY } from './support/fixtures';

describe('webhook settings from the environment', () => {
  it('defaults to https only, public addresses only and 10 endpoints per channel', () => {
    expect(channelsSettings(WITH_KEY).webhooks).toEqual({ allowHttp: false, allowPrivate: [], maxEndpointsPerChannel: 10 });
  });

  it('reads local mode, the allow-list and the cap', () => {
    expect(
      channelsSettings({
        ...WITH_KEY,
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_ALLOW_PRIVATE: '127.0.0.1',
        WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL: '3',
      }).webhooks,
    ).toEqual({ allowHttp: true, allowPrivate: ['127.0.0.1/32'], maxEndpointsPerChannel: 3 });
    expect(() => channelsSettings({ ...WITH_KEY, WEBHOOK_ALLOW_HTTP: 'yes please' })).toThrow(/WEBHOOK_ALLOW_HTTP must be true or false/);
    expect(() => channelsSettings({ ...WITH_KEY, WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL: '0' })).toThrow(/WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL/);
  });
});
