/**
 * The monitor's storage: one repository per aggregate, built on the runtime's connection. The only
 * place that knows mongoose; everything else sees the repositories' plain interfaces.
 */
import type { ServiceRuntime } from '@omnimall/service-kit';
import { MongoChannelStatusRepository, type ChannelStatusRepository } from './channels';
import { MongoErasureRepository, type ErasureRepository } from './erasures';
import { MongoStatusFeedRepository, type StatusFeedRepository } from './feed';
import { MongoKnownGroupRepository, type KnownGroupRepository } from './known-groups';
import { MongoSnapshotRepository, type SnapshotRepository } from './snapshots';
import { MongoTrackingRepository, type TrackingRepository } from './tracking';

export type { ChannelStatusRepository } from './channels';
export type { EffectOnce, ErasureRecord, ErasureRepository } from './erasures';
export type { StatusFeedRepository } from './feed';
export type { KnownGroupRepository } from './known-groups';
export type { SnapshotRepository } from './snapshots';
export type { ExceptionFilter, TrackingChange, TrackingRepository } from './tracking';

export interface Store {
  tracking: TrackingRepository;
  channels: ChannelStatusRepository;
  feed: StatusFeedRepository;
  groups: KnownGroupRepository;
  erasures: ErasureRepository;
  snapshots: SnapshotRepository;
}

/** Builds the repositories, registers the exceptions collection with the outbox and creates the indexes. */
export async function createStore(runtime: ServiceRuntime): Promise<Store> {
  const db = runtime.db;
  const store = {
    tracking: MongoTrackingRepository.create(db, runtime),
    channels: MongoChannelStatusRepository.create(db, runtime.locks),
    feed: MongoStatusFeedRepository.create(db),
    groups: MongoKnownGroupRepository.create(db),
    erasures: MongoErasureRepository.create(db),
    snapshots: MongoSnapshotRepository.create(db),
  };
  await Promise.all(Object.values(store).map((r) => r.init()));
  return store;
}
