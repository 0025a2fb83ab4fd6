import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';

import { INBOUND_BATCH_PATTERN } from '../messaging/inbound-batch';
import type { InboundBatch } from '../messaging/inbound-batch';
import { UsageBatchHandler } from './usage-batch.handler';

/** Receives inbound batches from the Kafka batch transport. */
@Controller()
export class UsageBatchController {
  constructor(private readonly handler: UsageBatchHandler) {}

  @EventPattern(INBOUND_BATCH_PATTERN)
  handle(@Payload() batch: InboundBatch): Promise<boolean> {
    return this.handler.handle(batch);
  }
}
