import { Schema, type Model } from 'mongoose';
import { appliedEventsPath, ForbiddenError, type ServiceRuntime } from '@omnimall/service-kit';
import type { CustomerStanding } from '@omnimall/contracts';

/**
 * What any other service does with identity.customer-status (cart, channels, catalog-sync): keep a
 * local projection of each customer's standing (newest aggregateVersion wins) and refuse what a
 * banned, suspended or erased customer attempts, without calling identity.
 *
 * The projection is durable (one document per customer, written effect-once through the kit) and
 * read through an in-process map that the handler updates as soon as the event arrives, so the hot
 * path "may this customer act?" costs no database round trip; after a restart the map is filled
 * from the documents on first read.
 */
interface StandingDoc {
  _id: string;
  status: CustomerStanding;
  until: number | null;
  version: number;
  appliedEvents: string[];
}

type Known = Pick<StandingDoc, 'status' | 'until' | 'version'>;

export class StandingProjection {
  private readonly memory = new Map<string, Known>();
  private readonly listeners = new Set<(customerId: string) => void>();

  private constructor(
    private readonly model: Model<StandingDoc>,
    /** Per customer, the last event seen: its commit time (occurredAt), when it arrived, when it was persisted. */
    readonly applied: Map<string, { status: CustomerStanding; occurredAt: number; receivedAt: number; appliedAt: number }>,
  ) {}

  static async start(rt: ServiceRuntime, group: string): Promise<StandingProjection> {
    const schema = new Schema<StandingDoc>(
      { _id: String, status: String, until: Number, version: Number, ...appliedEventsPath },
      { versionKey: false },
    );
    const model =
      (rt.db.models.CustomerStanding as Model<StandingDoc>) ?? rt.db.model<StandingDoc>('CustomerStanding', schema, 'customer_standing');
    const projection = new StandingProjection(model, new Map());
    await rt.consume({
      group,
      dedupe: 'in-document',
      handlers: {
        'identity.customer-status': async (value, ctx) => {
          const receivedAt = Date.now();
          const version = value.envelope.aggregateVersion;
          projection.remember(value.customerId, { status: value.status, until: value.until, version });
          const changed = await ctx.applyOnce(
            model,
            { _id: value.customerId, version: { $lt: version } },
            { $set: { status: value.status, until: value.until, version } },
            { upsert: true },
          );
          if (changed)
            projection.applied.set(value.customerId, {
              status: value.status,
              occurredAt: value.envelope.occurredAt,
              receivedAt,
              appliedAt: Date.now(),
            });
        },
      },
    });
    return projection;
  }

  /** Keeps the newest standing per customer (an older or replayed event never moves it back). */
  private remember(id: string, s: Known): void {
    const known = this.memory.get(id);
    if (!known || known.version < s.version) {
      this.memory.set(id, s);
      for (const l of this.listeners) l(id);
    }
  }

  /** Calls `listener` whenever a customer's standing changes here; returns the unsubscribe. */
  onChange(listener: (customerId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async standing(id: string): Promise<Known | null> {
    const known = this.memory.get(id);
    if (known) return known;
    const doc = await this.model.findById(id, { status: 1, until: 1, version: 1 }).lean();
    if (doc) this.remember(id, doc);
    return doc;
  }

  /** The local decision: throws 403 when the projection says the customer may not act. */
  async assertMayAct(customerId: string, now = Date.now()): Promise<void> {
    const s = await this.standing(customerId);
    if (!s) return;
    const suspended = s.status === 'suspended' && (s.until === null || s.until > now);
    if (s.status === 'banned' || s.status === 'erased' || suspended) {
      throw new ForbiddenError(`customer_${s.status}`, `customer ${customerId} is ${s.status}`, 'contact support');
    }
  }

  async refuses(customerId: string): Promise<boolean> {
    try {
      await this.assertMayAct(customerId);
      return false;
    } catch (err) {
      if (err instanceof ForbiddenError) return true;
      throw err;
    }
  }

  /** The durable copy (what a restarted instance would read). */
  stored(customerId: string): Promise<Known | null> {
    return this.model.findById(customerId, { status: 1, until: 1, version: 1 }).lean();
  }
}
