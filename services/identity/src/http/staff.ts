import { principalOf } from '@omnimall/service-kit';
import { createStaff } from '../application/staff';
import type { StaffAccount } from '../domain/staff';
import { errors, tags, type Routes } from './common';
import * as S from './schemas';

export const staffView = (s: StaffAccount) => ({ id: s._id, email: s.email, roles: s.roles, channels: s.channels });

/** Staff accounts: created by admins only. */
export function staffRoutes({ api, ctx, authed }: Routes): void {
  api.route({
    method: 'post',
    path: '/staff',
    summary: 'Create a staff account (admin)',
    tags: tags.staff,
    auth: true,
    before: authed({ kind: 'staff', roles: ['admin'] }),
    body: S.StaffBody,
    responses: { 201: { description: 'created', schema: S.StaffView }, ...errors([409]) },
    handler: async ({ body, res }) => ({ status: 201, body: staffView(await createStaff(ctx, body, principalOf(res).sub)) }),
  });
}
