/**
 * A local catalogue item as catalog.local-item last showed it, kept to know which sellers are listed
 * on which channel (for maintenance and sunset notices). A withdrawn item stays, with its status and
 * aggregateVersion, so that an older event arriving late cannot list it again.
 */
import type { LocalItemStatus } from '@omnimall/contracts';

export interface SellerListing {
  _id: string; // `${channel}:${sku}`, the item's aggregate id
  channel: string;
  sku: string;
  sellerId: string;
  status: LocalItemStatus;
  aggregateVersion: number;
  updatedAt: Date;
}
