// The kit extends zod with .openapi(); this import brings that augmentation's types into this project.
import '@asteasolutions/zod-to-openapi';
import { z } from '@omnimall/service-kit';
import { EVIDENCE_KINDS } from '../domain/records';

/** The zod schemas of the audit routes. */
export const Json = z.record(z.string(), z.unknown()).openapi('AuditObject');
export const JsonList = z.array(Json);

const Ref = z.string().trim().min(1).max(200);
const Millis = z.coerce.number().int().min(0);
const Index = z.coerce.number().int().min(0);

const Kinds = z
  .string()
  .transform((s) => s.split(',').map((k) => k.trim()))
  .pipe(z.array(z.enum(EVIDENCE_KINDS)).min(1))
  .openapi({ description: `Comma-separated kinds: ${EVIDENCE_KINDS.join(', ')}` });

export const TrailQuery = z
  .object({
    subjectKind: Ref.optional().openapi({ description: 'customer, channel, product, order, promotion, staff, event… (with subjectRef)' }),
    subjectRef: Ref.optional().openapi({ description: 'The subject’s id (with subjectKind)' }),
    channel: Ref.optional(),
    kind: Kinds.optional(),
    topic: Ref.optional(),
    type: Ref.optional(),
    eventId: Ref.optional(),
    from: Millis.optional().openapi({ description: 'Recorded at or after (epoch ms)' }),
    to: Millis.optional().openapi({ description: 'Recorded before (epoch ms)' }),
    after: Index.optional().openapi({ description: 'Records after this index (paging: the last index of the previous page)' }),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .refine((q) => (q.subjectKind === undefined) === (q.subjectRef === undefined), {
    message: 'subjectKind and subjectRef go together',
    path: ['subjectRef'],
  });

export const IndexParams = z.object({ index: Index });
export const InclusionQuery = z.object({
  index: Index,
  treeSize: z.coerce.number().int().min(1).optional().openapi({ description: 'Default: the latest checkpoint’s' }),
});
export const ConsistencyQuery = z.object({ from: z.coerce.number().int().min(1), to: z.coerce.number().int().min(1) });
export const LogQuery = z.object({ from: Index.default(0), limit: z.coerce.number().int().min(1).max(5000).default(1000) });
export const CheckpointQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(1).optional(),
});
export const HoldBody = z.object({
  subjectKind: Ref,
  subjectRef: Ref,
  reason: z.string().trim().min(3).max(500),
});
export const HoldParams = z.object({ id: z.string().regex(/^hold_[0-9a-f-]{36}$/) });
