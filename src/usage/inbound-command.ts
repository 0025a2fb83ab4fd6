import { CustomerChange } from '../locking/customer-change';
import { InboundEvent } from '../messaging/inbound-event';

/** Maps a decoded inbound event to the change it makes. */
export function toCustomerChange(event: InboundEvent): CustomerChange {
  switch (event.type) {
    case 'StorageUsageChanged':
      return { kind: 'storage', deltaBytes: event.deltaBytes };
    case 'UserAllocated':
      return { kind: 'allocateUser', userId: event.userId };
    case 'UserDeallocated':
      return { kind: 'deallocateUser', userId: event.userId };
    case 'LockCustomer':
      return { kind: 'admin', adminLock: true };
    case 'UnlockCustomer':
      return { kind: 'admin', adminLock: false };
    case 'SetCustomerLimits':
      return { kind: 'admin', quotaMax: event.quotaMax, userMax: event.userMax };
  }
}
