import type { Connection, Model } from 'mongoose';
import type { Outbox } from '@omnimall/service-kit';
import { nextExpiry, type CodeRecord } from '../domain/usage';
import { model } from './models';
import { counterOf, counterPaths, OutboxDocuments, type Documents } from './usage-docs';

export type { CodeRecord } from '../domain/usage';

/** `codes`: one document per discount code, _id the normalised code; its holds, use counts and limits (outbox, exclusive). */
export type CodeDoc = Omit<CodeRecord, 'code'> & { _id: string; nextExpiry: number | null };

export const codeModel = (db: Connection): Model<CodeDoc> =>
  model<CodeDoc>(
    db,
    'PromotionCode',
    {
      _id: String,
      promotionId: String,
      limits: Object,
      active: Boolean,
      ...counterPaths,
    },
    'codes',
  );

const toRecord = ({ _id, nextExpiry: _n, ...d }: CodeDoc): CodeRecord => ({
  ...counterOf(d),
  code: _id,
  promotionId: d.promotionId,
  limits: d.limits,
  active: d.active,
});

const toFields = ({ code: _c, ...r }: CodeRecord) => ({ ...r, nextExpiry: null });

/** The codes: read, read-decide-write (outbox), and those with holds expired by a time (the sweeper's scan). */
export type CodeRepository = Documents<CodeRecord>;

export const codeRepository = (m: Model<CodeDoc>, outbox: Outbox): CodeRepository =>
  new OutboxDocuments(m, outbox, toRecord, toFields, nextExpiry);
