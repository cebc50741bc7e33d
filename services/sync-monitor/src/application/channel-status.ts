import type { ChannelChanged } from '@omnimall/contracts';
import type { ServiceRuntime } from '@omnimall/service-kit';
import { feedEntryForChannelChange } from '../domain/status-feed';
import type { ChannelStatusDoc, Store } from '../store/models';
import type { Tracker } from './tracker';

/** The latest state of every channel (by aggregateVersion), and the feed entries its changes cause. */
export class ChannelStatus {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly store: Store,
    private readonly tracker: Tracker,
  ) {}

  async apply(v: ChannelChanged): Promise<boolean> {
    const version = Number(v.envelope.aggregateVersion);
    let before: ChannelStatusDoc | null = null;
    const changed = await this.rt.locks.run(`channels:${v.code}`, async () => {
      before = await this.store.channels.findById(v.code).lean();
      if (before && before.version >= version) return false;
      await this.store.channels.updateOne(
        { _id: v.code },
        {
          $set: {
            name: v.name,
            kind: v.kind,
            state: v.state,
            previousState: v.previousState ?? null,
            blockReasons: [...v.blockReasons],
            expectedBackAt: v.expectedBackAt === null ? null : Number(v.expectedBackAt),
            version,
            updatedAt: Number(v.envelope.occurredAt),
          },
        },
        { upsert: true },
      );
      return true;
    });
    if (!changed) return false;
    const entry = feedEntryForChannelChange(before, v);
    if (entry) await this.tracker.insertFeed([entry]);
    return true;
  }
}
