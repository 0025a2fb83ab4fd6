import { Controller, UseGuards } from '@nestjs/common';

import { ServiceTokenGuard } from '../http/service-token.guard';

/** DRACOON's customerAttributes endpoints. */
@Controller('api/v4/provisioning/customers/:customer_id/customerAttributes')
@UseGuards(ServiceTokenGuard)
export class CustomerAttributesController {}
