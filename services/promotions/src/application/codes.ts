import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@omnimall/service-kit/errors';
import { checkCodeLimits, heldOf, newCounter, normaliseCode, type CodeLimits, type CodeRecord } from '../domain/usage';
import type { CodeRepository } from '../store/codes';

export interface CreateCodes {
  promotionId: string;
  /** Codes to create as given (normalised), or `generate` random ones after `prefix`. */
  codes?: readonly string[];
  generate?: { count: number; prefix: string };
  limits: CodeLimits;
  actor: string;
}

/** What a code shows: its promotion, limits and use. */
export const codeUsage = (c: CodeRecord) => ({
  code: c.code,
  promotionId: c.promotionId,
  limits: c.limits,
  active: c.active,
  used: c.used,
  held: heldOf(c),
  remaining: c.limits.total === null ? null : Math.max(0, c.limits.total - c.used - heldOf(c)),
  customers: Object.keys(c.perCustomerUsed).length,
  createdBy: c.createdBy,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

export const codeNotFound = (code: string): NotFoundError =>
  new NotFoundError('code_not_found', `no code ${code}`, 'create it with POST /promotions/{id}/codes, or check the code');

const MAX_CODES = 1000;
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Discount codes of a promotion: created by admins, one document each, deactivated but never deleted. */
export class CodeService {
  constructor(
    private readonly codes: CodeRepository,
    /** Whether a promotion exists (null: not checked, the promotion id is taken as given). */
    private readonly promotionExists: ((id: string) => Promise<boolean>) | null = null,
  ) {}

  async get(raw: string): Promise<CodeRecord> {
    const code = normaliseCode(raw);
    const c = await this.codes.get(code);
    if (!c) throw codeNotFound(code);
    return c;
  }

  /**
   * Creates codes for a promotion. A code that exists already for the same promotion with the same limits
   * is returned as is (a retry); one that exists otherwise is refused (409 code_exists) after the others are made.
   */
  async create(req: CreateCodes): Promise<CodeRecord[]> {
    checkCodeLimits(req.limits);
    if (this.promotionExists && !(await this.promotionExists(req.promotionId)))
      throw new NotFoundError('promotion_not_found', `no promotion ${req.promotionId}`, 'create the promotion first');
    const wanted = req.generate ? generated(req.generate.count, req.generate.prefix) : (req.codes ?? []).map(normaliseCode);
    if (!wanted.length || wanted.length > MAX_CODES)
      throw new ValidationError('invalid_codes', `send 1 to ${MAX_CODES} codes`, 'send codes: [...] or generate: { count, prefix }');
    const made: CodeRecord[] = [];
    const taken: string[] = [];
    for (const code of [...new Set(wanted)]) {
      const now = Date.now();
      const after = await this.codes.transact(
        code,
        (cur) => {
          if (cur) return null;
          const record: CodeRecord = {
            ...newCounter(req.actor, now),
            code,
            promotionId: req.promotionId,
            limits: req.limits,
            active: true,
          };
          return { record, events: [] };
        },
        true,
      );
      if (after && after.promotionId === req.promotionId && JSON.stringify(after.limits) === JSON.stringify(req.limits)) made.push(after);
      else taken.push(code);
    }
    if (taken.length)
      throw new ConflictError(
        'code_exists',
        `${taken.length} code(s) exist already for another promotion or limits`,
        'choose other codes',
        {
          codes: taken,
          created: made.map((c) => c.code),
        },
      );
    return made;
  }

  /** Activates or deactivates a code (a deactivated code refuses new holds; holds already made stand). */
  async setActive(raw: string, active: boolean): Promise<CodeRecord> {
    const code = normaliseCode(raw);
    const after = await this.codes.transact(code, (cur) => {
      if (!cur) throw codeNotFound(code);
      return cur.active === active ? null : { record: { ...cur, active, version: cur.version + 1, updatedAt: Date.now() }, events: [] };
    });
    return after!;
  }
}

function generated(count: number, prefix: string): string[] {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_CODES)
    throw new ValidationError('invalid_generate', `generate.count is 1 to ${MAX_CODES}`, `ask for at most ${MAX_CODES} codes at once`);
  const p = prefix.trim().toUpperCase();
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(10);
    return normaliseCode(p + Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join(''));
  });
}
