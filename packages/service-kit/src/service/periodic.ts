import type { Logger } from '../observability/logger';
import type { Worker } from './define-service';

/**
 * A loop that runs one pass, waits `intervalMs`, and runs the next: passes never overlap, however
 * long one takes. A failed pass is reported and the loop goes on. Stopping waits for the pass in
 * progress.
 */
export class Periodic {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(intervalMs: number): void {
    const tick = (): void => {
      this.running = this.pass()
        .catch(this.onError)
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.running;
  }
}

/**
 * A service worker (see defineService) that runs `pass` every `intervalMs`, never two passes at once;
 * a failed pass is logged as a warning with `what` and tried again at the next interval.
 */
export function periodicWorker(
  name: string,
  intervalMs: number,
  pass: () => Promise<unknown>,
  logger: Pick<Logger, 'warn'>,
  what = `${name} failed`,
): Worker {
  const loop = new Periodic(pass, (err) => logger.warn(what, { err: String(err) }));
  return { name, start: () => loop.start(intervalMs), stop: () => loop.stop() };
}
