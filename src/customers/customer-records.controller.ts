import { Controller, Get, Headers, Param, Query, UseGuards } from '@nestjs/common';

import { ApiError } from '../http/api-error';
import { ServiceTokenGuard } from '../http/service-token.guard';
import { parseCustomerId } from './customer-id';
import { CustomerRecordsRepository } from './customer-records.repository';
import { DATE_FORMAT_HEADER, dateRendererFor } from './date-format';
import { parsePaging } from './list-query';

/** A customer's allocated users and lock history, paged with DRACOON's `offset`, `limit` and `range`. */
@Controller('api/v4/provisioning/customers/:customer_id')
@UseGuards(ServiceTokenGuard)
export class CustomerRecordsController {
  constructor(private readonly records: CustomerRecordsRepository) {}

  /** `{userId, allocatedAt}` items, ordered by allocation time then user id; the users live elsewhere. */
  @Get('users')
  async users(
    @Param('customer_id') rawId: string,
    @Query('offset') offset: unknown,
    @Query('limit') limit: unknown,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerId(rawId);
    const page = parsePaging(offset, limit);
    const render = dateRendererFor(dateFormat);
    await this.requireCustomer(id);

    const users = await this.records.users(id, page);
    return {
      items: users.items.map((user) => ({ userId: user.userId, allocatedAt: render(user.allocatedAt) })),
      range: { offset: page.offset, limit: page.limit, total: users.total },
    };
  }

  /** Every change of the lock reason set, newest first, with the reasons before and after it. */
  @Get('lockHistory')
  async lockHistory(
    @Param('customer_id') rawId: string,
    @Query('offset') offset: unknown,
    @Query('limit') limit: unknown,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerId(rawId);
    const page = parsePaging(offset, limit);
    const render = dateRendererFor(dateFormat);
    await this.requireCustomer(id);

    const history = await this.records.lockHistory(id, page);
    return {
      items: history.items.map((entry) => ({
        id: entry.id,
        change: entry.change,
        reason: entry.reason,
        reasonsBefore: entry.reasonsBefore,
        reasonsAfter: entry.reasonsAfter,
        isLocked: entry.reasonsAfter.length > 0,
        lockVersion: entry.lockVersion,
        eventType: entry.eventType,
        eventId: entry.eventId,
        actor: entry.actor,
        causationId: entry.causationId,
        comment: entry.comment,
        occurredAt: render(entry.occurredAt),
      })),
      range: { offset: page.offset, limit: page.limit, total: history.total },
    };
  }

  private async requireCustomer(id: bigint): Promise<void> {
    if (!(await this.records.exists(id))) {
      throw new ApiError(404, -90103, `customer ${id} not found`);
    }
  }
}
