import type { Collection, FilterQuery, Model } from 'mongoose';
import { consentId, type MarketingConsent } from '../domain/consents';
import type { EffectOnce } from '@omnimall/service-kit';
import type { ConsentDoc } from './schemas';

/**
 * The customers' marketing consents (collection `consents`, one document per customer and channel,
 * keyed `<customerId>:<channel>`): a projection of identity.consent-changed where the newest
 * `changedAt` wins (the customer's version breaks a tie), so a late or replayed event never moves it
 * back. Read by key only (FerretDB reads the whole collection for any other filter); an erasure's
 * removal reads by `customerId`, once per erased customer.
 */
export interface ConsentRepository {
  /** Writes a consent at most once per event, unless a newer one is stored; returns whether it was written. */
  project(once: EffectOnce, consent: MarketingConsent): Promise<boolean>;
  /** The keys (consentId) among these customer–channel pairs whose marketing consent is given, with one read. */
  marketingGiven(pairs: readonly { customerId: string; channel: string }[]): Promise<Set<string>>;
  /** Removes every consent of a customer (an erasure); returns how many. */
  forget(customerId: string): Promise<number>;
  /** One stored consent, or null. */
  get(customerId: string, channel: string): Promise<MarketingConsent | null>;
}

export class MongoConsents implements ConsentRepository {
  private readonly collection: Collection<ConsentDoc>;

  constructor(private readonly model: Model<ConsentDoc>) {
    this.collection = model.db.collection<ConsentDoc>(model.collection.collectionName);
  }

  project(once: EffectOnce, c: MarketingConsent): Promise<boolean> {
    const filter: FilterQuery<ConsentDoc> = {
      _id: consentId(c.customerId, c.channel),
      $or: [{ changedAt: { $lt: c.changedAt } }, { changedAt: c.changedAt, version: { $lt: c.version } }],
    };
    return once.applyOnce(this.model, filter, { $set: { ...c } }, { upsert: true });
  }

  async marketingGiven(pairs: readonly { customerId: string; channel: string }[]): Promise<Set<string>> {
    if (!pairs.length) return new Set();
    const ids = [...new Set(pairs.map((p) => consentId(p.customerId, p.channel)))];
    const docs = await this.collection.find({ _id: { $in: ids }, marketing: true }, { projection: { _id: 1 } }).toArray();
    return new Set(docs.map((d) => d._id));
  }

  async forget(customerId: string): Promise<number> {
    return (await this.collection.deleteMany({ customerId })).deletedCount;
  }

  async get(customerId: string, channel: string): Promise<MarketingConsent | null> {
    const d = await this.collection.findOne({ _id: consentId(customerId, channel) });
    return d ? { customerId: d.customerId, channel: d.channel, marketing: d.marketing, changedAt: d.changedAt, version: d.version } : null;
  }
}
