/** A channel's accepted override: excluded, another reward or other dates, lapsing at `until`. */
import { forChannel, promotionsFor, type ChannelOverride, type PublishedPromotion } from '../src';
import { line, price, promo, T0 } from './fixtures';

const HOUR = 3_600_000;
const override = (over: Partial<ChannelOverride>): ChannelOverride => ({
  channel: 'app',
  excluded: false,
  reward: null,
  startsAt: null,
  endsAt: null,
  until: null,
  ...over,
});
const published = (overrides: ChannelOverride[], exhausted = false): PublishedPromotion => ({
  promotion: promo('p', { startsAt: T0, endsAt: T0 + HOUR }),
  overrides,
  exhausted,
});
const total = (p: PublishedPromotion, channel: string, at: number): number =>
  price(promotionsFor([p], channel, at), [line('A', 1, 1000)], { at, channel: { code: channel, kind: 'web' } }).totalMinor;

describe('a promotion as one channel sees it', () => {
  it('is the global definition on a channel without an override', () => {
    const p = published([override({ excluded: true })]);
    expect(forChannel(p, 'web', T0)).toBe(p.promotion);
    expect(total(p, 'web', T0)).toBe(900);
  });

  it('is absent on an excluded channel until the exclusion lapses', () => {
    const p = published([override({ excluded: true, until: T0 + 10 })]);
    expect(forChannel(p, 'app', T0 + 9)).toBeNull();
    expect(total(p, 'app', T0 + 9)).toBe(1000);
    expect(total(p, 'app', T0 + 10)).toBe(900);
  });

  it('takes the channel’s reward and dates in place of the global ones', () => {
    const p = published([override({ reward: { kind: 'percentage', percent: 25 }, startsAt: T0 + HOUR / 2 })]);
    expect(total(p, 'app', T0)).toBe(1000);
    expect(total(p, 'app', T0 + HOUR / 2)).toBe(750);
    expect(total(p, 'web', T0)).toBe(900);
  });

  it('applies nowhere once the budget is exhausted', () => {
    const p = published([], true);
    expect(promotionsFor([p], 'web', T0)).toEqual([]);
    expect(total(p, 'web', T0)).toBe(1000);
  });
});
