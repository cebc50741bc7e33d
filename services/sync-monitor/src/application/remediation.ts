/**
 * What an admin does about a late event from the dashboard or the API: retry now, reconcile by hand
 * (closing its escalation), open a support case. Each is recorded in the event's actions.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '@omnimall/service-kit/errors';
import type { Tracking } from '../domain/propagation';
import { escalationEvents } from './escalations';
import type { SlaSweep } from './sweep';
import type { TrackedEvents } from './tracked-events';

export class Remediation {
  constructor(
    private readonly events: TrackedEvents,
    private readonly sweep: Pick<SlaSweep, 'sweepOne'>,
  ) {}

  /** Re-delivers the event to every lagging group now. */
  async retryNow(id: string, by: string, note: string | null): Promise<Tracking> {
    await this.sweep.sweepOne(id, 'manual', { by, note });
    this.events.metrics.actions.labels('retry_now').inc();
    return this.events.get(id);
  }

  /** Closes the event by hand (and its escalation, publishing the reconciled alert and notices). */
  async reconcile(id: string, by: string, note: string): Promise<Tracking> {
    await this.events.change(id, (t) => {
      if (!t) throw new NotFoundError('event_not_tracked', `no event ${id} is tracked`, 'check the eventId');
      if (t.state === 'complete' || t.state === 'reconciled')
        throw new ConflictError('event_closed', `event ${id} is already ${t.state}`, 'nothing to reconcile');
      const now = Date.now();
      const escalation =
        t.escalation?.status === 'opened' ? { ...t.escalation, status: 'reconciled' as const, resolvedAt: now } : t.escalation;
      const next: Tracking = {
        ...t,
        state: 'reconciled',
        open: false,
        escalation,
        actions: [...t.actions, { actionId: randomUUID(), kind: 'reconciled', at: now, by, note, outcome: 'closed' }],
      };
      return { next, events: t.escalation?.status === 'opened' ? escalationEvents(next, 'reconciled') : [] };
    });
    this.events.metrics.actions.labels('reconciled').inc();
    return this.events.get(id);
  }

  async openSupportCase(id: string, by: string, note: string): Promise<{ caseId: string; tracking: Tracking }> {
    const caseId = `case-${randomUUID().slice(0, 8)}`;
    await this.events.change(id, (t) => {
      if (!t) throw new NotFoundError('event_not_tracked', `no event ${id} is tracked`, 'check the eventId');
      const next: Tracking = {
        ...t,
        actions: [...t.actions, { actionId: caseId, kind: 'support_case', at: Date.now(), by, note, outcome: 'opened' }],
      };
      return { next, events: [] };
    });
    this.events.metrics.actions.labels('support_case').inc();
    return { caseId, tracking: await this.events.get(id) };
  }
}
