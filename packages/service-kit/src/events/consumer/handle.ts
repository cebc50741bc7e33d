/**
 * Stage 3, handle: runs the handler with its EventContext, up to `tries` times with exponential
 * backoff, and tells what came of it.
 *
 * Guarantees: each attempt gets a fresh context; the outcome is `skipped_duplicate` only when the
 * handler applied nothing and recognised a duplicate (ctx.skip, or an applyOnce that matched
 * nothing); the ack's `appliedAt` is when the effect committed (applyOnce reports it before
 * releasing its lock). No attempt starts once the consumer is stopping.
 */
import type { KafkaMessage } from 'kafkajs';
import type { EventEnvelope, TopicName } from '@omnimall/contracts';
import type { Logger } from '../../observability/logger';
import type { ServiceMetrics } from '../../observability/metrics';
import { applyOnce } from '../../mongo/effect-once';
import type { WriteBatcher } from '../../mongo/write-batcher';
import { errorText, type EventContext, type EventHandler } from './types';

export interface HandleInput {
  handler: EventHandler<TopicName>;
  value: { envelope: EventEnvelope };
  source: string;
  partition: number;
  message: KafkaMessage;
  group: string;
  logger: Logger;
  /** Attempts the record already had (from an earlier delivery through the retry topic). */
  attemptBase: number;
  tries: number;
  backoffMs: number;
  /** Runs after the handler succeeded, before the outcome is reported (the inbox mark). */
  afterSuccess: () => Promise<void>;
  stopped: () => boolean;
}

export type Handled =
  | { ok: true; outcome: 'applied' | 'skipped_duplicate'; attempt: number; channel: string | null; appliedAt?: number }
  | { ok: false; err: unknown };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function handleWithRetries(input: HandleInput, deps: { metrics: ServiceMetrics; writes?: WriteBatcher }): Promise<Handled> {
  const { handler, value, source, message, group, logger } = input;
  const { envelope } = value;
  let lastErr: unknown;
  for (let i = 0; i < input.tries && !input.stopped(); i++) {
    const attempt = input.attemptBase + i + 1;
    let duplicate = false;
    let applied = false;
    let committedAt: number | undefined;
    const ctx: EventContext = {
      topic: source,
      partition: input.partition,
      offset: message.offset,
      envelope,
      attempt,
      consumer: group,
      logger,
      channel: envelope.sourceChannel,
      applyOnce: async (model, filter, update, o) => {
        const ok = await applyOnce(model, envelope.eventId, filter, update, o, {
          onCommitted: () => (committedAt = Date.now()),
          writes: deps.writes,
        });
        if (ok) applied = true;
        else duplicate = true;
        return ok;
      },
      skip: () => {
        duplicate = true;
      },
      record: message,
    };
    const timer = deps.metrics.handlerDuration.startTimer({ topic: source, consumer: group });
    try {
      await handler(value as never, ctx);
      timer();
      await input.afterSuccess();
      return {
        ok: true,
        outcome: duplicate && !applied ? 'skipped_duplicate' : 'applied',
        attempt,
        channel: ctx.channel,
        appliedAt: committedAt,
      };
    } catch (err) {
      timer();
      lastErr = err;
      deps.metrics.retried.labels(source, group).inc();
      logger.warn('event handler failed', { attempt, err: errorText(err) });
      if (i + 1 < input.tries) await sleep(input.backoffMs * 2 ** i);
    }
  }
  return { ok: false, err: lastErr };
}
