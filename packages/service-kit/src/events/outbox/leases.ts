/**
 * Writer leases: how an instance learns, within seconds, that another instance (on any host) died
 * with entries it had committed and not published — a pod replaced by Kubernetes comes back under a
 * new host name, so the pid check of `orphaned` (entries.ts) never sees its predecessor as gone.
 *
 * Every outbox writer renews a lease document (`outbox_writers`, one per process start: host, pid,
 * boot, `seenAt`) every `beatMs` (default 1 s) and deletes it at a clean stop (its entries are
 * published by then). Every instance also reads that small collection each beat; a lease not renewed
 * for `leaseMs` (default 5 s) belongs to a writer that is gone. One instance claims it (a delete that
 * only succeeds on the `seenAt` it read, so exactly one of several watchers wins) and sweeps the
 * tracked collections for that writer's entries, which go out within about `leaseMs` + a beat of the
 * crash instead of at the recovery poll (30-60 s). Cost: one small upsert and one read of a handful of
 * documents per instance per beat.
 *
 * A writer paused longer than the lease (a stopped debugger, a VM freeze) is taken for dead and its
 * entries are published by another instance as well: duplicates, which consumers drop by eventId.
 */
import type { Connection } from 'mongoose';
import type { Logger } from '../../observability/logger';
import { THIS_WRITER, type Writer } from './entries';

interface LeaseDoc {
  _id: string;
  host: string;
  pid: number;
  seenAt: Date;
}

export interface LeaseOptions {
  beatMs?: number;
  leaseMs?: number;
}

export class WriterLeases {
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  private readonly beatMs: number;
  private readonly leaseMs: number;

  constructor(
    private readonly db: Connection,
    private readonly logger: Logger,
    /** Called once per gone writer this instance claimed; resolves when its entries were swept. */
    private readonly onGone: (writer: Writer) => Promise<unknown>,
    opts: LeaseOptions = {},
    private readonly self: Readonly<Writer> = THIS_WRITER,
  ) {
    this.beatMs = opts.beatMs ?? 1_000;
    this.leaseMs = opts.leaseMs ?? 5_000;
  }

  private get leases() {
    return this.db.collection<LeaseDoc>('outbox_writers');
  }

  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.beating = this.beat()
        .catch((err: unknown) => void this.logger.warn('outbox writer lease not renewed', { err: String(err) }))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.beatMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /**
   * Renews this writer's lease, then claims and sweeps the writers whose lease ran out. Times are the
   * database server's (`$currentDate`), so the hosts' clocks need not agree.
   */
  async beat(): Promise<void> {
    const { host, pid, boot } = this.self;
    const own = await this.leases.findOneAndUpdate(
      { _id: boot },
      { $set: { host, pid }, $currentDate: { seenAt: true } },
      { upsert: true, returnDocument: 'after' },
    );
    const now = own?.seenAt?.getTime();
    if (now === undefined) return;
    const expired = await this.leases.find({ seenAt: { $lt: new Date(now - this.leaseMs) } }).toArray();
    for (const lease of expired) {
      const claimed = await this.leases.deleteOne({ _id: lease._id, seenAt: lease.seenAt });
      if (claimed.deletedCount !== 1) continue; // another instance claimed it
      this.logger.info('outbox writer gone: publishing what it left', { host: lease.host, pid: lease.pid, boot: lease._id });
      await this.onGone({ host: lease.host, pid: lease.pid, boot: lease._id });
    }
  }

  /** Stops renewing and removes this writer's lease (a clean stop leaves nothing to publish). */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.leases.deleteOne({ _id: this.self.boot }).catch(() => undefined);
  }
}
