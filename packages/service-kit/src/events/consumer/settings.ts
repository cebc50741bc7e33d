/**
 * The kafkajs settings of every consumer group member, chosen so a member resumes within about 2 s of
 * the broker being reachable again (a broker restart, a network cut) instead of backing off for tens
 * of seconds.
 *
 * Why: kafkajs retries a failed fetch, join or commit with exponential backoff; with the client's
 * defaults (no cap below 30 s) a few failures in a row grow the wait to 12-25 s, and when the retries
 * run out the member "crashes" and restarts after the last wait again (measured: 17.8 s after Kafka
 * was back). Here the wait is capped at `maxRetryTime` (1 s), so the next attempt after the broker
 * returns is at most about a second away; `retries` is high enough (about 2 minutes of attempts) that
 * a restart of the broker is ridden out inside the member, which keeps its member id and rejoins its
 * group at once; and should the retries run out anyway, `restartOnFailure` restarts the member after
 * the capped wait (never gives up on a retriable error). A non-retriable crash is logged as an error.
 *
 * Session: a member that stopped heartbeating is dropped after `sessionTimeout` (6 s, the broker's
 * default group.min.session.timeout.ms), heartbeats every second; a rebalance waits at most
 * `rebalanceTimeout` (10 s) for members to rejoin, so a member that died with the broker does not
 * hold its group's partitions for the kafkajs default of a minute.
 */
import type { ConsumerConfig, RetryOptions } from 'kafkajs';

export const CONSUMER_RETRY: Required<Omit<RetryOptions, 'restartOnFailure'>> = {
  initialRetryTime: 100,
  maxRetryTime: 1_000,
  retries: 120,
  factor: 0.2,
  multiplier: 2,
};

export const CONSUMER_SESSION = {
  sessionTimeout: 6_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 10_000,
} as const;

/** The consumer config of a group member (plus the fetch batching of its options). */
export function consumerConfig(
  groupId: string,
  onRestart: (err: Error) => void,
  fetch?: { minBytes: number; maxWaitMs: number },
): ConsumerConfig {
  return {
    groupId,
    allowAutoTopicCreation: false,
    ...CONSUMER_SESSION,
    retry: {
      ...CONSUMER_RETRY,
      restartOnFailure: async (err) => {
        onRestart(err);
        return true;
      },
    },
    ...(fetch ? { minBytes: fetch.minBytes, maxWaitTimeInMs: fetch.maxWaitMs } : {}),
  };
}
