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
import { ATTRIBUTE_KEY_MAX, ATTRIBUTE_KEY_PATTERN, parseAttributeItems } from './attribute-items';
import { CustomerAttributesRepository } from './customer-attributes.repository';
import { parseCustomerId } from './customer-id';
import { presentCustomer } from './customer.presenter';
import { CustomerRepository } from './customer.repository';
import { CustomerListRepository } from './customer-list.repository';
import { DATE_FORMAT_HEADER, dateRendererFor } from './date-format';

function parseItems(body: unknown): { key: string; value: string }[] {
  if (body === undefined) {
    throw badRequest(-80000, 'the request body must be a CustomerAttributes object {"items": [...]}');
  }
  return parseAttributeItems(body, 'body');
}

/** DRACOON's customerAttributes endpoints. */
@Controller('api/v4/provisioning/customers/:customer_id/customerAttributes')
@UseGuards(ServiceTokenGuard)
export class CustomerAttributesController {
  constructor(
    private readonly attributes: CustomerAttributesRepository,
    private readonly customers: CustomerRepository,
    private readonly lists: CustomerListRepository,
  ) {}

  /** The customer's attributes as {items, range}; `X-Sds-Date-Format` does not apply here, as in DRACOON. */
  @Get()
  async list(
    @Param('customer_id') rawId: string,
    @Query() query: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerId(rawId);
    const page = await this.lists.attributes(id, query);
    if (page.total === 0 && !(await this.customers.findById(id, false))) {
      throw new ApiError(404, -90103, `customer ${id} not found`);
    }
    return {
      items: page.items,
      range: { offset: page.paging.offset, limit: page.paging.limit, total: page.total },
    };
  }

  /** Sets the given keys and keeps the others; returns the Customer with its attributes. */
  @Put()
  async merge(
    @Param('customer_id') rawId: string,
    @Body() body: unknown,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerId(rawId);
    const render = dateRendererFor(dateFormat);
    await this.attributes.merge(id, parseItems(body));
    return this.present(id, render);
  }

  /** Replaces the whole attribute set (deprecated in DRACOON since 4.28.0, still served). */
  @Post()
  @HttpCode(201)
  async replace(
    @Param('customer_id') rawId: string,
    @Body() body: unknown,
    @Headers(DATE_FORMAT_HEADER) dateFormat: unknown,
  ): Promise<Record<string, unknown>> {
    const id = parseCustomerId(rawId);
    const render = dateRendererFor(dateFormat);
    await this.attributes.replace(id, parseItems(body));
    return this.present(id, render);
  }

  @Delete(':key')
  @HttpCode(204)
  async remove(@Param('customer_id') rawId: string, @Param('key') key: string): Promise<void> {
    const id = parseCustomerId(rawId);
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
