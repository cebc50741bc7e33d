import type { HttpApi } from '@omnimall/service-kit';
import type { AuditLog } from '../application/log';
import { exported, type Trails } from '../application/trails';
import { assertTrailScope, callerOf, refusals, type Guards } from './access';
import * as S from './schemas';

const loading = { 503: { description: 'log_loading: the evidence tree is being rebuilt after a start (Retry-After)' } };

/** Trails, single records, the log export, proofs, checkpoints, keys and verification. */
export function evidenceRoutes(api: HttpApi, trails: Trails, log: AuditLog, g: Guards): void {
  api.route({
    method: 'get',
    path: '/audit/records',
    summary:
      'A trail: evidence records by subject, channel, kind, topic, type, event id and time, in log order (managers: one of their channels)',
    tags: ['evidence'],
    auth: true,
    before: g.staff,
    query: S.TrailQuery,
    responses: {
      200: { description: 'the records, each with its index, hashes and (unless pruned) payload', schema: S.JsonList },
      ...refusals,
    },
    handler: async ({ query, res }) => {
      assertTrailScope(callerOf(res), query.channel);
      const found = await trails.find(
        {
          subject: query.subjectKind && query.subjectRef ? { kind: query.subjectKind, ref: query.subjectRef } : undefined,
          channel: query.channel,
          kinds: query.kind,
          topic: query.topic,
          type: query.type,
          eventId: query.eventId,
          from: query.from,
          to: query.to,
          after: query.after,
        },
        query.limit,
      );
      return { body: found.map(exported) };
    },
  });
  api.route({
    method: 'get',
    path: '/audit/records/:index',
    summary: 'One evidence record with its inclusion proof in the latest checkpoint',
    tags: ['evidence'],
    auth: true,
    before: g.auditor,
    params: S.IndexParams,
    responses: {
      200: { description: 'the record and its proof', schema: S.Json },
      ...refusals,
      404: { description: 'record_not_found' },
      ...loading,
    },
    handler: async ({ params, res }) => {
      const record = exported(await trails.get(params.index));
      const proof = await withRetryAfter(res, () => log.inclusion(params.index)).catch((err: { code?: string }) => {
        if (err.code === 'record_not_in_tree' || err.code === 'tree_size_unknown') return null; // newer than the latest checkpoint
        throw err;
      });
      return { body: { record, inclusion: proof } };
    },
  });
  api.route({
    method: 'get',
    path: '/audit/log',
    summary:
      'The records with indices in [from, from + limit), payloads included (a removed record is absent): what `npm run audit:verify` reads',
    tags: ['evidence'],
    auth: true,
    before: g.auditor,
    query: S.LogQuery,
    responses: { 200: { description: 'records from index `from`, and the log’s size', schema: S.Json }, ...refusals },
    handler: async ({ query }) => ({ body: { size: log.size, records: (await trails.page(query.from, query.limit)).map(exported) } }),
  });
  api.route({
    method: 'get',
    path: '/audit/proofs/inclusion',
    summary: 'RFC 6962 audit path of one record in the tree of `treeSize` records (default: the latest checkpoint)',
    tags: ['proofs'],
    auth: true,
    before: g.auditor,
    query: S.InclusionQuery,
    responses: {
      200: { description: 'leaf hash, root and the proof (hex)', schema: S.Json },
      400: { description: 'tree_size_unknown' },
      404: { description: 'record_not_in_tree' },
      ...refusals,
      ...loading,
    },
    handler: async ({ query, res }) => ({ body: await withRetryAfter(res, () => log.inclusion(query.index, query.treeSize)) }),
  });
  api.route({
    method: 'get',
    path: '/audit/proofs/consistency',
    summary: 'RFC 6962 consistency proof between two tree sizes (two checkpoints): the older tree is a prefix of the newer',
    tags: ['proofs'],
    auth: true,
    before: g.auditor,
    query: S.ConsistencyQuery,
    responses: {
      200: { description: 'both roots and the proof (hex)', schema: S.Json },
      400: { description: 'tree_size_unknown, bad_range' },
      ...refusals,
      ...loading,
    },
    handler: async ({ query, res }) => ({ body: await withRetryAfter(res, async () => log.consistency(query.from, query.to)) }),
  });
  api.route({
    method: 'get',
    path: '/audit/checkpoints',
    summary: 'Signed checkpoints (tree size, root, time, key id, Ed25519 signature), newest first',
    tags: ['proofs'],
    auth: true,
    before: g.auditor,
    query: S.CheckpointQuery,
    responses: { 200: { description: 'the checkpoints', schema: S.JsonList }, ...refusals },
    handler: async ({ query }) => ({ body: await trails.checkpoints(query.limit, query.before) }),
  });
  api.route({
    method: 'get',
    path: '/audit/keys',
    summary: 'Every public key that signed checkpoints here (SPKI PEM with its key id): public, for outside verification',
    tags: ['proofs'],
    responses: { 200: { description: 'the keys', schema: S.JsonList } },
    handler: async () => ({ body: await trails.publicKeys() }),
  });
  api.route({
    method: 'post',
    path: '/audit/verify',
    summary:
      'Verifies the stored log: every record against its hash and chain, payloads, offsets per partition, every checkpoint’s signature and root',
    tags: ['proofs'],
    auth: true,
    before: g.auditor,
    responses: {
      200: {
        description: 'ok, the counts, and every problem found (changed, removed, reordered, truncated, gap, bad_signature)',
        schema: S.Json,
      },
      422: { description: 'log_too_large: use the CLI' },
      ...refusals,
    },
    handler: async () => ({ body: await trails.verify() }),
  });
}

/** Sets Retry-After on a 503 `log_loading` before it propagates. */
async function withRetryAfter<T>(res: { setHeader(name: string, value: string): unknown }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if ((err as { code?: string }).code === 'log_loading') res.setHeader('Retry-After', '5');
    throw err;
  }
}
