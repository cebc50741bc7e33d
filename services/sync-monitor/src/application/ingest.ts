/**
 * Ingest of envelopes and acks into the in-memory tracking: a stream processor.
 *
 * An envelope or ack is applied to the event's tracking in memory (domain/propagation.ts, pure), and
 * its first success per consumer group is counted in the lag histograms. Nothing is written to the
 * database for an event that propagates in time; an event that is (or becomes, with a failed or
 * dead-lettered ack) an exception is written through TrackedEvents.change before memory shows it.
 *
 * Effect-once across crashes (issue 18, item 1; issue 19): `positions` records, per partition, the
 * offset after the last record applied, and snapshots keep them with the state (application/
 * snapshots.ts). After a restart, a record below its position is already in the restored state and
 * is not applied again; an envelope so skipped is acknowledged `skipped_duplicate`. An envelope
 * handled after the snapshot and before the crash was acknowledged then: its ack (this monitor's
 * own, on sync.applied, or sync.applied.bulk for bulk work) is replayed by the ack group of its lane
 * before an envelope of that lane is decided (the gates, `holdEnvelopesUntil`; a backlog of bulk acks
 * never holds up everyday envelopes), so the state shows this group already applied it and the copy is
 * acknowledged `skipped_duplicate` too. While running, an envelope seen before is a duplicate.
 */
import type { KafkaMessage } from 'kafkajs';
import type { EventEnvelope, SyncApplied } from '@omnimall/contracts';
import { laneOf, type Lane } from '@omnimall/service-kit';
import type { Expectations } from '../domain/expectations';
import { Positions, type RecordAt } from '../domain/positions';
import { withSubjects, type Subjects } from '../domain/privacy';
import { applyAck, applyEnvelope, isFirstSuccess, isSuccess, serviceOfGroup, type AckInfo, type Tracking } from '../domain/propagation';
import type { TrackingScope } from '../domain/scope';
import type { AckSink, Delivery, EnvelopeOutcome, EnvelopeSink } from '../events/in';
import { rawOf } from '../events/in/record';
import { resolutionEvents } from './escalations';
import type { TrackedEvents } from './tracked-events';

/** The acks of bulk work: a lane of their own (a record's header `lane: bulk`). */
export const BULK_ACKS = 'sync.applied.bulk';

/**
 * The tracking, marked as bulk work when its record or an ack of it came in the bulk lane, and
 * judged by bulk work's SLA (`bulkSlaMs`, its lane's 600 s by default): a bulk job of 10,000
 * products × 5 channels keeps every consumer busy for minutes on this machine, and judged by the 2 s
 * of its topic a normal bulk raised hundreds of re-deliveries and escalations (monitor-bulk: 441, 229).
 */
const inLane = (t: Tracking, lane: Lane | undefined, bulkSlaMs: number): Tracking => {
  if (lane !== 'bulk' || t.bulk) return t;
  const slaMs = Math.max(t.slaMs, bulkSlaMs);
  return { ...t, bulk: true, slaMs, slaDeadline: t.occurredAt + slaMs };
};

export class Ingest implements AckSink, EnvelopeSink {
  /** Per partition, the offset after the last record applied to the state (kept in snapshots). */
  readonly positions = new Positions();
  private readonly gates: Record<'everyday' | 'bulk', Promise<void>> = { everyday: Promise.resolve(), bulk: Promise.resolve() };

  constructor(
    private readonly events: TrackedEvents,
    private readonly expectations: Expectations,
    private readonly scope: TrackingScope,
    /** The SLA of bulk work (settings.bulkSlaMs). */
    private readonly bulkSlaMs: number,
  ) {}

  /** Envelopes wait for `ready` before they are decided (the acks replayed up to the end offsets read at start). */
  holdEnvelopesUntil(ready: Promise<void>, lane: 'everyday' | 'bulk' = 'everyday'): void {
    this.gates[lane] = ready;
  }

  async onEnvelope(
    topic: string,
    env: EventEnvelope,
    record: KafkaMessage | undefined,
    subjects: Subjects | undefined,
    at: Delivery,
  ): Promise<EnvelopeOutcome> {
    const lane = laneOf(record?.headers);
    await this.gates[lane === 'bulk' ? 'bulk' : 'everyday'];
    if (this.positions.covers(at)) return 'duplicate';
    if (this.scope.trackEnvelope && !this.scope.trackEnvelope(env, topic)) {
      this.positions.advance(at);
      return 'untracked';
    }
    const cur = this.events.state.get(env.eventId) ?? null;
    if (cur?.envelopeSeen) {
      this.positions.advance(at);
      return 'duplicate';
    }
    // Acknowledged by this group before a crash (its own ack replayed): rebuild the state, report a copy.
    const ackedBefore = !!cur?.acks.some((a) => a.group === at.consumer && isSuccess(a.outcome));
    const exp = this.expectations(topic);
    const now = Date.now();
    if (this.events.writesThrough(env.eventId)) {
      await this.events.change(env.eventId, (t) => {
        const next = inLane(withSubjects(applyEnvelope(t, topic, env, rawOf(record), exp, now), subjects), lane, this.bulkSlaMs);
        return { next, events: resolutionEvents(t, next) };
      });
    } else {
      const next = inLane(withSubjects(applyEnvelope(cur, topic, env, null, exp, now), subjects), lane, this.bulkSlaMs);
      // The original record is kept while the event is open (for re-delivery), not after.
      this.events.state.put(next.open ? { ...next, raw: rawOf(record) } : next, now);
    }
    this.positions.advance(at);
    return ackedBefore ? 'duplicate' : 'applied';
  }

  async onAck(ack: SyncApplied, at: RecordAt): Promise<boolean> {
    if (this.positions.covers(at)) return false;
    if (this.scope.trackAck && !this.scope.trackAck(ack)) {
      this.positions.advance(at);
      return false;
    }
    await this.events.groupSeen(ack.topic, ack.consumer);
    const info: AckInfo = { ...ack, ackId: ack.envelope.eventId, outcome: ack.outcome as AckInfo['outcome'] };
    const exp = this.expectations(ack.topic);
    const id = ack.ackedEventId;
    const now = Date.now();
    const problem = info.outcome === 'failed' || info.outcome === 'dead_lettered';
    const lane = at.topic === BULK_ACKS ? 'bulk' : undefined;
    if (problem || this.events.writesThrough(id)) {
      let first = false;
      await this.events.change(
        id,
        (t) => {
          const applied = applyAck(t, info, exp, now);
          if (!applied) return null; // this ack was recorded before
          const next = inLane(applied, lane, this.bulkSlaMs);
          first = isFirstSuccess(t, info);
          return { next, events: resolutionEvents(t, next) };
        },
        { onWritten: () => first && this.countLag(ack) },
      );
    } else {
      const cur = this.events.state.get(id) ?? null;
      const applied = applyAck(cur, info, exp, now);
      const next = applied && inLane(applied, lane, this.bulkSlaMs);
      if (next) {
        if (isFirstSuccess(cur, info)) this.countLag(ack);
        this.events.state.put(next.open ? next : { ...next, raw: null }, now);
      }
    }
    this.positions.advance(at);
    return true;
  }

  /** A group's first success for an event: its lag, exactly `appliedAt − occurredAt` as the consumer reported both. */
  private countLag(ack: SyncApplied): void {
    const lagMs = ack.appliedAt - ack.occurredAt;
    const consumer = serviceOfGroup(ack.consumer);
    const now = Date.now();
    this.events.windows.add({ at: ack.appliedAt, lagMs, type: ack.ackedType, consumer, group: ack.consumer, channel: ack.channel }, now);
    this.events.lagSeries.add(ack.appliedAt, ack.channel, lagMs, now);
    this.events.metrics.lag.labels(ack.ackedType, consumer, ack.channel ?? 'none').observe(lagMs / 1000);
  }
}
