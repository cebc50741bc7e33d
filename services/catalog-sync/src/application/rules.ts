import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@omnimall/service-kit';
import { isKnownCurrency } from '../domain/money';
import { validRate, type RateEntry } from '../domain/rates';
import { overlappingFields, type SyncRule } from '../domain/rules';
import type { Catalog } from './catalog';
import { knownChannel } from './lookups';
import { repropagateChannel } from './propagation';

/**
 * Normalisation settings: a channel's sync rules (versioned; a change re-propagates the channel)
 * and the exchange-rate table (append-only, versioned). Both are read-decide-writes of one small
 * document with a compare-and-set, so `decide` here may run more than once.
 */

export interface RuleInput {
  name: string;
  mode: SyncRule['mode'];
  fields: SyncRule['fields'];
  localeFallbacks: string[];
  fieldMappings: SyncRule['fieldMappings'];
  attributeTransforms: SyncRule['attributeTransforms'];
  categoryMap: Record<string, string>;
}

/** Creates a rule (id null) or a new version of one; then re-propagates the channel's products. */
export async function putRule(
  c: Catalog,
  code: string,
  ruleId: string | null,
  input: RuleInput,
): Promise<{ rule: SyncRule; repropagated: number }> {
  await knownChannel(c, code);
  const rule = await c.rules.change(code, (set) => {
    const rules = set?.rules ?? [];
    const prev = ruleId ? rules.find((r) => r.id === ruleId) : undefined;
    if (ruleId && !prev)
      throw new NotFoundError('rule_not_found', `channel ${code} has no rule ${ruleId}`, 'create it with POST /channels/{code}/rules');
    const next: SyncRule = { ...input, id: prev?.id ?? randomUUID(), channel: code, version: (prev?.version ?? 0) + 1 };
    const others = rules.filter((r) => r.id !== next.id);
    const overlap = overlappingFields([...others, next]);
    if (overlap.length) {
      throw new ConflictError(
        'rule_fields_overlap',
        `another rule of channel ${code} already governs ${overlap.join(', ')}`,
        'give each field to one rule only; change the other rule first',
        { fields: overlap },
      );
    }
    return { set: { rules: [...others, next], history: [...(set?.history ?? []), next] }, result: next };
  });
  return { rule, repropagated: await repropagateChannel(c, code) };
}

export async function addRate(
  c: Catalog,
  input: Omit<RateEntry, 'version' | 'effectiveFrom'> & { effectiveFrom?: number },
): Promise<RateEntry> {
  if (!isKnownCurrency(input.base) || !isKnownCurrency(input.quote))
    throw new ValidationError('unknown_currency', `${input.base}/${input.quote}: unknown ISO 4217 currency`, 'use ISO 4217 codes');
  if (input.base === input.quote)
    throw new ValidationError('same_currency', 'base and quote are the same currency', 'quote a rate between two different currencies');
  if (!validRate(input.rate))
    throw new ValidationError(
      'invalid_rate',
      `rate ${input.rate} is not a positive decimal`,
      'send the rate as a decimal string, e.g. "1.0845"',
    );
  return c.rates.change((entries) => {
    const entry: RateEntry = {
      base: input.base,
      quote: input.quote,
      rate: input.rate,
      source: input.source,
      effectiveFrom: input.effectiveFrom ?? Date.now(),
      version: entries.length + 1,
    };
    return { entries: [...entries, entry], result: entry };
  });
}
