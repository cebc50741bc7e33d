/** A staff account: roles decide what it may do, `channels` scope a channel manager. */
export interface StaffAccount {
  _id: string;
  email: string;
  passwordHash: string;
  roles: string[];
  channels: string[];
  createdBy: string;
  createdAt: Date;
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
