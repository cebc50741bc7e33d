import {
  channelHeaders,
  channelOf,
  channelResponses,
  requireChannel,
  type HttpApi,
  type Principal,
  type ServiceAuth,
} from '@omnimall/service-kit';
import { ForbiddenError, UnauthorizedError, ValidationError } from '@omnimall/service-kit/errors';
import type { QuoteService } from '../application/quotes';
import * as S from './schemas';

/**
 * POST /quotes for channel apps and staff. A customer token quotes for its own customer on its login's
 * channel; a channel key or device token for its channel, anonymously; staff for any channel and customer.
 */
export function quoteRoutes(api: HttpApi, quotes: QuoteService, auth: Pick<ServiceAuth, 'verifier' | 'trust'>): void {
  api.route({
    method: 'post',
    path: '/quotes',
    summary: 'Price lines for a channel, a customer and an instant: adjustments per line, totals, gifts, and why the others did not apply',
    tags: ['quotes'],
    auth: true,
    before: [requireChannel(auth, { optional: true })],
    headers: channelHeaders,
    body: S.QuoteBody,
    responses: {
      200: {
        description: 'the quote (notApplied: promotion reasons, and code_unknown / code_exhausted / code_inactive for codes)',
        schema: S.Json,
      },
      400: { description: 'validation_failed (at most 100 lines), channel_required' },
      401: channelResponses[401],
      403: { description: 'channel_mismatch, customer_not_own' },
    },
    handler: async ({ body, res }) => {
      const p = res.locals.principal as Principal | undefined;
      const proven = channelOf(res);
      let channel: string | undefined;
      let customerId: string | null = null;
      if (p?.kind === 'staff') {
        channel = body.channel ?? proven;
        customerId = body.customerId ?? null;
      } else if (p?.kind === 'customer') {
        if (body.customerId && body.customerId !== p.sub)
          throw new ForbiddenError('customer_not_own', 'a customer quotes for themselves', 'leave customerId out');
        if (body.channel && body.channel !== proven)
          throw new ForbiddenError('channel_mismatch', `the token was issued for ${proven ?? 'no channel'}`, 'leave channel out');
        channel = proven;
        customerId = p.sub;
      } else if (proven) {
        if (body.channel && body.channel !== proven)
          throw new ForbiddenError('channel_mismatch', `the credentials are ${proven}’s`, 'leave channel out');
        channel = proven;
      } else
        throw new UnauthorizedError(
          'channel_credentials_missing',
          'a quote is asked by a channel app or staff',
          'send a bearer token, or x-channel-code + x-channel-key',
        );
      if (!channel)
        throw new ValidationError('channel_required', 'the quote names no channel', 'staff send channel; customers log in on a channel');
      return { body: await quotes.quote({ channel, customerId, at: body.at ?? Date.now(), lines: body.lines, codes: body.codes }) };
    },
  });
}
