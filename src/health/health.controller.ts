import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';

import { errorMessage } from '../common/errors/error-class';
import { withTimeout } from '../common/time/backoff';
import { DatabaseService } from '../database/database.service';
import { ConsumerStatus } from '../messaging/consumer-status';
import { MetricsService } from '../observability/metrics.service';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiServiceUnavailableResponse } from '@nestjs/swagger';
import { ApiOperationsRoute } from '../openapi/openapi-decorators';
import { LivenessModel, ReadinessModel } from '../openapi/openapi-models';

/** Liveness, readiness and metrics; open without a service token. */
@Controller()
@ApiOperationsRoute()
export class HealthController {
  constructor(
    private readonly database: DatabaseService,
    private readonly consumer: ConsumerStatus,
    private readonly metrics: MetricsService,
  ) {}

  @Get('health/live')
  @ApiOperation({ operationId: 'live', summary: 'Liveness probe; no token needed' })
  @ApiOkResponse({ description: 'The process runs.', type: LivenessModel })
  live(): { status: string } {
    return { status: 'up' };
  }

  /** Reports ready while the database responds and the consumer is a member of its group, whatever it was assigned. */
  @Get('health/ready')
  @ApiOperation({ operationId: 'ready', summary: 'Readiness probe; no token needed' })
  @ApiOkResponse({
    description: 'The database responds and the consumer is a member of its group.',
    type: ReadinessModel,
  })
  @ApiServiceUnavailableResponse({
    description: 'The database or the consumer is down.',
    type: ReadinessModel,
  })
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
  @ApiOperation({ operationId: 'metrics', summary: 'Prometheus metrics; no token needed' })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  async metricsText(@Res() response: Response): Promise<void> {
    response.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
