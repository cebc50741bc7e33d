import { affectedChannels, errorClass, isSuccess, laggingServices, type TrackingView } from './propagation';

export interface IssueGroup {
  consumer: string;
  errorClass: string;
  channel: string;
  state: string;
  count: number;
  eventIds: string[];
}

/**
 * Failing / retrying / escalated events grouped by root cause: the lagging consumer service, the
 * error class of its last failed ack (no_ack when it never answered) and the affected channel.
 */
export function groupIssues(events: readonly TrackingView[]): IssueGroup[] {
  const groups = new Map<string, IssueGroup>();
  for (const t of events) {
    const channels = affectedChannels(t);
    for (const consumer of laggingServices(t)) {
      const failed = t.acks.filter((a) => a.service === consumer && !isSuccess(a.outcome));
      const cls = failed.length ? errorClass(failed[failed.length - 1].error) : 'no_ack';
      const state =
        t.escalation?.status === 'opened' ? 'escalated' : t.retries.some((r) => r.service === consumer) ? 'retrying' : 'failing';
      for (const channel of channels.length ? channels : ['none']) {
        const k = [consumer, cls, channel, state].join('|');
        const g = groups.get(k) ?? { consumer, errorClass: cls, channel, state, count: 0, eventIds: [] };
        g.count++;
        if (g.eventIds.length < 20) g.eventIds.push(t._id);
        groups.set(k, g);
      }
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
