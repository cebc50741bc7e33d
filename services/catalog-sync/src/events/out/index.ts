/** The events catalog-sync publishes, one mapper per produced topic. */
export { localItemEvent } from './catalog.local-item';
export { evidenceEvent } from './catalog.transformation-evidence';
export { conflictEvent } from './catalog.conflict';
export { stagedDiffEvent } from './catalog.staged-diff';
export { refusalEvent } from './catalog.restriction-refused';
