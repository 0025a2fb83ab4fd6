import { Controller, Get, Headers, Param, Query, UseGuards } from '@nestjs/common';

import { ApiError } from '../http/api-error';
import { ServiceTokenGuard } from '../http/service-token.guard';
import { parseCustomerIdParam } from '../http/customer-id.param';
import { CustomerRecordsRepository } from './customer-records.repository';
import { DATE_FORMAT_HEADER, DateRenderer, dateRendererFor } from './date-format';
import { pageRange, Paging, parsePaging } from './list-query';
import { rejectUnknownQueryParameters } from './query-parameters';
import { ApiOperation } from '@nestjs/swagger';
import {
  ApiCustomerIdParam,
  ApiCustomerNotFound,
  ApiDateFormatHeader,
  ApiPaging,
  ApiProvisioningRoutes,
  ApiSuccess,
} from '../openapi/openapi-decorators';
import { LockHistoryListModel, UserListModel } from '../openapi/openapi-models';

/** A customer's allocated users and lock history, paged with DRACOON's `offset`, `limit` and `range`. */
@Controller('api/v4/provisioning/customers/:customer_id')
@UseGuards(ServiceTokenGuard)
@ApiProvisioningRoutes()
@ApiCustomerIdParam()
export class CustomerRecordsController {
  constructor(private readonly records: CustomerRecordsRepository) {}

  /** `{userId, allocatedAt}` items, ordered by allocation time then user id; the users live elsewhere. */
  @Get('users')
  @ApiOperation({ operationId: 'requestCustomerUsers', summary: "List a customer's allocated users" })
  @ApiSuccess(200, 'One page of user ids, by allocation time, then user id.', UserListModel)
  @ApiPaging()
  @ApiDateFormatHeader()
  @ApiCustomerNotFound()
  async users(
    @Param('customer_id') rawId: string,
    @Query() query: Record<string, unknown>,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const { id, page, render } = await this.openPage(rawId, query, dateFormat);

    const users = await this.records.users(id, page);
    return {
      items: users.items.map((user) => ({ userId: user.userId, allocatedAt: render(user.allocatedAt) })),
      range: pageRange(page, users.total),
    };
  }

  /** Every change of the lock reason set, newest first, with the reasons before and after it. */
  @Get('lockHistory')
  @ApiOperation({ operationId: 'requestCustomerLockHistory', summary: "List a customer's lock changes" })
  @ApiSuccess(200, 'One page of lock changes, newest first.', LockHistoryListModel)
  @ApiPaging()
  @ApiDateFormatHeader()
  @ApiCustomerNotFound()
  async lockHistory(
    @Param('customer_id') rawId: string,
    @Query() query: Record<string, unknown>,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const { id, page, render } = await this.openPage(rawId, query, dateFormat);

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
      range: pageRange(page, history.total),
    };
  }

  /** Reads the parameters both lists share and checks that the customer exists. */
  private async openPage(
    rawId: string,
    query: Record<string, unknown>,
    dateFormat: unknown,
  ): Promise<{ id: bigint; page: Paging; render: DateRenderer }> {
    const id = parseCustomerIdParam(rawId);
    rejectUnknownQueryParameters(query, ['offset', 'limit']);
    const page = parsePaging(query.offset, query.limit);
    const render = dateRendererFor(dateFormat);
    await this.requireCustomer(id);
    return { id, page, render };
  }

  private async requireCustomer(id: bigint): Promise<void> {
    if (!(await this.records.exists(id))) {
      throw new ApiError(404, -90103, `customer ${id} not found`);
    }
  }
}
