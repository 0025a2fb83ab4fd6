import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { Logger } from 'pino';

import { AppModule } from './app.module';
import { errorMessage } from './common/errors/error-class';
import { createRootLogger } from './common/logging/root-logger';
import { checkNodeVersion } from './common/node-version';
import { AppConfig } from './config/app-config';
import { ConfigError, loadConfig } from './config/load-config';
import { prepareDatabase } from './database/migrate';
import { setupOpenApi } from './openapi/setup-openapi';
import { malformedPathMiddleware } from './http/malformed-path.middleware';
import { ServiceTokenVerifier } from './http/service-token';
import { ConsumerStatus } from './messaging/consumer-status';
import { createKafka } from './messaging/kafka-client';
import { KafkaBatchServer } from './messaging/kafka-batch.server';
import { OutboxRelay } from './outbox/outbox-relay';
import { UsageBatchHandler } from './usage/usage-batch.handler';

function fail(message: string): never {
  process.stderr.write(`quota-lock-service: ${message}\n`);
  process.exit(1);
}

async function bootstrap(config: AppConfig, logger: Logger): Promise<void> {
  const { created, applied } = await prepareDatabase(config.database.url);
  logger.info({ created, applied }, 'database ready');
  if (config.serviceTokens.length === 0) {
    logger.warn('no service token configured; every provisioning request gets 401 (development only)');
  }

  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  app.disable('x-powered-by');
  // Mounted ahead of the router, because the router cannot match a path with broken percent-encoding.
  app.use(
    malformedPathMiddleware(
      new ServiceTokenVerifier(config.serviceTokens),
      logger.child({ component: 'http' }),
    ),
  );

  const kafka = createKafka(config, logger, 'consumer');
  const handler = app.get(UsageBatchHandler);
  const batchServer = new KafkaBatchServer({
    config,
    kafka,
    logger: logger.child({ component: 'kafka-batch-server' }),
    status: app.get(ConsumerStatus),
    onDeadLetterPublisher: (publisher) => handler.useDeadLetterPublisher(publisher),
    onFatal: (error) => {
      logger.fatal({ error: errorMessage(error) }, 'consumer crashed for good; exiting');
      process.exit(2);
    },
  });
  app.connectMicroservice({ strategy: batchServer });

  const relay = app.get(OutboxRelay);
  installShutdown(app, batchServer, relay, config, logger);
  await app.startAllMicroservices();
  relay.start(createKafka(config, logger, 'relay'));
  setupOpenApi(app);
  await app.listen(config.http.port, config.http.host);
  const address = app.getHttpServer().address();
  logger.info(
    {
      host: config.http.host,
      port: typeof address === 'object' && address ? address.port : config.http.port,
    },
    'service started',
  );
}

/** On SIGTERM or SIGINT: stop consuming, let the relay drain, close, exit 0; exit 1 if that overruns the timeout. */
function installShutdown(
  app: NestExpressApplication,
  batchServer: KafkaBatchServer,
  relay: OutboxRelay,
  config: AppConfig,
  logger: Logger,
): void {
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    const deadline = Date.now() + config.shutdownTimeoutMs;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      logger.flush();
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();

    void (async () => {
      // Consumer first, so no new outbox rows appear; then the relay drains what is left.
      await batchServer.close();
      await relay.stop(deadline - 1000);
      await app.close();
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    })().catch((error: unknown) => {
      logger.error({ error: errorMessage(error) }, 'shutdown failed');
      logger.flush();
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function main(): void {
  checkNodeVersion(fail);
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    fail(error instanceof ConfigError ? `invalid configuration: ${error.message}` : errorMessage(error));
  }
  const logger = createRootLogger(config.logLevel);
  bootstrap(config, logger).catch((error: unknown) => {
    logger.fatal({ error: errorMessage(error) }, 'start-up failed');
    logger.flush();
    process.exit(1);
  });
}

main();
