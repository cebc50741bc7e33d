import type { Model } from 'mongoose';
import type { RuleSet } from '../domain/records';
import type { SyncRule } from '../domain/rules';
import { Cached } from './cached';
import { compareAndSet, type Decision } from './compare-and-set';
import type { Revised } from './models';

/** Each channel's sync rules (one small document per channel, `_id` = channel code). */
export interface RuleRepository {
  /** The rules in force of the given channels, from a table cached for a second; rule changes here drop it at once. */
  ofChannels(codes: readonly string[]): Promise<Map<string, SyncRule[]>>;
  /** A channel's rules in force and their history, as stored. */
  setOf(code: string): Promise<RuleSet | null>;
  /** Read-decide-write of a channel's rule set (compare-and-set; `decide` may run again, and may throw). */
  change<R>(code: string, decide: (current: RuleSet | null) => Decision<RuleSet, R>): Promise<R>;
}

export class MongoRuleRepository implements RuleRepository {
  private readonly table: Cached<Map<string, SyncRule[]>>;

  constructor(private readonly model: Model<Revised<RuleSet>>) {
    this.table = new Cached(async () => {
      const sets = await model.find({}, { rules: 1 }).lean<Pick<RuleSet, '_id' | 'rules'>[]>();
      return new Map(sets.map((s) => [s._id, s.rules ?? []]));
    });
  }

  async ofChannels(codes: readonly string[]): Promise<Map<string, SyncRule[]>> {
    const all = await this.table.get();
    return new Map(codes.map((c) => [c, all.get(c) ?? []]));
  }

  setOf(code: string): Promise<RuleSet | null> {
    return this.model.findById(code).lean<RuleSet | null>().exec();
  }

  async change<R>(code: string, decide: (current: RuleSet | null) => Decision<RuleSet, R>): Promise<R> {
    const result = await compareAndSet(this.model, code, decide);
    this.table.invalidate();
    return result;
  }
}
