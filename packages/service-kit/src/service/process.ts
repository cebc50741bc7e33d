/**
 * A service as an operating-system process: started once, stopped once on a signal or when its parent
 * goes away, exiting 1 with the cause when a start or stop fails or a stop hangs.
 */
import type { Logger } from '../observability/logger';

/** What a service's start function resolves to. */
export interface StoppableService {
  stop(): Promise<void>;
  runtime?: { logger: Logger };
}

export interface RunServiceOptions<S extends StoppableService> {
  /** Called once the service is up (e.g. to log the address of a page it serves). */
  onStarted?: (service: S) => void;
  /** A stop that takes longer (say, a consumer stuck on an unreachable database) exits with 1. */
  stopTimeoutMs?: number;
}

/**
 * The process around a service, for its `require.main === module` block: starts it; on SIGINT or
 * SIGTERM, or when the parent that spawned it over IPC goes away, stops it once and exits 0; exits
 * 1 with the cause on stderr when the start fails or the stop fails or hangs.
 */
export function runService<S extends StoppableService>(name: string, start: () => Promise<S>, opts: RunServiceOptions<S> = {}): void {
  start()
    .then((service) => {
      opts.onStarted?.(service);
      let stopping = false;
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        service.runtime?.logger.info('stopping', { signal });
        setTimeout(() => {
          console.error(`${name}: stop timed out; exiting`);
          process.exit(1);
        }, opts.stopTimeoutMs ?? 15_000).unref();
        service.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`${name} failed to stop: ${String(err)}`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      if (process.send) process.once('disconnect', () => shutdown('disconnect'));
    })
    .catch((err: unknown) => {
      console.error(`${name} failed to start: ${err instanceof Error && err.stack ? err.stack : String(err)}`);
      process.exit(1);
    });
}
