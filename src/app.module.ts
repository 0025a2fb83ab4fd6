import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { Logger } from 'pino';

import { FaultInjector } from './common/fault-injector';
import { ROOT_LOGGER } from './common/logging/logger.tokens';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { CustomerRepository } from './customers/customer.repository';
import { CustomerRecordsRepository } from './customers/customer-records.repository';
import { CustomerAttributesRepository } from './customers/customer-attributes.repository';
import { CustomerListRepository } from './customers/customer-list.repository';
import { IdempotencyService } from './customers/idempotency.service';
import { CustomerUpdateService } from './customers/customer-update.service';
import { CustomerAttributesController } from './customers/customer-attributes.controller';
import { CustomerRecordsController } from './customers/customer-records.controller';
import { CustomersController } from './customers/customers.controller';
import { dataSourceOptions } from './database/data-source';
import { DatabaseService } from './database/database.service';
import { HealthController } from './health/health.controller';
import { ErrorResponseFilter } from './http/error-response.filter';
import { jsonBodyMiddleware } from './http/json-body.middleware';
import { RateLimitMiddleware } from './http/rate-limit.middleware';
import {
  acceptJsonMiddleware,
  jsonContentTypeMiddleware,
  singleQueryValueMiddleware,
} from './http/request-checks';
import { ServiceTokenMiddleware } from './http/service-token.middleware';
import { LosslessJsonInterceptor } from './http/lossless-json.interceptor';
import { assignRequestId } from './http/request-id';
import { CustomerUnitOfWork } from './locking/customer-unit-of-work';
import { ConsumerStatus } from './messaging/consumer-status';
import { MetricsService } from './observability/metrics.service';
import { OutboxRelay } from './outbox/outbox-relay';
import { UsageBatchController } from './usage/usage-batch.controller';
import { UsageBatchHandler } from './usage/usage-batch.handler';
import { DedupeRetentionService } from './usage/dedupe-retention.service';

/** The whole service: HTTP API, inbound batch handler and outbox relay, wired from one configuration. */
@Module({})
export class AppModule implements NestModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger,
            genReqId: (request, response) => assignRequestId(request, response),
            customProps: (request) => ({ tokenName: (request as { tokenName?: string }).tokenName }),
            autoLogging: {
              ignore: (request) => request.url === '/health/live' || request.url === '/metrics',
            },
          },
        }),
        TypeOrmModule.forRoot(dataSourceOptions(config.database.url, config.database.poolMax)),
      ],
      controllers: [
        CustomersController,
        CustomerAttributesController,
        CustomerRecordsController,
        HealthController,
        UsageBatchController,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: ROOT_LOGGER, useValue: logger },
        { provide: APP_FILTER, useClass: ErrorResponseFilter },
        { provide: APP_INTERCEPTOR, useClass: LosslessJsonInterceptor },
        DatabaseService,
        CustomerRepository,
        CustomerUpdateService,
        CustomerRecordsRepository,
        CustomerAttributesRepository,
        CustomerListRepository,
        IdempotencyService,
        CustomerUnitOfWork,
        UsageBatchHandler,
        DedupeRetentionService,
        OutboxRelay,
        ConsumerStatus,
        MetricsService,
        FaultInjector,
      ],
    };
  }

  /**
   * Mounts the HTTP checks before routing, in the order of the statuses they send: 401 token, 429
   * rate limit, 406 Accept, 415 Content-Type, 413 size and 400 JSON body, 400 repeated query
   * parameter. An unknown route gets its 404 only after all of these.
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(
        ServiceTokenMiddleware,
        RateLimitMiddleware,
        acceptJsonMiddleware,
        jsonContentTypeMiddleware,
        jsonBodyMiddleware,
        singleQueryValueMiddleware,
      )
      .forRoutes('{/*path}');
  }
}
