// The kit extends zod with .openapi(); this import brings that augmentation's types into this project.
import '@asteasolutions/zod-to-openapi';
import { z } from '@omnimall/service-kit';
import { EVIDENCE_KINDS } from '../domain/records';
import { instantOf } from '../domain/reconcile';

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

/** An instant: ISO 8601 text or epoch ms. */
const Instant = z
  .union([z.string().trim().min(1).max(40), z.number().int().min(0)])
  .transform((v, ctx) => {
    const t = instantOf(v);
    if (t === null) {
      ctx.addIssue({ code: 'custom', message: 'an ISO 8601 date-time or epoch milliseconds' });
      return z.NEVER;
    }
    return t;
  })
  .openapi({ description: 'ISO 8601 date-time or epoch milliseconds' });
export const ReportBody = z.object({
  from: Instant,
  to: Instant.openapi({ description: 'End of the period, exclusive (ISO 8601 or epoch ms)' }),
  channels: z.array(Ref).max(100).default([]).openapi({ description: 'Channel codes; empty: every channel (auditors only)' }),
  topics: z.array(Ref).max(500).optional().openapi({ description: 'Topics to reconcile; default every topic the audit reads' }),
});
export const ReportParams = z.object({ id: z.string().regex(/^rep_[0-9a-f-]{36}$/) });

// The incident feed (http/incidents.ts).
export const FeedChannelParams = z.object({
  channel: z
    .string()
    .regex(/^(\*|[A-Za-z0-9][A-Za-z0-9_.:-]{0,99})$/)
    .openapi({ description: 'A channel code, or * for the platform-wide entries' }),
});
export const FeedQuery = z.object({
  status: z.enum(['open', 'resolved']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const LimitationBody = z.object({
  title: z.string().trim().min(3).max(200),
  detail: z.string().trim().min(1).max(2000),
  until: z.coerce.number().int().min(0).optional().openapi({ description: 'Announced end (epoch ms); the limitation closes then' }),
});
export const LimitationParams = FeedChannelParams.extend({ id: z.string().regex(/^lim_[0-9a-f-]{36}$/) });
export const WebhookBody = z.object({
  url: z.string().trim().min(8).max(2000).openapi({ description: 'A public https:// URL (http:// in local mode) entries are POSTed to' }),
  secret: z.string().min(16).max(200).openapi({ description: 'HMAC-SHA256 key of X-Omnimall-Signature; never returned' }),
});
export const WebhookParams = FeedChannelParams.extend({ id: z.string().regex(/^whk_[0-9a-f-]{36}$/) });
export const FeedEntrySchema = z
  .object({
    id: z.string(),
    channel: z.string(),
    kind: z.enum(['incident', 'delay', 'recovery', 'maintenance', 'blocked', 'limitation']),
    status: z.enum(['open', 'resolved']),
    title: z.string(),
    detail: z.string(),
    openedAt: z.number(),
    resolvedAt: z.number().optional(),
    updatedAt: z.number(),
    until: z.number().optional(),
    source: Json,
  })
  .openapi('IncidentFeedEntry');
