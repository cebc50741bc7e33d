/**
 * A dependency that is down is answered 503, fast, with a code naming it — never a 500 with a stack.
 *
 * Guarantees:
 *  - `unavailableDependency(err)` recognises, by type (and by name, for a second copy of a driver),
 *    the errors that mean a server could not be reached, looking through `cause`/`originalError`
 *    chains: the MongoDB driver's and mongoose's server-selection, network, pool-cleared,
 *    not-connected and topology-closed errors, and a raw socket error thrown from the driver's own
 *    frames (it lets EPIPE escape unwrapped) → `database`; kafkajs' connection, request-timeout,
 *    broker-not-found and retries-exhausted errors → `broker`; the registry client's network failure
 *    (which it reports as a 400 whose message names the socket error) or a 5xx → `schema_registry`.
 *    Anything else (a refused write, a duplicate key, a protocol refusal) is not a dependency outage;
 *  - `DependencyAlerts` logs one warning when a dependency goes down (not once per request: a down
 *    dependency stays quiet until it has been seen up, or 30 s passed without a failure), one info line
 *    when readiness sees it back, and counts every refused request in
 *    `omnimall_dependency_unavailable_total{dependency}`;
 *  - `withinDeadline(work, dependency, ms)` bounds a call that would otherwise wait for a server for
 *    ever (the producer retries without limit): past the bound the request gets the 503; the work
 *    itself goes on in the background (its outcome is logged by whoever started it).
 */
import { KafkaJSBrokerNotFound, KafkaJSConnectionError, KafkaJSRequestTimeoutError } from 'kafkajs';
import mongoose from 'mongoose';
import { Counter, type Registry } from 'prom-client';
import { ServiceUnavailableError, type Dependency } from '../errors';
import type { Logger } from '../observability/logger';

const { mongo } = mongoose;
const DATABASE_TYPES = [
  mongo.MongoServerSelectionError,
  mongo.MongoNetworkError, // includes MongoNetworkTimeoutError and MongoPoolClearedError
  mongo.MongoNotConnectedError,
  mongo.MongoTopologyClosedError,
  mongo.MongoServerClosedError,
  mongo.MongoClientClosedError,
  mongoose.Error.MongooseServerSelectionError,
];
const DATABASE_NAMES = new Set([
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoPoolClearedError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoClientClosedError',
]);
/** Socket errors as Node raises them. */
const SOCKET_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_DESTROYED']);
/** Thrown from inside the MongoDB driver (its frames name its package). */
const FROM_MONGO_DRIVER = /[\\/]node_modules[\\/]mongodb[\\/]/;
/** Mongoose's refusals while it has no connection and does not buffer. */
const MONGOOSE_DISCONNECTED = /bufferCommands = false|Connection was force closed|Client must be connected/;

const BROKER_TYPES = [KafkaJSConnectionError, KafkaJSRequestTimeoutError, KafkaJSBrokerNotFound];
const BROKER_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
]);

/** Socket-level failures, as the registry client (mappersmith) reports them inside its message. */
const NETWORK_FAILURE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|socket hang up|Timeout \(\d+ms\)/i;

function ownDependency(err: object): Dependency | null {
  const { name, message, status } = err as { name?: unknown; message?: unknown; status?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (DATABASE_TYPES.some((t) => err instanceof t) || DATABASE_NAMES.has(String(name))) return 'database';
  if (name === 'MongooseError' && MONGOOSE_DISCONNECTED.test(text)) return 'database';
  // The driver lets a write to a socket the server ended (EPIPE, "This socket has been ended by the
  // other party") escape unwrapped: a plain Error whose frames are the driver's.
  const { code, stack } = err as { code?: unknown; stack?: unknown };
  if (SOCKET_CODES.has(String(code)) && typeof stack === 'string' && FROM_MONGO_DRIVER.test(stack)) return 'database';
  if (BROKER_TYPES.some((t) => err instanceof t) || BROKER_NAMES.has(String(name))) return 'broker';
  if (name === 'ResponseError' && text.startsWith('Confluent_Schema_Registry')) {
    if (typeof status === 'number' && status >= 500) return 'schema_registry';
    if (NETWORK_FAILURE.test(text)) return 'schema_registry';
  }
  return null;
}

/** The dependency whose unreachability `err` reports (looking through its causes), or null. */
export function unavailableDependency(err: unknown): Dependency | null {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof ServiceUnavailableError) return current.dependency;
    const own = ownDependency(current);
    if (own) return own;
    // A kafkajs retry loop that gave up (KafkaJSNumberOfRetriesExceeded) names what it gave up on as its cause.
    current = (current as { cause?: unknown }).cause ?? (current as { originalError?: unknown }).originalError;
  }
  return null;
}

/** The 503 to answer for `err`, or null when it is not a dependency outage. */
export function asServiceUnavailable(err: unknown): ServiceUnavailableError | null {
  if (err instanceof ServiceUnavailableError) return err;
  const dependency = unavailableDependency(err);
  return dependency ? new ServiceUnavailableError(dependency) : null;
}

/**
 * Bounds a wait on a dependency: resolves as `work` does, or rejects with the dependency's 503 after
 * `ms` (default 1 s). Use it where a route must wait for the broker synchronously; a write that goes
 * through the outbox never needs it (it commits to the database and publishes later).
 */
export function withinDeadline<T>(work: Promise<T>, dependency: Dependency, ms = 1000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServiceUnavailableError(dependency, `no answer from the ${dependency} within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

const METRIC = 'omnimall_dependency_unavailable_total';
/** A dependency that failed nothing for this long is taken as recovered (a new failure warns again). */
const QUIET_MS = 30_000;

/** Rate-limited logging and counting of dependency outages, for one service's HTTP app. */
export class DependencyAlerts {
  private readonly refused: Counter<'dependency'>;
  /** When each dependency that is down last failed a request. */
  private readonly lastFailure = new Map<Dependency, number>();
  private readonly suppressed = new Map<Dependency, number>();

  constructor(
    private readonly logger: Logger,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.refused =
      (registry.getSingleMetric(METRIC) as Counter<'dependency'> | undefined) ??
      new Counter({
        name: METRIC,
        help: 'Requests answered 503 because a dependency (database, broker, schema registry) was unreachable',
        labelNames: ['dependency'],
        registers: [registry],
      });
  }

  /** A request was refused because `dependency` is unreachable: counted, and warned about on a state change only. */
  down(dependency: Dependency, err: unknown, path: string): void {
    this.refused.inc({ dependency });
    const at = this.now();
    const last = this.lastFailure.get(dependency);
    this.lastFailure.set(dependency, at);
    if (last !== undefined && at - last < QUIET_MS) {
      this.suppressed.set(dependency, (this.suppressed.get(dependency) ?? 0) + 1);
      return;
    }
    const before = this.suppressed.get(dependency) ?? 0;
    this.suppressed.set(dependency, 0);
    this.logger.warn(`${dependency} unavailable: requests answered 503 until it is back`, {
      dependency,
      err: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      path,
      ...(before ? { refusedSinceLastWarning: before } : {}),
    });
  }

  /** Readiness saw each dependency named true reachable: one info line for each that was down. */
  up(checks: Partial<Record<Dependency, boolean>>): void {
    for (const [dependency, ok] of Object.entries(checks) as [Dependency, boolean][]) {
      if (!ok || !this.lastFailure.has(dependency)) continue;
      this.lastFailure.delete(dependency);
      const refused = this.suppressed.get(dependency) ?? 0;
      this.suppressed.delete(dependency);
      this.logger.info(`${dependency} reachable again`, { dependency, refusedSinceLastWarning: refused });
    }
  }
}
