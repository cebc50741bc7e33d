import { channelsSettings } from '../src/settings';

describe('channels settings from the environment', () => {
  it('polls for due deliveries every second unless DELIVERY_POLL_INTERVAL_MS says otherwise', () => {
    expect(channelsSettings({}).deliveryPollIntervalMs).toBe(1000);
    expect(channelsSettings({ DELIVERY_POLL_INTERVAL_MS: '' }).deliveryPollIntervalMs).toBe(1000);
    expect(channelsSettings({ DELIVERY_POLL_INTERVAL_MS: '200' }).deliveryPollIntervalMs).toBe(200);
  });

  it('refuses an interval that is not a positive whole number of milliseconds', () => {
    for (const bad of ['0', '-5', 'soon', '1.5'])
      expect(() => channelsSettings({ DELIVERY_POLL_INTERVAL_MS: bad })).toThrow(/DELIVERY_POLL_INTERVAL_MS must be a positive number/);
  });
});
