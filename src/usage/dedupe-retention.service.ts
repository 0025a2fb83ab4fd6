import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';

import { errorMessage } from '../common/errors/error-class';
import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';

/** Rows deleted per statement, so a large backlog never holds locks or a transaction for long. */
const DELETE_BATCH_ROWS = 5000;
const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Deletes dedupe keys older than `DEDUPE_RETENTION`, in batches. A redelivery of an event whose key
 * is already gone would count twice, so the retention must cover the inbound topics' retention.
 */
@Injectable()
export class DedupeRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private readonly logger: Logger;

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) rootLogger: Logger,
  ) {
    this.logger = rootLogger.child({ component: 'dedupe-retention' });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.schedule(), SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Deletes expired keys until none are left; returns how many were deleted. */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const result = await this.database.pool.query(
        `DELETE FROM processed_event
         WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM processed_event
           WHERE processed_at < clock_timestamp() - make_interval(secs => $1::double precision / 1000)
           LIMIT $2))`,
        [this.config.dedupeRetentionMs, DELETE_BATCH_ROWS],
      );
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < DELETE_BATCH_ROWS) {
        return deleted;
      }
    }
  }

  private schedule(): void {
    if (this.sweeping) {
      return;
    }
    this.sweeping = this.sweep()
      .then((deleted) => {
        if (deleted > 0) {
          this.logger.info(
            { deleted, retentionMs: this.config.dedupeRetentionMs },
            'deleted expired dedupe keys',
          );
        }
      })
      .catch((error: unknown) =>
        this.logger.warn({ error: errorMessage(error) }, 'dedupe key cleanup failed'),
      )
      .finally(() => {
        this.sweeping = undefined;
      });
  }
}
