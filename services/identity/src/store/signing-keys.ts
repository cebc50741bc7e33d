import { Schema, type Connection, type Model, type UpdateQuery } from 'mongoose';
import { outboxPaths, withoutOutbox, type Outbox, type OutgoingEvent } from '@omnimall/service-kit';

/**
 * The token keys identity has published on identity.signing-keys, one document per kid with the
 * state last announced. What a start publishes is decided against these documents, so a restart
 * with the same keys publishes nothing, and a key published once and no longer configured is known
 * (and retired). Each change is a compare-and-set through the outbox with its event, so two
 * instances starting at once announce a change once.
 */
export interface PublishedKey {
  /** RFC 7638 thumbprint. */
  _id: string;
  /** The public JWK as JSON (never a private member). */
  jwk: string;
  status: 'active' | 'retired';
  version: number;
  changedAt: Date;
}

export interface SigningKeyRepository {
  all(): Promise<PublishedKey[]>;
  /**
   * Decides on the key's document (null: none yet) and writes the decision with its events if the
   * document is unchanged meanwhile (else decides again); null from `decide` writes nothing.
   */
  transact(
    kid: string,
    decide: (current: PublishedKey | null) => { set: Omit<PublishedKey, '_id'>; events: readonly OutgoingEvent[] } | null,
  ): Promise<void>;
}

export function signingKeyModel(db: Connection, outbox: Outbox): Model<PublishedKey> {
  const schema = new Schema<PublishedKey>(
    { _id: String, jwk: String, status: String, version: Number, changedAt: Date, ...outboxPaths },
    { versionKey: false },
  );
  return outbox.track((db.models.SigningKey as Model<PublishedKey>) ?? db.model<PublishedKey>('SigningKey', schema, 'signing_keys'));
}

export function signingKeyRepository(Key: Model<PublishedKey>, outbox: Outbox): SigningKeyRepository {
  return {
    async all() {
      return (await Key.find({}).lean()).map((k) => withoutOutbox(k) as PublishedKey);
    },
    async transact(kid, decide) {
      await outbox.transact(
        Key,
        kid,
        (current) => {
          const change = decide(current ? (withoutOutbox(current) as PublishedKey) : null);
          return change && { update: { $set: change.set } as UpdateQuery<PublishedKey>, events: change.events };
        },
        { upsert: true },
      );
    },
  };
}
