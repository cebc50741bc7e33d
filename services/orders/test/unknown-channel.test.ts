import { checkChannel } from '../src/domain/checkout';

describe('a checkout on a channel orders does not know', () => {
  it('is refused 404 channel_not_found, naming the channel, with a hint and the retry remediation (as every service answers it)', () => {
    let refused: unknown;
    try {
      checkChannel('ghost', null, null);
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({
      status: 404,
      code: 'channel_not_found',
      hint: expect.stringContaining('retry shortly'),
      details: { channel: 'ghost', remediation: 'retry' },
    });
  });
});
