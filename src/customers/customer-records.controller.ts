import { Controller, UseGuards } from '@nestjs/common';

import { ServiceTokenGuard } from '../http/service-token.guard';

/** A customer's allocated users and lock history. */
@Controller('api/v4/provisioning/customers/:customer_id')
@UseGuards(ServiceTokenGuard)
export class CustomerRecordsController {}
