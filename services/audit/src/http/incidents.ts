import type { HttpApi } from '@omnimall/service-kit';
import { ForbiddenError } from '@omnimall/service-kit/errors';
import type { IncidentFeed } from '../application/incidents';
import { ALL_CHANNELS, when, type FeedEntry } from '../domain/incidents';
import { callerOf, mayWriteFeed, refusals, type FeedGuards } from './access';
import * as S from './schemas';

/**
 * The per-channel incident feed for business users: the feed as JSON and as a dashboard page,
 * known limitations (admins; channel managers for their channels), and webhook subscriptions.
 */
export function incidentRoutes(api: HttpApi, feed: IncidentFeed, g: FeedGuards): void {
  feedRoutes(api, feed, g);
  limitationRoutes(api, feed, g);
  webhookRoutes(api, feed, g);
}

const TAGS = ['incidents'];
const EntryList = S.FeedEntrySchema.array();

function feedRoutes(api: HttpApi, feed: IncidentFeed, g: FeedGuards): void {
  api.route({
    method: 'get',
    path: '/audit/channels/:channel/incidents',
    summary: 'A channel’s incident feed: open incidents, delays, maintenance, blocks and known limitations first, then recent history',
    tags: TAGS,
    auth: true,
    before: g.read,
    params: S.FeedChannelParams,
    query: S.FeedQuery,
    responses: { 200: { description: 'the entries (the channel’s and the platform-wide ones)', schema: EntryList }, ...refusals },
    handler: async ({ params, query }) => ({ body: await feed.feed(params.channel, query) }),
  });
  api.route({
    method: 'get',
    path: '/audit/channels/:channel/incidents.html',
    summary: 'The incident feed as a dashboard page (open entries first, then the recent history)',
    tags: TAGS,
    auth: true,
    before: g.read,
    params: S.FeedChannelParams,
    query: S.FeedQuery,
    responses: { 200: { description: 'an HTML page', contentType: 'text/html' }, ...refusals },
    handler: async ({ params, query, res }) => {
      const entries = await feed.feed(params.channel, query);
      res
        .status(200)
        .type('html')
        .setHeader('cache-control', 'no-store')
        .send(dashboard(params.channel, entries, Date.now()));
      return undefined;
    },
  });
}

function limitationRoutes(api: HttpApi, feed: IncidentFeed, g: FeedGuards): void {
  api.route({
    method: 'post',
    path: '/audit/channels/:channel/limitations',
    summary:
      'Announces a known limitation on a channel (* : platform-wide, admins only); it shows on the feed until closed or until `until`',
    tags: TAGS,
    auth: true,
    before: g.write,
    params: S.FeedChannelParams,
    body: S.LimitationBody,
    responses: {
      201: { description: 'the limitation entry', schema: S.FeedEntrySchema },
      400: { description: 'validation_failed, until_past' },
      ...refusals,
    },
    handler: async ({ params, body, res }) => ({
      status: 201,
      body: await feed.openLimitation(params.channel, body, callerOf(res).sub),
    }),
  });
  api.route({
    method: 'post',
    path: '/audit/channels/:channel/limitations/:id/close',
    summary: 'Closes a known limitation (it stays in the feed’s history, resolved)',
    tags: TAGS,
    auth: true,
    before: g.write,
    params: S.LimitationParams,
    responses: {
      200: { description: 'the closed limitation', schema: S.FeedEntrySchema },
      404: { description: 'limitation_not_found' },
      409: { description: 'limitation_closed' },
      ...refusals,
    },
    handler: async ({ params, res }) => ({ body: await feed.closeLimitation(params.channel, params.id, callerOf(res).sub) }),
  });
}

function webhookRoutes(api: HttpApi, feed: IncidentFeed, g: FeedGuards): void {
  api.route({
    method: 'post',
    path: '/audit/channels/:channel/webhooks',
    summary:
      'Subscribes a URL to the channel’s feed: each new or changed entry is POSTed as JSON, signed X-Omnimall-Signature: sha256=<hex HMAC of the body>, with X-Omnimall-Delivery; retried with backoff. The URL must be https (http only where WEBHOOK_ALLOW_HTTP is set) and its host must resolve to public internet addresses only, checked now and at every delivery',
    tags: TAGS,
    auth: true,
    before: g.read,
    params: S.FeedChannelParams,
    body: S.WebhookBody,
    responses: {
      201: { description: 'the subscription (its secret is never returned)', schema: S.Json },
      400: { description: 'validation_failed (not an absolute http(s) URL, or credentials in it)' },
      409: { description: 'too_many_webhooks' },
      422: {
        description:
          'webhook_https_required (plain http outside local mode), webhook_target_refused (the host is or resolves to a loopback, private, link-local/metadata or other non-public address), webhook_host_unresolvable',
      },
      ...refusals,
    },
    handler: async ({ params, body, res }) => ({
      status: 201,
      body: await feed.subscribe(params.channel, body.url, body.secret, callerOf(res).sub),
    }),
  });
  api.route({
    method: 'get',
    path: '/audit/channels/:channel/webhooks',
    summary: 'The channel’s webhook subscriptions (without secrets)',
    tags: TAGS,
    auth: true,
    before: g.read,
    params: S.FeedChannelParams,
    responses: { 200: { description: 'the subscriptions', schema: S.JsonList }, ...refusals },
    handler: async ({ params }) => ({ body: await feed.subscriptions(params.channel) }),
  });
  api.route({
    method: 'get',
    path: '/audit/channels/:channel/webhooks/:id/deliveries',
    summary: 'A subscription’s latest deliveries: attempts, last status, last error',
    tags: TAGS,
    auth: true,
    before: g.read,
    params: S.WebhookParams,
    responses: {
      200: { description: 'the deliveries, newest first', schema: S.JsonList },
      404: { description: 'webhook_not_found' },
      ...refusals,
    },
    handler: async ({ params }) => ({ body: await feed.deliveries(params.channel, params.id, 100) }),
  });
  api.route({
    method: 'delete',
    path: '/audit/channels/:channel/webhooks/:id',
    summary: 'Removes a subscription (its creator, admins, or the channel’s managers); pending deliveries are cancelled',
    tags: TAGS,
    auth: true,
    before: g.read,
    params: S.WebhookParams,
    responses: { 204: { description: 'removed' }, 404: { description: 'webhook_not_found' }, ...refusals },
    handler: async ({ params, res }) => {
      const p = callerOf(res);
      const sub = await feed.subscription(params.channel, params.id);
      if (sub.createdBy !== p.sub && !mayWriteFeed(p, params.channel))
        throw new ForbiddenError(
          'webhook_not_yours',
          'only its creator, an admin or the channel’s manager removes a webhook',
          'ask them to remove it',
        );
      await feed.unsubscribe(params.channel, params.id);
      return { status: 204 };
    },
  });
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const KIND_WORDS: Record<FeedEntry['kind'], string> = {
  incident: 'Incident',
  delay: 'Delay',
  recovery: 'Recovery',
  maintenance: 'Maintenance',
  blocked: 'Sales paused',
  limitation: 'Known limitation',
};

function row(e: FeedEntry): string {
  const since = e.status === 'open' ? `since ${when(e.openedAt)}` : `resolved ${when(e.resolvedAt ?? e.updatedAt)}`;
  const until = e.until !== undefined && e.status === 'open' ? ` · until ${when(e.until)}` : '';
  const scope = e.channel === ALL_CHANNELS ? ' · all channels' : '';
  return (
    `<li class="${e.status}"><h3>${escapeHtml(e.title)}</h3>` +
    `<p class="meta">${escapeHtml(KIND_WORDS[e.kind])} · ${escapeHtml(since + until + scope)}</p>` +
    `<p>${escapeHtml(e.detail)}</p></li>`
  );
}

/** The dashboard page: open entries first, then the recent history; every text escaped. */
export function dashboard(channel: string, entries: readonly FeedEntry[], now: number): string {
  const open = entries.filter((e) => e.status === 'open');
  const history = entries.filter((e) => e.status === 'resolved');
  const name = channel === ALL_CHANNELS ? 'all channels' : channel;
  const list = (items: readonly FeedEntry[], none: string): string =>
    items.length ? `<ul>${items.map(row).join('')}</ul>` : `<p class="none">${escapeHtml(none)}</p>`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Service status: ${escapeHtml(name)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}',
    'ul{list-style:none;padding:0}li{border-left:4px solid #999;padding:.25rem 1rem;margin:1rem 0}',
    'li.open{border-color:#c62}li.resolved{border-color:#393}h3{margin:.25rem 0}.meta{color:#666;font-size:.9rem}</style>',
    '</head><body>',
    `<h1>Service status: ${escapeHtml(name)}</h1>`,
    `<p class="meta">As of ${escapeHtml(when(now))}</p>`,
    `<h2>Open now (${open.length})</h2>`,
    list(open, 'Nothing open: everything works as expected.'),
    '<h2>Recent history</h2>',
    list(history, 'No recent incidents.'),
    '</body></html>',
  ].join('\n');
}
