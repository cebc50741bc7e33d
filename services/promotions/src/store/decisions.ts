import type { Connection, Model } from 'mongoose';
import { outboxPaths, type OutgoingEvent, type Outbox } from '@omnimall/service-kit';
import type { OverrideDecision } from '../domain/overrides';
import { model } from './models';

/** `overrideDecisions`: the evidence of every override decision, append-only  _id decisionId. */
export type DecisionDoc = OverrideDecision & { _id: string };

export interface DecisionRepository {
  /** Writes a decision with its events through the outbox (a refusal: nothing else changes). */
  record(d: OverrideDecision, events: readonly OutgoingEvent[]): Promise<void>;
  /** The evidence of a decision already announced by the promotion's own write (idempotent by id). */
  save(d: OverrideDecision): Promise<void>;
  byPromotion(promotionId: string, limit: number): Promise<OverrideDecision[]>;
  byChannel(channel: string, limit: number): Promise<OverrideDecision[]>;
}

const toDecision = ({ _id, ...d }: DecisionDoc): OverrideDecision => ({
  decisionId: _id,
  promotionId: d.promotionId,
  channel: d.channel,
  decision: d.decision,
  fields: d.fields ?? [],
  actor: d.actor,
  before: d.before ?? null,
  after: d.after ?? null,
  rule: d.rule,
  reason: d.reason ?? null,
  refusal: d.refusal ?? null,
  decidedAt: d.decidedAt,
});

const fields = { outbox: 0, outboxCount: 0, writeRev: 0 };

export function decisionModel(db: Connection): Model<DecisionDoc> {
  return model<DecisionDoc>(
    db,
    'OverrideDecision',
    {
      _id: String,
      decisionId: String,
      promotionId: String,
      channel: String,
      decision: String,
      fields: [String],
      actor: String,
      before: { type: Object, default: null },
      after: { type: Object, default: null },
      rule: String,
      reason: { type: String, default: null },
      refusal: { type: String, default: null },
      decidedAt: Number,
      ...outboxPaths,
    },
    'overrideDecisions',
  );
}

export class MongoDecisionRepository implements DecisionRepository {
  constructor(
    private readonly model: Model<DecisionDoc>,
    private readonly outbox: Outbox,
  ) {}

  async record(d: OverrideDecision, events: readonly OutgoingEvent[]): Promise<void> {
    await this.outbox.transact(this.model, d.decisionId, (cur) => (cur ? null : { update: { $set: { ...d } }, events }), {
      assumeNew: true,
    });
  }

  async save(d: OverrideDecision): Promise<void> {
    await this.model.updateOne({ _id: d.decisionId }, { $setOnInsert: { ...d } }, { upsert: true });
  }

  async byPromotion(promotionId: string, limit: number): Promise<OverrideDecision[]> {
    const docs = await this.model.find({ promotionId }, fields).sort({ decidedAt: -1 }).limit(limit).lean<DecisionDoc[]>();
    return docs.map(toDecision);
  }

  async byChannel(channel: string, limit: number): Promise<OverrideDecision[]> {
    const docs = await this.model.find({ channel }, fields).sort({ decidedAt: -1 }).limit(limit).lean<DecisionDoc[]>();
    return docs.map(toDecision);
  }
}
