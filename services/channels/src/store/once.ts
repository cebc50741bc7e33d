/**
 * What a repository needs of a consumer's context to make a projection write effect-once: the
 * handler passes its context, the repository passes the model, filter and update.
 */
import type { EventContext } from '@omnimall/service-kit';

export type Once = Pick<EventContext, 'applyOnce'>;
