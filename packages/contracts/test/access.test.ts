import { actsOnChannel, channelScopeRefusal, STAFF_ROLES } from '../src';

describe('staff access rules', () => {
  const manager = { roles: ['channel_manager'], channels: ['kiosk'] };

  it('lets an admin act on every channel and a channel manager only on the channels of their scope', () => {
    expect(actsOnChannel({ roles: ['admin'], channels: [] }, 'web')).toBe(true);
    expect(actsOnChannel(manager, 'kiosk')).toBe(true);
    expect(actsOnChannel(manager, 'web')).toBe(false);
    // A scope without the channel_manager role grants nothing.
    expect(actsOnChannel({ roles: ['seller'], channels: ['web'] }, 'web')).toBe(false);
  });

  it('describes a refusal as the arguments of a 403 naming the channel and the scope', () => {
    expect(channelScopeRefusal(manager, 'kiosk')).toBeUndefined();
    const [code, message, hint, details] = channelScopeRefusal(manager, 'web')!;
    expect(code).toBe('channel_out_of_scope');
    expect(message).toMatch(/may not act on channel web/);
    expect(hint).toMatch(/ask an admin/);
    expect(details).toEqual({ channel: 'web', scope: ['kiosk'] });
  });

  it('names the four staff roles identity grants', () => {
    expect([...STAFF_ROLES].sort()).toEqual(['admin', 'channel_manager', 'compliance_officer', 'seller']);
  });
});
