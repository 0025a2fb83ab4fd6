import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';

import { errorMessage } from '../common/errors/error-class';
import { withTimeout } from '../common/time/backoff';
import { DatabaseService } from '../database/database.service';
import { ConsumerStatus } from '../messaging/consumer-status';
import { MetricsService } from '../observability/metrics.service';

/** Liveness, readiness and metrics; open without a service token. */
@Controller()
export class HealthController {
  constructor(
    private readonly database: DatabaseService,
    private readonly consumer: ConsumerStatus,
    private readonly metrics: MetricsService,
  ) {}

  @Get('health/live')
  live(): { status: string } {
    return { status: 'up' };
  }

  /** Ready while the database answers and the consumer is a member of its group, whatever it was assigned. */
  @Get('health/ready')
  async ready(@Res({ passthrough: true }) response: Response): Promise<Record<string, unknown>> {
    let database: Record<string, unknown> = { status: 'up' };
    try {
      await withTimeout(this.database.ping(), 2000, 'database ping');
    } catch (error) {
      database = { status: 'down', error: errorMessage(error) };
    }
    const consumer = this.consumer.snapshot();
    const ready = database.status === 'up' && consumer.member;
    response.status(ready ? 200 : 503);
    return {
      status: ready ? 'up' : 'down',
      components: {
        database,
        consumer: {
          status: consumer.member ? 'up' : 'down',
          partitions: consumer.partitions,
          lastError: consumer.lastError,
        },
      },
    };
  }

  @Get('metrics')
  async metricsText(@Res() response: Response): Promise<void> {
    response.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
