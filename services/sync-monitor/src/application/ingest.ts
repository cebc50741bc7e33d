/**
 * Ingest of envelopes and acks, write-behind.
 *
 * An envelope or ack is buffered per event, and a flush writes each event's document once with
 * everything received for it since the last flush (an event's envelope and its acks usually arrive
 * within a few hundred ms of each other, so one write replaces one per input). The consumers flush
 * before they commit offsets (`beforeCommit`), so an input is durable before Kafka forgets it; a
 * crash replays the uncommitted inputs and applying them again changes nothing (acks are kept by
 * ack id). Lags are computed from the acks' own times, so buffering does not change them.
 */
import type { EventEnvelope, SyncApplied } from '@omnimall/contracts';
import { mapLimit, type Logger } from '@omnimall/service-kit';
import type { Expectations } from '../domain/expectations';
import { withSubjects, type Subjects } from '../domain/privacy';
import {
  applyAck,
  applyEnvelope,
  isFirstSuccess,
  serviceOfGroup,
  type AckInfo,
  type RawRecord,
  type Tracking,
} from '../domain/propagation';
import type { TrackingScope } from '../domain/scope';
import type { AckSink, EnvelopeSink } from '../events/in';
import { resolutionEvents } from './escalations';
import type { TrackedEvents } from './tracked-events';

/** Events with buffered inputs at which a flush starts without waiting for the next commit. */
const FLUSH_AT = 5000;
/** Tracking documents a flush writes at once. */
const FLUSH_WIDTH = 8;

/** One input (envelope or ack) to apply to an event's tracking; null when it changes nothing. */
type Step = (cur: Tracking | null, now: number) => { next: Tracking; firstApplied?: SyncApplied } | null;

export class Ingest implements AckSink, EnvelopeSink {
  /** eventId → inputs received since the last flush, in arrival order. */
  private buffer = new Map<string, Step[]>();
  private flushChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly events: TrackedEvents,
    private readonly expectations: Expectations,
    private readonly scope: TrackingScope,
    private readonly logger: Logger,
  ) {}

  /** An envelope of a business topic: remembers the event, its expectations and its original record (buffered). */
  onEnvelope(topic: string, env: EventEnvelope, raw: RawRecord | null, subjects?: Subjects): boolean {
    if (this.scope.trackEnvelope && !this.scope.trackEnvelope(env, topic)) return false;
    const exp = this.expectations(topic);
    this.enqueue(env.eventId, (cur, now) => ({ next: withSubjects(applyEnvelope(cur, topic, env, raw, exp, now), subjects) }));
    return true;
  }

  /** A sync.applied ack (buffered); false when it is not tracked here. */
  async onAck(ack: SyncApplied): Promise<boolean> {
    if (this.scope.trackAck && !this.scope.trackAck(ack)) return false;
    await this.events.groupSeen(ack.topic, ack.consumer);
    const info: AckInfo = { ...ack, ackId: ack.envelope.eventId, outcome: ack.outcome as AckInfo['outcome'] };
    const exp = this.expectations(ack.topic);
    this.enqueue(ack.ackedEventId, (cur, now) => {
      const next = applyAck(cur, info, exp, now);
      if (!next) return null; // this ack was recorded before
      return { next, firstApplied: info.outcome === 'applied' && isFirstSuccess(cur, info) ? ack : undefined };
    });
    return true;
  }

  private enqueue(eventId: string, step: Step): void {
    const steps = this.buffer.get(eventId);
    if (steps) steps.push(step);
    else this.buffer.set(eventId, [step]);
    if (this.buffer.size >= FLUSH_AT) this.flush().catch(() => undefined); // logged in flush; the next one retries
  }

  /**
   * Writes every buffered input: one compare-and-set per event. Flushes run one at a time. Inputs
   * whose write failed are kept (ahead of newer ones) and the flush rejects, so the consumers hold
   * their offsets back.
   */
  flush(): Promise<void> {
    const run = this.flushChain.then(() => this.flushBuffered());
    this.flushChain = run.catch(() => undefined);
    return run;
  }

  private async flushBuffered(): Promise<void> {
    const work = [...this.buffer];
    this.buffer = new Map();
    const failed: Array<[string, Step[]]> = [];
    await mapLimit(work, FLUSH_WIDTH, async ([id, steps]) => {
      try {
        await this.write(id, steps);
      } catch (err) {
        failed.push([id, steps]);
        this.logger.warn('tracking write failed; kept for the next flush', { eventId: id, err: String(err) });
      }
    });
    if (!failed.length) return;
    const later = this.buffer;
    this.buffer = new Map(failed);
    for (const [id, steps] of later) this.buffer.set(id, [...(this.buffer.get(id) ?? []), ...steps]);
    throw new Error(`${failed.length} tracking writes failed`);
  }

  /** Applies an event's buffered inputs to its document in one write. */
  private async write(id: string, steps: Step[]): Promise<void> {
    let firsts: SyncApplied[] = [];
    const countLags = (): void => {
      for (const ack of firsts) {
        const lagMs = ack.appliedAt - ack.occurredAt;
        const consumer = serviceOfGroup(ack.consumer);
        this.events.windows.add(
          { at: ack.appliedAt, lagMs, type: ack.ackedType, consumer, group: ack.consumer, channel: ack.channel },
          Date.now(),
        );
        this.events.metrics.lag.labels(ack.ackedType, consumer, ack.channel ?? 'none').observe(lagMs / 1000);
      }
    };
    // assumeNew: most flushes carry an event's first inputs, so its document does not exist yet.
    await this.events.change(
      id,
      (prev) => {
        let next = prev;
        firsts = [];
        const now = Date.now();
        for (const step of steps) {
          const r = step(next, now);
          if (!r) continue;
          next = r.next;
          if (r.firstApplied) firsts.push(r.firstApplied);
        }
        if (!next || next === prev) return null;
        return { next, events: resolutionEvents(prev, next) };
      },
      { assumeNew: true, onWritten: countLags },
    );
  }
}
