/** The transactional outbox (see outbox.ts for how its parts fit together). */
export {
  OUTBOX_FIELDS,
  WITHOUT_OUTBOX,
  outboxPaths,
  withOutbox,
  withoutOutbox,
  type Change,
  type OutboxDoc,
  type OutboxEntry,
} from './entries';
export { WriteConflictError, type WriteOptions } from './writer';
export { Outbox, type OutboxOptions } from './outbox';
