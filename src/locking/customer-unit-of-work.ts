import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';

import { sleep } from '../common/time/backoff';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { DatabaseService, TransactionHooks } from '../database/database.service';
import { CommandOutcome, CustomerCommand } from './customer-change';
import { LockChangeWriter } from './lock-change-writer';
import { applyUsageChange, CustomerUsage, UsageChange } from './lock-policy';
import { parseLockReasons } from './lock-reason';

interface LockedCustomer {
  state: CustomerUsage;
  lockVersion: bigint;
  dirty: boolean;
}

interface CustomerRow {
  id: string;
  quota_used: string;
  quota_max: string;
  user_used: string;
  user_max: string;
  lock_reasons: string[];
  lock_version: string;
}

function dedupeIdentity(customerId: bigint, source: string, eventId: string): string {
  return JSON.stringify([customerId.toString(), source, eventId]);
}

function sameUsage(before: CustomerUsage, after: CustomerUsage): boolean {
  return (
    before.quotaUsed === after.quotaUsed &&
    before.quotaMax === after.quotaMax &&
    before.userUsed === after.userUsed &&
    before.userMax === after.userMax
  );
}

function fingerprintHash(fingerprint: string): string {
  return createHash('sha256').update(fingerprint).digest('hex');
}

/**
 * The one path that changes customers' usage, limits and lock state. In one transaction it locks
 * the affected rows in id order, records dedupe keys, folds the new commands in order through the
 * lock policy and writes counters, user set, history and outbox with set-based SQL.
 */
@Injectable()
export class CustomerUnitOfWork {
  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Applies the commands in order; returns one outcome per command, in the same order. */
  async run(commands: readonly CustomerCommand[], hooks: TransactionHooks = {}): Promise<CommandOutcome[]> {
    return this.database.transaction((client) => this.apply(client, commands), hooks);
  }

  /** Applies the commands inside a transaction the caller opened on `client`, which must stay open. */
  async apply(client: PoolClient, commands: readonly CustomerCommand[]): Promise<CommandOutcome[]> {
    const outcomes: (CommandOutcome | undefined)[] = commands.map(() => undefined);
    const customers = await this.lockCustomers(client, commands);
    if (this.config.testTransactionDelayMs > 0) {
      await sleep(this.config.testTransactionDelayMs);
    }
    this.failMatchingTestEvent(commands);

    for (const [index, command] of commands.entries()) {
      if (!customers.has(command.customerId)) {
        outcomes[index] = {
          status: 'rejected',
          reason: 'CUSTOMER_NOT_FOUND',
          message: `customer ${command.customerId} does not exist; create it before sending usage for it`,
        };
      }
    }
    const repeats = new Map<number, number>();
    const fresh = await this.recordDedupeKeys(client, commands, outcomes, repeats);
    const members = await this.loadMemberships(client, commands, fresh);

    const writer = new LockChangeWriter(this.config.serviceSource);
    const rejectedKeys: number[] = [];
    // Identity of each applied event, mapped to its index. A repeat of an applied event is a duplicate.
    // A repeat of a rejected one is applied in its place and takes over the dedupe key.
    const winners = new Map<string, number>();
    const lateWinners: number[] = [];
    const markApplied = (index: number, identity: string | undefined): void => {
      if (identity !== undefined) {
        winners.set(identity, index);
        if (repeats.has(index)) {
          lateWinners.push(index);
        }
      }
    };
    const userChanges = new Map<string, { customerId: bigint; userId: string; present: boolean }>();
    for (const index of fresh) {
      const command = commands[index];
      const identity = command.dedupe
        ? dedupeIdentity(command.customerId, command.dedupe.source, command.dedupe.eventId)
        : undefined;
      const winner = identity === undefined ? undefined : winners.get(identity);
      if (winner !== undefined) {
        const payloadDiffers = commands[winner].dedupe?.fingerprint !== command.dedupe?.fingerprint;
        outcomes[index] = { status: 'duplicate', payloadDiffers };
        continue;
      }
      const customer = customers.get(command.customerId) as LockedCustomer;
      const change = this.toUsageChange(command, customer, members, userChanges);
      if (change === null) {
        markApplied(index, identity);
        outcomes[index] = {
          status: 'applied',
          clamped: 0n,
          published: 0,
          lockReasons: customer.state.lockReasons,
        };
        continue;
      }
      const result = applyUsageChange(customer.state, change);
      if (!result.ok) {
        outcomes[index] = { status: 'rejected', reason: 'OUT_OF_RANGE', message: result.message };
        rejectedKeys.push(index);
        this.revertMembership(command, members, userChanges);
        continue;
      }
      markApplied(index, identity);
      // An admin action that changes nothing leaves the row, and so updated_at, alone.
      customer.dirty ||= result.transitions.length > 0 || !sameUsage(customer.state, result.state);
      customer.state = result.state;
      let published = 0;
      for (const transition of result.transitions) {
        if (transition.publishes) {
          customer.lockVersion += 1n;
          published++;
        }
        writer.add({
          customerId: command.customerId,
          change: transition.change,
          reason: transition.reason,
          reasonsBefore: transition.reasonsBefore,
          reasonsAfter: transition.reasonsAfter,
          lockVersion: customer.lockVersion,
          publishes: transition.publishes,
          usage: result.state,
          actor: command.actor,
          causationId: command.causationId,
          comment: command.comment ?? null,
        });
      }
      outcomes[index] = {
        status: 'applied',
        clamped: result.clamped,
        published,
        lockReasons: result.state.lockReasons,
      };
    }

    await this.deleteDedupeKeys(client, commands, rejectedKeys);
    await this.insertDedupeKeys(client, commands, lateWinners);
    await this.writeCustomers(client, customers);
    await this.writeMemberships(client, userChanges);
    await writer.flush(client);
    return outcomes as CommandOutcome[];
  }

  /** Test-only: throws an unexpected error for an event whose id starts with `TEST_FAILING_EVENT_ID_PREFIX`. */
  private failMatchingTestEvent(commands: readonly CustomerCommand[]): void {
    const prefix = this.config.testFailingEventIdPrefix;
    if (prefix === null) {
      return;
    }
    const eventId = commands.find((command) => command.dedupe?.eventId.startsWith(prefix))?.dedupe?.eventId;
    if (eventId !== undefined) {
      throw new Error(`test failure for event ${eventId}, whose id starts with TEST_FAILING_EVENT_ID_PREFIX`);
    }
  }

  private async lockCustomers(
    client: PoolClient,
    commands: readonly CustomerCommand[],
  ): Promise<Map<bigint, LockedCustomer>> {
    const ids = [...new Set(commands.map((command) => command.customerId))].sort((a, b) => (a < b ? -1 : 1));
    const result = await client.query<CustomerRow>(
      `SELECT id, quota_used, quota_max, user_used, user_max, lock_reasons, lock_version
       FROM customer WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
      [ids.map(String)],
    );
    const customers = new Map<bigint, LockedCustomer>();
    for (const row of result.rows) {
      customers.set(BigInt(row.id), {
        state: {
          quotaUsed: BigInt(row.quota_used),
          quotaMax: BigInt(row.quota_max),
          userUsed: BigInt(row.user_used),
          userMax: BigInt(row.user_max),
          lockReasons: parseLockReasons(row.lock_reasons),
        },
        lockVersion: BigInt(row.lock_version),
        dirty: false,
      });
    }
    return customers;
  }

  /**
   * Inserts the dedupe keys of the commands still open; returns the indexes of the commands to
   * apply, in order. The first occurrence wins across batches. A repeat inside the batch stays open
   * and is recorded in `repeats` (repeat index to first index), because apply() decides it: it is a
   * duplicate unless every earlier occurrence was rejected.
   */
  private async recordDedupeKeys(
    client: PoolClient,
    commands: readonly CustomerCommand[],
    outcomes: (CommandOutcome | undefined)[],
    repeats: Map<number, number>,
  ): Promise<number[]> {
    const firstSeen = new Map<string, number>();
    const candidates: number[] = [];
    const open: number[] = [];
    for (const [index, command] of commands.entries()) {
      if (outcomes[index]) {
        continue;
      }
      if (!command.dedupe) {
        open.push(index);
        continue;
      }
      const identity = dedupeIdentity(command.customerId, command.dedupe.source, command.dedupe.eventId);
      const first = firstSeen.get(identity);
      if (first !== undefined) {
        repeats.set(index, first);
        open.push(index);
        continue;
      }
      firstSeen.set(identity, index);
      candidates.push(index);
      open.push(index);
    }
    if (candidates.length === 0) {
      return open;
    }

    const isNew = await this.insertDedupeKeys(client, commands, candidates);
    const duplicates = candidates.filter(
      (index) =>
        !isNew.has(
          dedupeIdentity(
            commands[index].customerId,
            commands[index].dedupe!.source,
            commands[index].dedupe!.eventId,
          ),
        ),
    );
    if (duplicates.length > 0) {
      await this.markDuplicates(client, commands, duplicates, outcomes);
    }
    for (const [index, first] of repeats) {
      if (outcomes[first]?.status === 'duplicate') {
        const payloadDiffers = commands[first].dedupe?.fingerprint !== commands[index].dedupe?.fingerprint;
        outcomes[index] = { status: 'duplicate', payloadDiffers };
      }
    }
    return open.filter((index) => outcomes[index] === undefined);
  }

  /** Inserts the dedupe keys of the given commands; returns the identities that were not stored yet. */
  private async insertDedupeKeys(
    client: PoolClient,
    commands: readonly CustomerCommand[],
    indexes: number[],
  ): Promise<Set<string>> {
    if (indexes.length === 0) {
      return new Set();
    }
    const keys = indexes.map((index) => ({ command: commands[index], dedupe: commands[index].dedupe! }));
    const inserted = await client.query<{ customer_id: string; source: string; event_id: string }>(
      `INSERT INTO processed_event (customer_id, source, event_id, fingerprint_hash, topic, partition, "offset")
       SELECT v.customer_id, v.source, v.event_id, decode(v.hash, 'hex'), v.topic, v.partition, v.offset
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[])
            AS v(customer_id, source, event_id, hash, topic, partition, "offset")
       ON CONFLICT DO NOTHING
       RETURNING customer_id, source, event_id`,
      [
        keys.map((key) => key.command.customerId.toString()),
        keys.map((key) => key.dedupe.source),
        keys.map((key) => key.dedupe.eventId),
        keys.map((key) => fingerprintHash(key.dedupe.fingerprint)),
        keys.map((key) => key.dedupe.topic),
        keys.map((key) => key.dedupe.partition),
        keys.map((key) => key.dedupe.offset),
      ],
    );
    return new Set(
      inserted.rows.map((row) => dedupeIdentity(BigInt(row.customer_id), row.source, row.event_id)),
    );
  }

  private async markDuplicates(
    client: PoolClient,
    commands: readonly CustomerCommand[],
    duplicates: number[],
    outcomes: (CommandOutcome | undefined)[],
  ): Promise<void> {
    const stored = await client.query<{
      customer_id: string;
      source: string;
      event_id: string;
      hash: string;
    }>(
      `SELECT p.customer_id, p.source, p.event_id, encode(p.fingerprint_hash, 'hex') AS hash
       FROM processed_event p
       JOIN unnest($1::bigint[], $2::text[], $3::text[]) AS v(customer_id, source, event_id)
         ON p.customer_id = v.customer_id AND p.source = v.source AND p.event_id = v.event_id`,
      [
        duplicates.map((index) => commands[index].customerId.toString()),
        duplicates.map((index) => commands[index].dedupe!.source),
        duplicates.map((index) => commands[index].dedupe!.eventId),
      ],
    );
    const hashes = new Map(
      stored.rows.map((row) => [dedupeIdentity(BigInt(row.customer_id), row.source, row.event_id), row.hash]),
    );
    for (const index of duplicates) {
      const dedupe = commands[index].dedupe!;
      const hash = hashes.get(dedupeIdentity(commands[index].customerId, dedupe.source, dedupe.eventId));
      outcomes[index] = { status: 'duplicate', payloadDiffers: hash !== fingerprintHash(dedupe.fingerprint) };
    }
  }

  private async loadMemberships(
    client: PoolClient,
    commands: readonly CustomerCommand[],
    fresh: number[],
  ): Promise<Map<string, boolean>> {
    const pairs = new Map<string, { customerId: bigint; userId: string }>();
    for (const index of fresh) {
      const { customerId, change } = commands[index];
      if (change.kind === 'allocateUser' || change.kind === 'deallocateUser') {
        pairs.set(JSON.stringify([customerId.toString(), change.userId]), {
          customerId,
          userId: change.userId,
        });
      }
    }
    const members = new Map<string, boolean>();
    if (pairs.size === 0) {
      return members;
    }
    const list = [...pairs.values()];
    for (const key of pairs.keys()) {
      members.set(key, false);
    }
    const found = await client.query<{ customer_id: string; user_id: string }>(
      `SELECT u.customer_id, u.user_id FROM customer_user u
       JOIN unnest($1::bigint[], $2::text[]) AS v(customer_id, user_id)
         ON u.customer_id = v.customer_id AND u.user_id = v.user_id`,
      [list.map((pair) => pair.customerId.toString()), list.map((pair) => pair.userId)],
    );
    for (const row of found.rows) {
      members.set(JSON.stringify([row.customer_id, row.user_id]), true);
    }
    return members;
  }

  /** Translates a command into a policy change; `null` when it changes nothing (a repeated allocation). */
  private toUsageChange(
    command: CustomerCommand,
    customer: LockedCustomer,
    members: Map<string, boolean>,
    userChanges: Map<string, { customerId: bigint; userId: string; present: boolean }>,
  ): UsageChange | null {
    const { change } = command;
    switch (change.kind) {
      case 'storage':
        return { kind: 'storage', deltaBytes: change.deltaBytes };
      case 'allocateUser':
      case 'deallocateUser': {
        const key = JSON.stringify([command.customerId.toString(), change.userId]);
        const present = members.get(key) === true;
        const allocate = change.kind === 'allocateUser';
        if (present === allocate) {
          return null;
        }
        members.set(key, allocate);
        userChanges.set(key, { customerId: command.customerId, userId: change.userId, present: allocate });
        const userUsed = customer.state.userUsed + (allocate ? 1n : -1n);
        return { kind: 'userCount', userUsed };
      }
      case 'admin':
        return {
          kind: 'admin',
          adminLock: change.adminLock,
          quotaMax: change.quotaMax,
          userMax: change.userMax,
        };
    }
  }

  private revertMembership(
    command: CustomerCommand,
    members: Map<string, boolean>,
    userChanges: Map<string, { customerId: bigint; userId: string; present: boolean }>,
  ): void {
    const { change } = command;
    if (change.kind === 'allocateUser' || change.kind === 'deallocateUser') {
      const key = JSON.stringify([command.customerId.toString(), change.userId]);
      members.set(key, change.kind !== 'allocateUser');
      userChanges.set(key, {
        customerId: command.customerId,
        userId: change.userId,
        present: change.kind !== 'allocateUser',
      });
    }
  }

  private async deleteDedupeKeys(
    client: PoolClient,
    commands: readonly CustomerCommand[],
    indexes: number[],
  ): Promise<void> {
    const keyed = indexes.filter((index) => commands[index].dedupe);
    if (keyed.length === 0) {
      return;
    }
    await client.query(
      `DELETE FROM processed_event p
       USING unnest($1::bigint[], $2::text[], $3::text[]) AS v(customer_id, source, event_id)
       WHERE p.customer_id = v.customer_id AND p.source = v.source AND p.event_id = v.event_id`,
      [
        keyed.map((index) => commands[index].customerId.toString()),
        keyed.map((index) => commands[index].dedupe!.source),
        keyed.map((index) => commands[index].dedupe!.eventId),
      ],
    );
  }

  private async writeCustomers(client: PoolClient, customers: Map<bigint, LockedCustomer>): Promise<void> {
    const dirty = [...customers.entries()].filter(([, customer]) => customer.dirty);
    if (dirty.length === 0) {
      return;
    }
    await client.query(
      `UPDATE customer c
       SET quota_used = v.quota_used, quota_max = v.quota_max, user_used = v.user_used, user_max = v.user_max,
           lock_reasons = string_to_array(v.lock_reasons, ','), lock_version = v.lock_version,
           updated_at = clock_timestamp()
       FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[])
            AS v(id, quota_used, quota_max, user_used, user_max, lock_reasons, lock_version)
       WHERE c.id = v.id`,
      [
        dirty.map(([id]) => id.toString()),
        dirty.map(([, customer]) => customer.state.quotaUsed.toString()),
        dirty.map(([, customer]) => customer.state.quotaMax.toString()),
        dirty.map(([, customer]) => customer.state.userUsed.toString()),
        dirty.map(([, customer]) => customer.state.userMax.toString()),
        dirty.map(([, customer]) => customer.state.lockReasons.join(',')),
        dirty.map(([, customer]) => customer.lockVersion.toString()),
      ],
    );
  }

  private async writeMemberships(
    client: PoolClient,
    userChanges: Map<string, { customerId: bigint; userId: string; present: boolean }>,
  ): Promise<void> {
    const changes = [...userChanges.values()];
    const added = changes.filter((change) => change.present);
    const removed = changes.filter((change) => !change.present);
    if (added.length > 0) {
      await client.query(
        `INSERT INTO customer_user (customer_id, user_id)
         SELECT * FROM unnest($1::bigint[], $2::text[])
         ON CONFLICT (customer_id, user_id) DO UPDATE SET allocated_at = clock_timestamp()`,
        [added.map((change) => change.customerId.toString()), added.map((change) => change.userId)],
      );
    }
    if (removed.length > 0) {
      await client.query(
        `DELETE FROM customer_user u
         USING unnest($1::bigint[], $2::text[]) AS v(customer_id, user_id)
         WHERE u.customer_id = v.customer_id AND u.user_id = v.user_id`,
        [removed.map((change) => change.customerId.toString()), removed.map((change) => change.userId)],
      );
    }
  }
}
