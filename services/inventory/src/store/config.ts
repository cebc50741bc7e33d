import type { EventContext } from '@omnimall/service-kit';
import { DEFAULT_POLICY } from '../domain/availability';
import type { ChannelInfo, ChannelPolicy, Exception, World } from '../domain/types';
import type { ChannelDoc, ExceptionDoc, InventoryModels, LinkDoc, LocationDoc, PolicyDoc, SkuDoc } from './schemas';

/**
 * What availability reads besides the stock: locations, their links to channels, each channel's
 * policy, the business exceptions, and the projections of channels (state, master channel) and of
 * the catalogue (who sells a SKU). All small; read whole into a World (see application/world.ts).
 */
export type Location = Omit<LocationDoc, '_id'> & { id: string };
export type Link = Omit<LinkDoc, '_id'>;
export type StoredPolicy = ChannelPolicy & { channel: string; updatedBy: string | null; updatedAt: number | null };

export interface ConfigRepository {
  locations(): Promise<Location[]>;
  location(id: string): Promise<Location | null>;
  saveLocation(loc: Location): Promise<void>;
  links(channel?: string): Promise<Link[]>;
  saveLink(link: Link): Promise<void>;
  removeLink(channel: string, locationId: string): Promise<boolean>;
  policy(channel: string): Promise<StoredPolicy>;
  savePolicy(channel: string, policy: ChannelPolicy, by: string): Promise<void>;
  exceptions(): Promise<Exception[]>;
  exception(id: string): Promise<Exception | null>;
  saveException(e: Exception): Promise<void>;
  removeException(id: string): Promise<boolean>;
  channel(code: string): Promise<ChannelInfo | null>;
  /** Writes a channel's projection at `version`, once per event, never backwards. */
  projectChannel(ctx: Pick<EventContext, 'applyOnce'>, info: ChannelInfo, version: number): Promise<void>;
  /** Who sells a SKU (null: not known to the catalogue yet). */
  sellerOf(sku: string): Promise<string | null>;
  projectSku(ctx: Pick<EventContext, 'applyOnce'>, sku: string, sellerId: string | null, channel: string): Promise<void>;
  /** Everything availability reads, as of `now`. */
  world(now: number): Promise<World>;
}

const strip = <T extends { _id: string }>(d: T): Omit<T, '_id'> => {
  const { _id, ...rest } = d;
  return rest;
};

const policyOf = (d: PolicyDoc): ChannelPolicy => ({
  source: d.source,
  allocation: d.allocation,
  lowStock: d.lowStock,
  displayFloor: d.displayFloor,
  backorder: d.backorder,
  maxPerOrder: d.maxPerOrder ?? null,
});

const exceptionOf = (d: ExceptionDoc): Exception => ({ ...strip(d), id: d._id }) as Exception;

export class MongoConfigRepository implements ConfigRepository {
  constructor(private readonly m: Pick<InventoryModels, 'Location' | 'Link' | 'Policy' | 'Exception' | 'Channel' | 'Sku'>) {}

  async locations(): Promise<Location[]> {
    const docs = await this.m.Location.find({}).sort({ _id: 1 }).lean<LocationDoc[]>();
    return docs.map((d) => ({ ...strip(d), id: d._id }));
  }

  async location(id: string): Promise<Location | null> {
    const d = await this.m.Location.findById(id).lean<LocationDoc>();
    return d ? { ...strip(d), id: d._id } : null;
  }

  async saveLocation(loc: Location): Promise<void> {
    const { id, ...rest } = loc;
    await this.m.Location.replaceOne({ _id: id }, { _id: id, ...rest }, { upsert: true });
  }

  async links(channel?: string): Promise<Link[]> {
    const docs = await this.m.Link.find(channel ? { channel } : {}).lean<LinkDoc[]>();
    return docs.map(strip).sort((a, b) => a.channel.localeCompare(b.channel) || a.priority - b.priority);
  }

  async saveLink(link: Link): Promise<void> {
    const _id = `${link.channel}:${link.locationId}`;
    await this.m.Link.replaceOne({ _id }, { _id, ...link }, { upsert: true });
  }

  async removeLink(channel: string, locationId: string): Promise<boolean> {
    return (await this.m.Link.deleteOne({ _id: `${channel}:${locationId}` })).deletedCount === 1;
  }

  async policy(channel: string): Promise<StoredPolicy> {
    const d = await this.m.Policy.findById(channel).lean<PolicyDoc>();
    return d
      ? { ...policyOf(d), channel, updatedBy: d.updatedBy, updatedAt: d.updatedAt }
      : { ...DEFAULT_POLICY, channel, updatedBy: null, updatedAt: null };
  }

  async savePolicy(channel: string, policy: ChannelPolicy, by: string): Promise<void> {
    await this.m.Policy.replaceOne({ _id: channel }, { _id: channel, ...policy, updatedBy: by, updatedAt: Date.now() }, { upsert: true });
  }

  async exceptions(): Promise<Exception[]> {
    const docs = await this.m.Exception.find({}).sort({ createdAt: 1 }).lean<ExceptionDoc[]>();
    return docs.map(exceptionOf);
  }

  async exception(id: string): Promise<Exception | null> {
    const d = await this.m.Exception.findById(id).lean<ExceptionDoc>();
    return d ? exceptionOf(d) : null;
  }

  async saveException(e: Exception): Promise<void> {
    const { id, ...rest } = e;
    await this.m.Exception.replaceOne({ _id: id }, { _id: id, ...rest }, { upsert: true });
  }

  async removeException(id: string): Promise<boolean> {
    return (await this.m.Exception.deleteOne({ _id: id })).deletedCount === 1;
  }

  async channel(code: string): Promise<ChannelInfo | null> {
    const d = await this.m.Channel.findById(code).lean<ChannelDoc>();
    return d ? { code: d._id, state: d.state, masterChannel: d.masterChannel ?? null } : null;
  }

  async projectChannel(ctx: Pick<EventContext, 'applyOnce'>, info: ChannelInfo, version: number): Promise<void> {
    await ctx.applyOnce(
      this.m.Channel,
      { _id: info.code, aggregateVersion: { $lt: version } },
      { $set: { code: info.code, state: info.state, masterChannel: info.masterChannel, aggregateVersion: version } },
      { upsert: true },
    );
  }

  async sellerOf(sku: string): Promise<string | null> {
    const d = await this.m.Sku.findById(sku, { sellerId: 1 }).lean<SkuDoc>();
    return d?.sellerId ?? null;
  }

  async projectSku(ctx: Pick<EventContext, 'applyOnce'>, sku: string, sellerId: string | null, channel: string): Promise<void> {
    await ctx.applyOnce(this.m.Sku, { _id: sku }, { $set: { sellerId }, $addToSet: { channels: channel } }, { upsert: true });
  }

  async world(now: number): Promise<World> {
    const [channels, links, policies, exceptions, locations] = await Promise.all([
      this.m.Channel.find({}, { appliedEvents: 0 }).lean<ChannelDoc[]>(),
      this.m.Link.find({}).lean<LinkDoc[]>(),
      this.m.Policy.find({}).lean<PolicyDoc[]>(),
      this.m.Exception.find({}).lean<ExceptionDoc[]>(),
      this.m.Location.find({}, { active: 1 }).lean<Pick<LocationDoc, '_id' | 'active'>[]>(),
    ]);
    // A deactivated location's stock is sold by no channel.
    const active = new Set(locations.filter((l) => l.active !== false).map((l) => l._id));
    const byChannel = new Map<string, { locationId: string; priority: number }[]>();
    for (const l of links) {
      if (!active.has(l.locationId)) continue;
      const list = byChannel.get(l.channel) ?? [];
      list.push({ locationId: l.locationId, priority: l.priority });
      byChannel.set(l.channel, list);
    }
    for (const list of byChannel.values()) list.sort((a, b) => a.priority - b.priority || a.locationId.localeCompare(b.locationId));
    return {
      channels: new Map(channels.map((c) => [c._id, { code: c._id, state: c.state, masterChannel: c.masterChannel ?? null }])),
      links: byChannel,
      policies: new Map(policies.map((p) => [p._id, policyOf(p)])),
      exceptions: exceptions.map(exceptionOf),
      now,
    };
  }
}
