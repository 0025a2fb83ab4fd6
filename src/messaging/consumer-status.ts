import { Injectable } from '@nestjs/common';

/**
 * How long membership counts without a heartbeat: the consumer's session timeout, after which
 * the broker itself would have dropped the member.
 */
export const MEMBERSHIP_STALE_MS = 15_000;

/** Group membership of this instance's consumer, for readiness. */
@Injectable()
export class ConsumerStatus {
  private member = false;
  private lastContact = 0;
  private partitions: Record<string, number[]> = {};
  private lastError: string | null = null;

  get isMember(): boolean {
    return this.member && Date.now() - this.lastContact < MEMBERSHIP_STALE_MS;
  }

  /** Records a successful heartbeat or fetch, which shows that the broker still counts this member. */
  contact(): void {
    this.lastContact = Date.now();
  }

  joined(partitions: Record<string, number[]>): void {
    this.member = true;
    this.lastContact = Date.now();
    this.partitions = partitions;
    this.lastError = null;
  }

  left(error: string | null): void {
    this.member = false;
    this.partitions = {};
    this.lastError = error;
  }

  snapshot(): { member: boolean; partitions: Record<string, number[]>; lastError: string | null } {
    const member = this.isMember;
    const silentMs = Date.now() - this.lastContact;
    // A member that stopped hearing from the broker keeps no partitions in the broker's view either.
    const lastError =
      this.member && !member ? `no heartbeat or fetch for ${Math.round(silentMs / 1000)} s` : this.lastError;
    return { member, partitions: member ? this.partitions : {}, lastError };
  }
}
