/** @omnimall/pricing: promotion definitions, their validation and the evaluator. */
export * from './types';
export { FIELDS, OPS, holds, type ConditionContext, type FieldType } from './conditions';
export { validatePromotion } from './validate';
export { evaluate, timeReason, byPriority } from './evaluate';
export { proRata, type Tier } from './units';
export { forChannel, promotionsFor, type ChannelOverride, type PublishedPromotion } from './overrides';
export { parseDefinition, supersedes, type DefinitionInput, type Parsed, type StoredPromotion } from './definition';
