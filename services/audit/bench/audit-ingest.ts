/**
 * audit-ingest: how fast the audit chains records it did not produce, and what each costs. A burst of
 * RECORDS channel-changed events (a real Avro payload of about 0.5 KB) is published at once; the row
 * reports records chained per second from the first publish to the last record chained, the lag of each
 * record (recordedAt − occurredAt) as p50/p95/p99, and the CPU per record of the audit process, FerretDB
 * and Kafka.
 *
 * audit-verify: the whole log of that run verified three times by POST /audit/verify (the service
 * reads every record back and checks hashes, chain, payloads, offsets, checkpoints), as p50/p99 per
 * run, with µs per record; and the CLI's own check of the downloaded log (`cli_ms`).
 */
import { join } from 'node:path';
import { verifyLog, type Checkpoint, type EvidenceRecord } from '@omnimall/evidence';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { bearer, channelPayload, testConfig, testGroups, testTokens, uniqueName } from '@omnimall/service-kit/testing';
import { benchSeconds, cpuMeter, runStandalone, summarise, type BenchRow } from '../../../bench/harness';
import { jsonClient, spawnService } from '../../../bench/service-process';

export const rows = ['audit-ingest', 'audit-verify'];

const RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 20_000);
const BATCH = 500;

export async function run(): Promise<BenchRow[]> {
  const { publicKey } = await testTokens();
  const auditor = { authorization: await bearer({ sub: 'bench-auditor', kind: 'staff', roles: ['compliance_officer'] }) };
  const svc = await spawnService({
    service: 'audit',
    script: join(__dirname, 'audit-process.ts'),
    dbName: uniqueName('bench_audit'),
    groups: testGroups(),
    publicKey,
    env: { BENCH_AUDIT_TOPICS: 'channels.channel-changed', AUDIT_CHECKPOINT_RECORDS: '5000', AUDIT_CHECKPOINT_MS: '2000' },
  });
  const sim = await ServiceRuntime.start({ config: testConfig('audit-bench'), produces: ['channels.channel-changed'] });
  const http = jsonClient(8);
  const size = async (): Promise<number> => {
    const r = await http.call(svc.url, 'GET', '/audit/log?limit=1', auditor);
    if (r.status !== 200) throw new Error(`log: ${r.status} ${JSON.stringify(r.body)}`);
    return Number((r.body as { size: number }).size);
  };
  try {
    // the reader has joined once one record published now is chained
    await sim.publisher.publish([
      newEvent(
        'channels.channel-changed',
        { type: 'channel.changed', producer: 'channels', aggregateId: 'warm', aggregateVersion: 1 },
        channelPayload('warm'),
      ),
    ]);
    const deadline = Date.now() + 60_000;
    while ((await size()) < 1) {
      if (Date.now() > deadline) throw new Error('the audit never chained the warm-up record');
      await new Promise((r) => setTimeout(r, 100));
    }
    const start = await size();
    const cpu = cpuMeter(['ferretdb', 'kafka'], { audit: svc.child.pid });
    const began = Date.now();
    const tag = uniqueName('b').slice(2);
    for (let i = 0; i < RECORDS; i += BATCH) {
      await sim.publisher.publish(
        Array.from({ length: Math.min(BATCH, RECORDS - i) }, (_, j) => {
          const code = `bench-${tag}-${(i + j) % 200}`;
          return newEvent(
            'channels.channel-changed',
            { type: 'channel.changed', producer: 'channels', aggregateId: code, aggregateVersion: i + j + 1 },
            channelPayload(code),
          );
        }),
      );
    }
    const bound = Date.now() + benchSeconds(180) * 1000;
    while ((await size()) < start + RECORDS) {
      if (Date.now() > bound) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const elapsed = (Date.now() - began) / 1000;
    const chained = (await size()) - start;
    const costs = cpu.per(Math.max(1, chained));

    // the whole log, as the CLI reads it
    const records: EvidenceRecord[] = [];
    const total = await size();
    while (records.length < total) {
      const page = await http.call(svc.url, 'GET', `/audit/log?from=${records.length}&limit=5000`, auditor);
      const got = (page.body as { records: EvidenceRecord[] }).records;
      if (!got.length) break;
      records.push(...got);
    }
    const lags = records.slice(start).map((r) => r.recordedAt - r.occurredAt);
    const ingest = summarise('audit-ingest', lags, {
      target_rate: RECORDS,
      achieved_rate: Math.round(chained / elapsed),
      records: chained,
      lost: RECORDS - chained,
      seconds: Math.round(elapsed * 10) / 10,
      ...costs,
    });

    // verification
    await http.call(svc.url, 'GET', '/audit/log?limit=1', auditor);
    const verifyMs: number[] = [];
    let problems = -1;
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const v = await http.call(svc.url, 'POST', '/audit/verify', auditor, {});
      verifyMs.push(Date.now() - t0);
      if (v.status !== 200) throw new Error(`verify: ${v.status} ${JSON.stringify(v.body)}`);
      problems = (v.body as { problems: unknown[] }).problems.length;
    }
    const checkpoints = (await http.call(svc.url, 'GET', '/audit/checkpoints?limit=500', auditor)).body as Checkpoint[];
    const keys = ((await http.call(svc.url, 'GET', '/audit/keys', {})).body as Array<{ publicPem: string }>).map((k) => k.publicPem);
    const t0 = Date.now();
    const cliProblems = verifyLog(
      records,
      checkpoints.sort((a, b) => a.treeSize - b.treeSize),
      keys,
    ).length;
    const cliMs = Date.now() - t0;
    const verify = summarise('audit-verify', verifyMs, {
      records: records.length,
      us_per_record: Math.round((Math.min(...verifyMs) * 1000) / Math.max(1, records.length)),
      problems,
      cli_ms: cliMs,
      cli_problems: cliProblems,
    });
    return [ingest, verify];
  } finally {
    await sim.stop();
    await svc.stop();
  }
}

if (require.main === module) runStandalone(run);
