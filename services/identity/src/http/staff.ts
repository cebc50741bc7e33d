import { principalOf } from '@omnimall/service-kit';
import { createStaff, updateStaff } from '../application/staff';
import type { StaffAccount } from '../domain/staff';
import { correlationOf, errors, tags, type Routes } from './common';
import * as S from './schemas';

export const staffView = (s: StaffAccount) => ({
  id: s._id,
  email: s.email,
  roles: s.roles,
  channels: s.channels,
  disabled: s.disabled ?? false,
});

/**
 * Staff accounts: created and changed by admins only. A change (disable, enable, roles, channels)
 * is announced on identity.staff-changed; new roles reach the member's next access token.
 */
export function staffRoutes({ api, ctx, authed }: Routes): void {
  const admin = authed({ kind: 'staff', roles: ['admin'] });
  api.route({
    method: 'post',
    path: '/staff',
    summary: 'Create a staff account (admin)',
    tags: tags.staff,
    auth: true,
    before: admin,
    body: S.StaffBody,
    responses: { 201: { description: 'created', schema: S.StaffView }, ...errors([401, 403, 409]) },
    handler: async ({ body, res }) => ({ status: 201, body: staffView(await createStaff(ctx, body, principalOf(res).sub)) }),
  });
  api.route({
    method: 'patch',
    path: '/staff/:id',
    summary: 'Disable or enable a staff account, or change its roles or channels (admin; announced on identity.staff-changed)',
    tags: tags.staff,
    auth: true,
    before: admin,
    params: S.IdParams,
    body: S.StaffEditBody,
    responses: {
      200: { description: 'the account after the change', schema: S.StaffView },
      ...errors([401, 403, 404], 'not an admin, your own access (own_admin_access), or no such account'),
    },
    handler: async ({ params, body, res }) => {
      const r = await updateStaff(ctx, params.id, body, principalOf(res).sub, { correlationId: correlationOf(res) });
      return { body: staffView(r.staff) };
    },
  });
}
