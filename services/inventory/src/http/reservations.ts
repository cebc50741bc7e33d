import {
  idempotentId,
  principalOf,
  requireChannel,
  channelOf,
  z,
  type HttpApi,
  type Principal,
  type ServiceAuth,
} from '@omnimall/service-kit';
import { ForbiddenError, ValidationError } from '@omnimall/service-kit/errors';
import type { ReservationService } from '../application/reservations';
import type { Reservation } from '../store';
import { actorOf, corr, refusals, type Guards } from './access';
import * as S from './schemas';

const Id = z.object({ id: z.string().regex(/^r-[0-9a-f]{32}$/) });

export interface HoldLimits {
  defaultHoldSeconds: number;
  maxHoldSeconds: number;
}

/** A reservation's id: derived from the caller and their Idempotency-Key, so a retry finds the same reservation. */
export const reservationIdOf = (caller: string, key: string): string => idempotentId('r-', caller, key);

const view = (r: Reservation) => ({
  id: r.id,
  channel: r.channel,
  reference: r.reference,
  state: r.state,
  // where units are held or shipped from is the inventory's own business
  lines: r.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, backordered: l.backordered })),
  expiresAt: r.expiresAt,
  reason: r.reason,
  hint: r.hint,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

/**
 * Reservations over HTTP, for channel apps (a customer reserves for their own cart, on the channel
 * their token was issued for) and staff (admins, for any channel and reference). Only the caller who
 * made a reservation (or an admin) reads, extends or releases it; committing it, and returning a
 * committed one's units to stock, is the order's (an admin's here, the orders service's over Kafka).
 */
export function reservationRoutes(
  api: HttpApi,
  reservations: ReservationService,
  g: Guards,
  auth: Pick<ServiceAuth, 'verifier' | 'trust'>,
  limits: HoldLimits,
): void {
  const ttl = (seconds: number | undefined): number => {
    const s = seconds ?? limits.defaultHoldSeconds;
    if (s > limits.maxHoldSeconds)
      throw new ValidationError(
        'ttl_too_long',
        `a reservation is held at most ${limits.maxHoldSeconds} s`,
        `ask for ttlSeconds ≤ ${limits.maxHoldSeconds}`,
      );
    return Date.now() + s * 1000;
  };
  const own = async (id: string, p: Principal): Promise<Reservation> => {
    const r = await reservations.get(id);
    if (r.caller !== actorOf(p) && !p.roles.includes('admin'))
      throw new ForbiddenError(
        'not_reservation_owner',
        `reservation ${id} was made by someone else`,
        'only its maker and admins act on a reservation',
      );
    return r;
  };
  const meta = (p: Principal, res: Parameters<typeof corr>[0]) => ({
    caller: actorOf(p),
    actorKind: p.kind === 'staff' ? ('staff' as const) : ('customer' as const),
    commandId: null,
    origin: { correlationId: corr(res) },
  });
  api
    .route({
      method: 'post',
      path: '/reservations',
      summary: 'Reserve units of one or more SKUs for a cart or an order until expiresAt; all lines or none',
      tags: ['reservations'],
      auth: true,
      before: [...g.anyone, requireChannel(auth, { optional: true })],
      headers: S.IdempotencyHeaders.pick({ 'idempotency-key': true }),
      body: S.ReserveBody,
      responses: {
        201: {
          description: 'held: every line (backordered units counted per line)',
          schema: S.Json,
          headers: { Location: { description: 'the reservation', schema: { type: 'string' } } },
        },
        ...refusals,
        400: { description: 'validation_failed, idempotency_key_required, channel_required, ttl_too_long, max_per_order' },
        409: { description: 'insufficient_stock: a line asks for more than the channel may sell (details.available); nothing is held' },
        422: { description: 'idempotency_key_reused: the key was used for another reservation' },
      },
      handler: async ({ body, req, res }) => {
        const p = principalOf(res);
        let channel: string;
        let reference: string;
        if (p.kind === 'customer') {
          channel = channelOf(res) ?? '';
          if (!channel)
            throw new ValidationError('channel_required', 'a customer reserves on the channel of their login', 'log in on a channel');
          reference = `cart:${p.sub}`;
          if (body.reference && body.reference !== reference)
            throw new ForbiddenError(
              'reference_not_own',
              'a customer reserves only for their own cart',
              `send reference ${reference} or none`,
            );
        } else {
          if (!p.roles.includes('admin'))
            throw new ForbiddenError('forbidden', 'staff reservations are an admin’s', 'reserve through the orders service');
          if (!body.channel || !body.reference)
            throw new ValidationError('channel_required', 'staff name the channel and the reference', 'send channel and reference');
          channel = body.channel;
          reference = body.reference;
        }
        const key = req.header('idempotency-key');
        if (!key)
          throw new ValidationError(
            'idempotency_key_required',
            'reservations need an Idempotency-Key header',
            'send a unique key per reservation (a UUID); repeat it to retry',
          );
        const reservationId = reservationIdOf(actorOf(p), key);
        const { reservation, refusal } = await reservations.reserve({
          ...meta(p, res),
          reservationId,
          channel,
          reference,
          lines: body.lines,
          expiresAt: ttl(body.ttlSeconds),
        });
        if (refusal) throw refusal;
        return { status: 201, headers: { location: `/reservations/${reservation.id}` }, body: view(reservation) };
      },
    })
    .route({
      method: 'get',
      path: '/reservations/:id',
      summary: 'A reservation and its state (pending, held, refused, released, committed, expired, returned)',
      tags: ['reservations'],
      auth: true,
      before: g.anyone,
      params: Id,
      responses: { 200: { description: 'the reservation', schema: S.Json }, ...refusals, 404: { description: 'reservation_not_found' } },
      handler: async ({ params, res }) => ({ body: view(await own(params.id, principalOf(res))) }),
    })
    .route({
      method: 'post',
      path: '/reservations/:id/extend',
      summary: 'Hold a reservation longer',
      tags: ['reservations'],
      auth: true,
      before: g.anyone,
      params: Id,
      body: S.ExtendBody,
      responses: {
        200: { description: 'the reservation with its new expiresAt', schema: S.Json },
        ...refusals,
        404: { description: 'reservation_not_found' },
        409: { description: 'reservation_not_active' },
      },
      handler: async ({ params, body, res }) => {
        const p = principalOf(res);
        await own(params.id, p);
        return { body: view(await reservations.extend(params.id, ttl(body.ttlSeconds), meta(p, res))) };
      },
    })
    .route({
      method: 'post',
      path: '/reservations/:id/release',
      summary: 'Give a reservation’s units back (idempotent)',
      tags: ['reservations'],
      auth: true,
      before: g.anyone,
      params: Id,
      responses: {
        200: { description: 'the released reservation', schema: S.Json },
        ...refusals,
        404: { description: 'reservation_not_found' },
        409: { description: 'reservation_not_active: it was committed (return it instead) or returned' },
      },
      handler: async ({ params, res }) => {
        const p = principalOf(res);
        await own(params.id, p);
        return { body: view(await reservations.release(params.id, meta(p, res))) };
      },
    })
    .route({
      method: 'post',
      path: '/reservations/:id/commit',
      summary: 'Commit a reservation: its units leave on-hand stock (admins; orders commit over Kafka)',
      tags: ['reservations'],
      auth: true,
      before: g.admin,
      params: Id,
      responses: {
        200: { description: 'the committed reservation', schema: S.Json },
        ...refusals,
        404: { description: 'reservation_not_found' },
        409: { description: 'reservation_not_active' },
      },
      handler: async ({ params, res }) => ({ body: view(await reservations.commit(params.id, meta(principalOf(res), res))) }),
    })
    .route({
      method: 'post',
      path: '/reservations/:id/return',
      summary:
        'Return a committed reservation: its units go back on hand where they were shipped from, its quota use is given back (admins; orders return over Kafka; idempotent)',
      tags: ['reservations'],
      auth: true,
      before: g.admin,
      params: Id,
      responses: {
        200: { description: 'the returned reservation (state returned; again as it is when it was returned before)', schema: S.Json },
        ...refusals,
        404: { description: 'reservation_not_found' },
        409: {
          description:
            'reservation_not_committed: nothing was shipped (release a held reservation instead); return_not_recorded: committed before the inventory recorded where its units left from (details.skus; adjust on hand instead)',
        },
      },
      handler: async ({ params, res }) => ({ body: view(await reservations.returnToStock(params.id, meta(principalOf(res), res))) }),
    });
}
