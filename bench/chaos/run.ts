/**
 * The chaos run of issue 18 ("Done when"): `npx tsx bench/chaos/run.ts` (after `npx tsc -b`).
 * Bounded (about 3 minutes with the defaults, loopback only) and on a stack of its own: a Kafka
 * (e2e/support/throwaway-kafka.ts) and a FerretDB (./ferretdb.ts) on free ports with stores in a temp
 * dir, and the five services from their build output (e2e/support/stack.ts); the schema registry is
 * the shared one (read and register only; its state is in the shared Kafka, which is never touched).
 *
 * Cart writes (one unit added to one of four device carts on two channels) go at CHAOS_RATE (20)/s
 * while the cart, FerretDB, Kafka and the sync-monitor are each killed with SIGKILL, left down
 * CHAOS_DOWN_MS (3000), and started again as `make up` would, one at a time, CHAOS_STEADY_MS (8000)
 * apart. Reported (printed as JSON):
 *  - acknowledged writes lost: per cart, acknowledged units missing from the cart at the end;
 *  - events applied twice: (consumer group, event) pairs with more than one `applied` ack on
 *    sync.applied (re-deliveries must be acknowledged skipped_duplicate), and how many were skipped;
 *  - answers: every status seen (500s counted apart), and per phase the answers while it was down;
 *  - per phase: the time from the restart being ready to the first successful write sent after it, and
 *    the time from that moment until every cart-event group applied the events of writes acknowledged
 *    from 1 s before the kill to the restart ("events made at the kill").
 * Pacing waits here are the load's schedule, not waits for a condition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckLog } from '../../e2e/support/acks';
import { addOne, cartWorld, quantityIn, quantityOf, type CartWorld } from '../../e2e/support/cart-fixture';
import { Omnimall, until } from '../../e2e/support/omnimall';
import { SERVICES, startStack, type Stack } from '../../e2e/support/stack';
import { ThrowawayKafka } from '../../e2e/support/throwaway-kafka';
import { ThrowawayFerretDb } from './ferretdb';

// the shared registry's client user, as jest.setup.js gives every test
Object.assign(process.env, require('../../deploy/local/schema-registry/local-users.js').clientEnv(process.env));

const RATE = Number(process.env.CHAOS_RATE ?? 20);
const STEADY_MS = Number(process.env.CHAOS_STEADY_MS ?? 8_000);
const DOWN_MS = Number(process.env.CHAOS_DOWN_MS ?? 3_000);
const TOPIC = 'cart.cart-changed';
const TARGETS = ['cart', 'ferretdb', 'kafka', 'sync-monitor'] as const;
type Target = (typeof TARGETS)[number];

interface Write {
  device: number;
  sentAt: number;
  at: number;
  /** 0: no answer (connection refused or reset, timeout) — its outcome is unknown. */
  status: number;
  code?: string;
  correlationId: string;
  /** A 200's answer: the line's quantity after this write. */
  quantity?: number;
}

interface Phase {
  target: Target;
  killedAt: number;
  readyAt: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tally(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

class Load {
  readonly writes: Write[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private n = 0;

  constructor(
    private readonly api: Omnimall,
    private readonly world: CartWorld,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      const device = this.n++ % this.world.devices.length;
      const correlationId = this.api.newCorrelationId('chaos');
      const sentAt = Date.now();
      const p = addOne(this.api, this.world, this.world.devices[device], correlationId)
        .then((r) => {
          const quantity = r.status === 200 ? quantityIn(this.world, r.body) : undefined;
          this.writes.push({ device, sentAt, at: r.at, status: r.status, code: r.body?.code, correlationId, quantity });
        })
        .catch(() => void this.writes.push({ device, sentAt, at: Date.now(), status: 0, code: 'no_answer', correlationId }))
        .finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }, 1000 / RATE);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'omnimall-chaos-'));
  let kafka: ThrowawayKafka | undefined;
  let ferret: ThrowawayFerretDb | undefined;
  let stack: Stack | undefined;
  let log: AckLog | undefined;
  try {
    ferret = await ThrowawayFerretDb.create(dir);
    kafka = await ThrowawayKafka.create();
    // databases not named e2e*: ferretdb.sh's start removes those (left behind by earlier test runs)
    const databasePrefix = `chaos${Date.now().toString(36)}`;
    stack = await startStack({ env: { ...kafka.env(), MONGO_URL: ferret.url }, databasePrefix });
    const api = new Omnimall(stack);
    log = await new AckLog(kafka.client(), [TOPIC]).start();
    // a line holds at most 99 units: enough device carts that none reaches it (~80 writes each)
    const expectedWrites = (RATE * (5 * STEADY_MS + 4 * DOWN_MS + 40_000)) / 1000;
    const world = await cartWorld(api, stack, Math.ceil(expectedWrites / 80 / 2));
    const groups = await cartGroups(api, world, log);
    console.error(`chaos: stack ready in ${Date.now() - started} ms; cart-event groups: ${[...groups].join(', ')}`);

    const kill = {
      cart: () => stack!.kill('cart'),
      'sync-monitor': () => stack!.kill('sync-monitor'),
      ferretdb: () => ferret!.kill(),
      kafka: () => kafka!.kill(),
    };
    const restart = {
      cart: () => stack!.restart('cart'),
      'sync-monitor': () => stack!.restart('sync-monitor'),
      ferretdb: () => ferret!.start(),
      kafka: () => kafka!.start(),
    };
    const load = new Load(api, world);
    const phases: Phase[] = [];
    load.start();
    for (const target of TARGETS) {
      await pause(STEADY_MS);
      const killedAt = await kill[target]();
      await pause(DOWN_MS);
      const readyAt = await restart[target]();
      phases.push({ target, killedAt, readyAt });
      console.error(`chaos: ${target} killed, back after ${readyAt - killedAt} ms`);
    }
    await pause(STEADY_MS);
    await load.stop();
    console.log(JSON.stringify(await report(api, world, log, groups, load.writes, phases, started), null, 2));
  } finally {
    await log?.stop().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await kafka?.destroy().catch(() => undefined);
    await ferret?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The shared consumer groups of cart events (channels, sync-monitor), from the acks of a warm-up write. */
async function cartGroups(api: Omnimall, world: CartWorld, log: AckLog): Promise<Set<string>> {
  const warm = await addOne(api, world, world.devices[0]);
  if (warm.status !== 200) throw new Error(`warm-up write answered ${warm.status} ${JSON.stringify(warm.body)}`);
  const eventId = await until(
    'the warm-up event',
    async () => (await log.published(TOPIC)).find((p) => p.correlationId === warm.correlationId)?.eventId,
  );
  // Shared groups only: a per-instance group (the cart's live push, named after its process and
  // start, see define-service.ts) is a fan-out to that process's open streams; a restarted cart has a
  // new one that starts at the end, and what was made while it was down reaches clients when they
  // reconnect and read their cart, not through it. Its double applies are still counted (appliedTwice).
  const perInstance = (group: string) => new RegExp(`\\.(${SERVICES.join('|')})-e2e[0-9a-f]+\\.`).test(group);
  return until('every cart-event group to apply the warm-up event', async () => {
    const g = new Set((await log.acks(eventId)).filter((a) => a.outcome === 'applied' && !perInstance(a.consumer)).map((a) => a.consumer));
    return ['channels.', 'sync-monitor.'].every((s) => [...g].some((x) => x.startsWith(s))) && g;
  });
}

/** When every group applied the events of these writes (ms since epoch), or null for those not yet. */
async function appliedEverywhere(log: AckLog, groups: Set<string>, writes: Write[]): Promise<Array<number | null>> {
  const published = await log.published(TOPIC);
  const acks = await log.acks();
  return writes.map((w) => {
    const eventId = published.find((p) => p.correlationId === w.correlationId)?.eventId;
    if (!eventId) return null;
    const mine = acks.filter((a) => a.ackedEventId === eventId && a.outcome === 'applied');
    const at = [...groups].map((g) => mine.find((a) => a.consumer === g)?.appliedAt);
    return at.every((t) => t !== undefined) ? Math.max(...at.map(Number)) : null;
  });
}

async function report(
  api: Omnimall,
  world: CartWorld,
  log: AckLog,
  groups: Set<string>,
  writes: Write[],
  phases: Phase[],
  started: number,
): Promise<Record<string, unknown>> {
  const acked = writes.filter((w) => w.status === 200);
  // drain: every acknowledged write's event applied by every group (bounded)
  const drainStart = Date.now();
  let applied = await appliedEverywhere(log, groups, acked);
  while (applied.some((a) => a === null) && Date.now() - drainStart < 60_000) {
    await pause(200);
    applied = await appliedEverywhere(log, groups, acked);
  }
  const appliedAt = new Map(acked.map((w, i) => [w.correlationId, applied[i]]));

  const carts = await Promise.all(
    world.devices.map(async (d, i) => {
      const mine = writes.filter((w) => w.device === i);
      const ok = mine.filter((w) => w.status === 200).length;
      const unknown = mine.filter((w) => w.status === 0 || w.status >= 500).length;
      const quantity = await quantityOf(api, world, d);
      return {
        acknowledged: ok,
        unknownOutcome: unknown,
        quantity,
        lost: Math.max(0, ok - quantity),
        extra: Math.max(0, quantity - ok - unknown),
      };
    }),
  );
  const acks = await log.acks();
  const twice = await log.appliedTwice();
  // an acknowledged unit that vanished shows as a later acknowledged answer not above an earlier one
  const regressions: Write[] = [];
  for (let d = 0; d < world.devices.length; d++) {
    let high = 0;
    for (const w of acked.filter((x) => x.device === d).sort((a, b) => a.at - b.at)) {
      if ((w.quantity ?? 0) <= high) regressions.push(w);
      high = Math.max(high, w.quantity ?? 0);
    }
  }
  const phaseOf = (t: number): string => [...phases].reverse().find((p) => t >= p.killedAt)?.target ?? 'before the first kill';

  const publishedCopies = await log.published(TOPIC);
  const firstAppended = new Map<string, number>();
  for (const c of publishedCopies)
    if (c.correlationId && !firstAppended.has(c.correlationId)) firstAppended.set(c.correlationId, c.appendedAt);
  const publishedIds = new Map(publishedCopies.map((c) => [c.correlationId, c.eventId]));
  /** Per group, when it applied the last of these writes' events (ms after `from`). */
  const byGroup = (ws: Write[], from: number): Record<string, number | null> =>
    Object.fromEntries(
      [...groups].map((g) => {
        const at = ws.map(
          (w) =>
            acks.find((a) => a.consumer === g && a.outcome === 'applied' && a.ackedEventId === publishedIds.get(w.correlationId))
              ?.appliedAt,
        );
        return [g, at.some((t) => t === undefined) ? null : Math.max(...at.map(Number)) - from];
      }),
    );
  const perPhase = phases.map((p) => {
    const firstOk = writes.filter((w) => w.status === 200 && w.sentAt >= p.readyAt).sort((a, b) => a.at - b.at)[0];
    const down = writes.filter((w) => w.sentAt >= p.killedAt && w.sentAt < p.readyAt);
    const atKill = acked.filter((w) => w.sentAt >= p.killedAt - 1000 && w.sentAt < p.readyAt);
    const times = atKill.map((w) => appliedAt.get(w.correlationId) ?? null);
    const done = times.filter((t): t is number => t !== null);
    return {
      target: p.target,
      downMs: p.readyAt - p.killedAt,
      answersWhileDown: tally(down.map((w) => `${w.status}${w.code ? ` ${w.code}` : ''}`)),
      firstSuccessfulWriteAfterRestartMs: firstOk ? firstOk.at - p.readyAt : null,
      answersAfterRestart5s: tally(
        writes.filter((w) => w.sentAt >= p.readyAt && w.sentAt < p.readyAt + 5000).map((w) => `${w.status}${w.code ? ` ${w.code}` : ''}`),
      ),
      eventsMadeAtKill: atKill.length,
      eventsMadeAtKillNotApplied: times.length - done.length,
      eventsMadeAtKillAppliedEverywhereMsAfterRestart: done.length ? Math.max(...done) - p.readyAt : null,
      eventsMadeAtKillAppliedMsAfterRestartByGroup: byGroup(atKill, p.readyAt),
      // where that time goes: when the last of them reached Kafka (first copy), after the restart
      eventsMadeAtKillPublishedMsAfterRestart: atKill.length
        ? Math.max(...atKill.map((w) => firstAppended.get(w.correlationId) ?? NaN)) - p.readyAt
        : null,
    };
  });

  return {
    durationMs: Date.now() - started,
    settings: { ratePerSecond: RATE, steadyMs: STEADY_MS, downMs: DOWN_MS, groups: [...groups] },
    writes: writes.length,
    acknowledged: acked.length,
    answers: tally(writes.map((w) => String(w.status))),
    answers500: writes.filter((w) => w.status === 500).length,
    acknowledgedWritesLost: carts.reduce((n, c) => n + c.lost, 0),
    unitsBeyondAttempts: carts.reduce((n, c) => n + c.extra, 0),
    acknowledgedEventsNeverAppliedEverywhere: applied.filter((a) => a === null).length,
    acknowledgedQuantityWentBack: regressions.length,
    acknowledgedQuantityWentBackByPhase: tally(regressions.map((w) => phaseOf(w.sentAt))),
    eventsAppliedTwice: twice.length,
    eventsAppliedTwiceByGroup: tally(twice.map((t) => t.group.replace(/\.e2e[0-9a-f]+/g, ''))),
    appliedTwice: twice.slice(0, 3),
    redeliveriesSkippedDuplicate: acks.filter((a) => a.outcome === 'skipped_duplicate').length,
    carts,
    phases: perPhase,
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
