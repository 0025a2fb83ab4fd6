import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';

import { causationIdOf } from '../outbox/lock-event';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { ApiError, badRequest } from '../http/api-error';
import { ServiceTokenGuard } from '../http/service-token.guard';
import type { AuthenticatedRequest } from '../http/service-token.guard';
import { Inject } from '@nestjs/common';
import { presentCustomer, presentNewCustomer, presentUpdatedCustomer } from './customer.presenter';
import { CustomerUpdateService } from './customer-update.service';
import { parseUpdateCustomerRequest } from './update-customer.request';
import { parseCustomerIdParam } from '../http/customer-id.param';
import { CustomerRepository } from './customer.repository';
import { CustomerRecordsRepository } from './customer-records.repository';
import { CustomerListRepository } from './customer-list.repository';
import { pageRange } from './list-query';
import { rejectUnknownQueryParameters } from './query-parameters';
import {
  IDEMPOTENCY_HEADER,
  IdempotencyService,
  parseIdempotencyKey,
  requestHash,
} from './idempotency.service';
import { parseJson, stringifyJson } from '../common/json/lossless-json';
import { DATE_FORMAT_HEADER, dateRendererFor } from './date-format';
import { parseNewCustomerRequest } from './new-customer.request';
import { ApiOperation } from '@nestjs/swagger';
import { CUSTOMER_LIST } from './list-query-specs';
import {
  ApiCustomerIdParam,
  ApiCustomerNotFound,
  ApiDateFormatHeader,
  ApiFilterAndSort,
  ApiIdempotencyKey,
  ApiIncludeAttributes,
  ApiJsonBody,
  ApiPaging,
  ApiProvisioningRoutes,
  ApiSuccess,
} from '../openapi/openapi-decorators';
import {
  CustomerListModel,
  CustomerModel,
  NewCustomerRequestModel,
  NewCustomerResponseModel,
  UpdateCustomerRequestModel,
  UpdateCustomerResponseModel,
} from '../openapi/openapi-models';

function parseIncludeAttributes(raw: unknown): boolean {
  if (raw === undefined || raw === 'false') {
    return false;
  }
  if (raw === 'true') {
    return true;
  }
  throw badRequest(-80005, 'include_attributes must be true or false');
}

/** DRACOON's provisioning endpoints for customers. */
@Controller('api/v4/provisioning/customers')
@UseGuards(ServiceTokenGuard)
@ApiProvisioningRoutes()
export class CustomersController {
  constructor(
    private readonly customers: CustomerRepository,
    private readonly updates: CustomerUpdateService,
    private readonly records: CustomerRecordsRepository,
    private readonly lists: CustomerListRepository,
    private readonly idempotency: IdempotencyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** DRACOON's customer list: `offset`, `limit` (at most 500), `filter`, `sort` and `include_attributes`. */
  @Get()
  @ApiOperation({ operationId: 'requestCustomers', summary: 'List customers' })
  @ApiSuccess(200, 'One page of customers.', CustomerListModel)
  @ApiPaging()
  @ApiFilterAndSort(CUSTOMER_LIST, 'quotaUsed:ge:1073741824|isLocked:eq:false')
  @ApiIncludeAttributes()
  @ApiDateFormatHeader()
  async list(
    @Query() query: Record<string, unknown>,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    rejectUnknownQueryParameters(query, ['offset', 'limit', 'filter', 'sort', 'include_attributes']);
    const withAttributes = parseIncludeAttributes(query.include_attributes);
    const render = dateRendererFor(dateFormat);
    const page = await this.lists.customers(query, withAttributes);
    return {
      items: page.items.map((customer) => presentCustomer(customer, withAttributes, render)),
      range: pageRange(page.paging, page.total),
    };
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ operationId: 'createCustomer', summary: 'Create a customer' })
  @ApiSuccess(
    201,
    'The customer was created, or an Idempotency-Key replayed its first response.',
    NewCustomerResponseModel,
  )
  @ApiJsonBody(NewCustomerRequestModel, 'The new customer.')
  @ApiIdempotencyKey()
  @ApiDateFormatHeader()
  async create(
    @Body() body: unknown,
    @Req() request: AuthenticatedRequest,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
    @Headers(IDEMPOTENCY_HEADER) idempotencyHeader: unknown,
  ): Promise<Record<string, unknown>> {
    const render = dateRendererFor(dateFormat);
    const key = parseIdempotencyKey(idempotencyHeader);
    const input = parseNewCustomerRequest(body);
    const actor = this.actorOf(request);
    const tokenName = request.tokenName ?? 'default';

    let id: bigint;
    if (key === null) {
      id = await this.customers.create(input, actor);
    } else {
      const result = await this.idempotency.run(tokenName, key, requestHash(input), (client) =>
        this.customers.createIn(client, input, actor),
      );
      if (result.replayed && result.body !== null) {
        return parseJson(result.body) as Record<string, unknown>;
      }
      id = result.customerId;
    }

    const customer = await this.customers.findById(id, true);
    if (!customer) {
      throw new ApiError(404, -90103, `customer ${id} was deleted after it was created`);
    }
    const response = presentNewCustomer(customer, input.firstAdminUser, render);
    if (key !== null) {
      await this.idempotency.storeResponse(tokenName, key, stringifyJson(response));
    }
    return response;
  }

  @Get(':customer_id')
  @ApiOperation({ operationId: 'requestCustomer', summary: 'Get a customer' })
  @ApiSuccess(200, 'The customer.', CustomerModel)
  @ApiCustomerIdParam()
  @ApiIncludeAttributes()
  @ApiDateFormatHeader()
  @ApiCustomerNotFound()
  async get(
    @Param('customer_id') rawId: string,
    @Query() query: Record<string, unknown>,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerIdParam(rawId);
    rejectUnknownQueryParameters(query, ['include_attributes']);
    const withAttributes = parseIncludeAttributes(query.include_attributes);
    const render = dateRendererFor(dateFormat);
    const customer = await this.customers.findById(id, withAttributes);
    if (!customer) {
      throw new ApiError(404, -90103, `customer ${id} not found`);
    }
    return presentCustomer(customer, withAttributes, render);
  }

  /** Changes only the fields sent; `isLocked` sets or clears lock reason ADMIN, limits re-evaluate the lock. */
  @Put(':customer_id')
  @ApiOperation({
    operationId: 'updateCustomer',
    summary: 'Change a customer',
    description:
      'Changes only the fields sent. isLocked sets or clears lock reason ADMIN; a new quotaMax or userMax ' +
      're-evaluates the lock in the same transaction, and a limit below the usage locks the customer at once.',
  })
  @ApiSuccess(200, 'The customer after the change.', UpdateCustomerResponseModel)
  @ApiCustomerIdParam()
  @ApiJsonBody(UpdateCustomerRequestModel, 'The fields to change.')
  @ApiDateFormatHeader()
  @ApiCustomerNotFound()
  async update(
    @Param('customer_id') rawId: string,
    @Body() body: unknown,
    @Req() request: AuthenticatedRequest,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerIdParam(rawId);
    const render = dateRendererFor(dateFormat);
    const update = parseUpdateCustomerRequest(body);
    await this.updates.update(id, update, this.actorOf(request));
    const customer = await this.customers.findById(id, true);
    if (!customer) {
      throw new ApiError(404, -90103, `customer ${id} not found`);
    }
    return presentUpdatedCustomer(customer, render);
  }

  /** Deletes the customer, its users and attributes, and publishes CustomerDeleted; ids are never reused. */
  @Delete(':customer_id')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'removeCustomer',
    summary: 'Delete a customer',
    description:
      'Deletes its users and attributes too and publishes CustomerDeleted; the id is never reused.',
  })
  @ApiSuccess(204, 'The customer was deleted.')
  @ApiCustomerIdParam()
  @ApiCustomerNotFound()
  async remove(@Param('customer_id') rawId: string, @Req() request: AuthenticatedRequest): Promise<void> {
    await this.records.delete(parseCustomerIdParam(rawId), this.actorOf(request));
  }

  private actorOf(request: AuthenticatedRequest): { actor: string; causationId: string } {
    return {
      actor: `admin:${request.tokenName}`,
      causationId: causationIdOf(`${this.config.serviceSource}/http`, request.requestId ?? ''),
    };
  }
}
