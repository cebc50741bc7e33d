/** The zod schemas the routes validate with and /openapi.json is built from, and small route helpers. */
import { z, type principalOf } from '@omnimall/service-kit';
import { ConfigEntry } from '../domain/config';
import { ChannelCode } from '../domain/registry';

export type Response = Parameters<typeof principalOf>[0];

export const Channel = z
  .object({
    code: z.string(),
    name: z.string(),
    kind: z.string(),
    state: z.string(),
    previousState: z.string().nullable(),
    expectedBackAt: z.string().nullable(),
    blockReasons: z.array(z.string()),
    commerceAllowed: z.boolean(),
    languages: z.array(z.string()),
    currencies: z.array(z.string()),
    appliedConfigVersion: z.number().nullable(),
    version: z.number(),
  })
  .passthrough();
export const Json = z.record(z.string(), z.unknown());
export const CodeParams = z.object({ code: ChannelCode });
export const ConfigVersion = z.object({ version: z.number(), minimumVersion: z.number(), entries: z.record(z.string(), ConfigEntry) });

/** The cause of a write: the request's correlation id and, when it concerns one, the channel. */
export const cause = (res: Response, code?: string) => ({ correlationId: String(res.locals.correlationId), sourceChannel: code ?? null });
export const ok = (body: unknown, status = 200) => ({ status, body });
