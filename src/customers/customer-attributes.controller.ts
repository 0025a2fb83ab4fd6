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
  UseGuards,
} from '@nestjs/common';

import { ApiError, badRequest } from '../http/api-error';
import { ServiceTokenGuard } from '../http/service-token.guard';
import { ATTRIBUTE_KEY_MAX, ATTRIBUTE_KEY_PATTERN, parseCustomerAttributesRequest } from './attribute-items';
import { CustomerAttributesRepository } from './customer-attributes.repository';
import { parseCustomerIdParam } from '../http/customer-id.param';
import { presentCustomer } from './customer.presenter';
import { CustomerRepository } from './customer.repository';
import { CustomerListRepository } from './customer-list.repository';
import { pageRange } from './list-query';
import { rejectUnknownQueryParameters } from './query-parameters';
import { DATE_FORMAT_HEADER, dateRendererFor } from './date-format';
import { ApiOperation, ApiParam } from '@nestjs/swagger';
import { CUSTOMER_ATTRIBUTE_LIST } from './list-query-specs';
import {
  ApiCustomerIdParam,
  ApiCustomerNotFound,
  ApiDateFormatHeader,
  ApiFilterAndSort,
  ApiJsonBody,
  ApiPaging,
  ApiProvisioningRoutes,
  ApiSuccess,
} from '../openapi/openapi-decorators';
import { AttributesResponseModel, CustomerAttributesModel, CustomerModel } from '../openapi/openapi-models';

/** DRACOON's customerAttributes endpoints. */
@Controller('api/v4/provisioning/customers/:customer_id/customerAttributes')
@UseGuards(ServiceTokenGuard)
@ApiProvisioningRoutes()
@ApiCustomerIdParam()
export class CustomerAttributesController {
  constructor(
    private readonly attributes: CustomerAttributesRepository,
    private readonly customers: CustomerRepository,
    private readonly lists: CustomerListRepository,
  ) {}

  /** The customer's attributes as {items, range}; `X-Sds-Date-Format` does not apply here, as in DRACOON. */
  @Get()
  @ApiOperation({ operationId: 'requestCustomerAttributes', summary: "List a customer's attributes" })
  @ApiSuccess(200, 'One page of attributes; filters on key and value ignore case.', AttributesResponseModel)
  @ApiPaging()
  @ApiFilterAndSort(CUSTOMER_ATTRIBUTE_LIST, 'key:sw:billing|value:cn:eu')
  @ApiCustomerNotFound()
  async list(
    @Param('customer_id') rawId: string,
    @Query() query: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerIdParam(rawId);
    rejectUnknownQueryParameters(query, ['offset', 'limit', 'filter', 'sort']);
    const page = await this.lists.attributes(id, query);
    if (page.total === 0 && !(await this.customers.findById(id, false))) {
      throw new ApiError(404, -90103, `customer ${id} not found`);
    }
    return {
      items: page.items,
      range: pageRange(page.paging, page.total),
    };
  }

  /** Sets the given keys and keeps the others; returns the Customer with its attributes. */
  @Put()
  @ApiOperation({
    operationId: 'updateCustomerAttributes',
    summary: 'Set some attributes',
    description: 'Sets the given keys and keeps the others.',
  })
  @ApiSuccess(200, 'The customer with all its attributes.', CustomerModel)
  @ApiJsonBody(CustomerAttributesModel, 'The attributes to set; keys ignore case.')
  @ApiDateFormatHeader()
  @ApiCustomerNotFound()
  async merge(
    @Param('customer_id') rawId: string,
    @Body() body: unknown,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerIdParam(rawId);
    const render = dateRendererFor(dateFormat);
    await this.attributes.merge(id, parseCustomerAttributesRequest(body));
    return this.present(id, render);
  }

  /** Replaces the whole attribute set (deprecated in DRACOON since 4.28.0, still served). */
  @Post()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'setCustomerAttributes',
    summary: 'Replace all attributes',
    description: 'Deletes every attribute and stores the given ones. Deprecated in DRACOON; use PUT.',
    deprecated: true,
  })
  @ApiSuccess(201, 'The customer with its new attributes.', CustomerModel)
  @ApiJsonBody(CustomerAttributesModel, 'The whole new attribute set; keys ignore case.')
  @ApiDateFormatHeader()
  @ApiCustomerNotFound()
  async replace(
    @Param('customer_id') rawId: string,
    @Body() body: unknown,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerIdParam(rawId);
    const render = dateRendererFor(dateFormat);
    await this.attributes.replace(id, parseCustomerAttributesRequest(body));
    return this.present(id, render);
  }

  @Delete(':key')
  @HttpCode(204)
  @ApiOperation({ operationId: 'removeCustomerAttribute', summary: 'Delete one attribute' })
  @ApiParam({
    name: 'key',
    description: 'The attribute key, in any case; letters, digits, _ and - (else 400 -80023).',
    schema: { type: 'string', pattern: '^[a-zA-Z0-9_-]+$', maxLength: ATTRIBUTE_KEY_MAX },
  })
  @ApiSuccess(204, 'The attribute was deleted.')
  @ApiCustomerNotFound(' or no attribute with this key (-70550)')
  async remove(@Param('customer_id') rawId: string, @Param('key') key: string): Promise<void> {
    const id = parseCustomerIdParam(rawId);
    if (!ATTRIBUTE_KEY_PATTERN.test(key) || key.length > ATTRIBUTE_KEY_MAX) {
      throw badRequest(
        -80023,
        `attribute key may contain only letters, digits, '_' and '-' (at most ${ATTRIBUTE_KEY_MAX})`,
      );
    }
    await this.attributes.remove(id, key);
  }

  private async present(
    id: bigint,
    render: ReturnType<typeof dateRendererFor>,
  ): Promise<Record<string, unknown>> {
    const customer = await this.customers.findById(id, true);
    if (!customer) {
      throw new ApiError(404, -90103, `customer ${id} not found`);
    }
    return presentCustomer(customer, true, render);
  }
}
