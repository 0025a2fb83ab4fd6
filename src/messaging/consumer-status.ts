import { Injectable } from '@nestjs/common';

/** Group membership of this instance's consumer, for readiness. */
@Injectable()
export class ConsumerStatus {
  private member = false;
  private partitions: Record<string, number[]> = {};
  private lastError: string | null = null;

  get isMember(): boolean {
    return this.member;
  }

  joined(partitions: Record<string, number[]>): void {
    this.member = true;
    this.partitions = partitions;
    this.lastError = null;
  }

  left(error: string | null): void {
    this.member = false;
    this.partitions = {};
    this.lastError = error;
  }

  snapshot(): { member: boolean; partitions: Record<string, number[]>; lastError: string | null } {
    return { member: this.member, partitions: this.partitions, lastError: this.lastError };
  }
}
