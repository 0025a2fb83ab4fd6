import { Client } from 'pg';

export interface LockWaitSummary {
  /** Samples taken between `start` and `stop`. */
  samples: number;
  /** Samples that saw at least one backend of the database waiting for a heavyweight lock. */
  samplesWithWaits: number;
  /** Distinct `wait_event` values of those waits, such as `transactionid` or `tuple`. */
  waitEvents: string[];
}

/**
 * Polls `pg_stat_activity` on a connection of its own and counts the samples in which a backend
 * connected to `database` waits for a lock, for example a row lock taken by `SELECT ... FOR UPDATE`.
 */
export class ConcurrencyLockSampler {
  private running = false;
  private loop?: Promise<void>;
  private failure?: Error;
  private readonly summary: LockWaitSummary = { samples: 0, samplesWithWaits: 0, waitEvents: [] };

  private constructor(
    private readonly client: Client,
    private readonly database: string,
    private readonly intervalMs: number,
  ) {}

  /** Connects to `url` and starts sampling every `intervalMs` milliseconds. */
  static async start(url: string, database: string, intervalMs = 5): Promise<ConcurrencyLockSampler> {
    const client = new Client({ connectionString: url, application_name: 'lock-wait-sampler' });
    await client.connect();
    const sampler = new ConcurrencyLockSampler(client, database, intervalMs);
    sampler.running = true;
    sampler.loop = sampler.run().catch((error: unknown) => {
      sampler.failure = error instanceof Error ? error : new Error(String(error));
    });
    return sampler;
  }

  /** Stops sampling, closes the connection and returns what was seen. Rethrows a failed sample query. */
  async stop(): Promise<LockWaitSummary> {
    this.running = false;
    await this.loop;
    await this.client.end();
    if (this.failure !== undefined) {
      throw this.failure;
    }
    return { ...this.summary, waitEvents: [...this.summary.waitEvents].sort() };
  }

  private async run(): Promise<void> {
    while (this.running) {
      const result = await this.client.query<{ wait_event: string }>(
        `SELECT wait_event FROM pg_stat_activity
         WHERE datname = $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        [this.database],
      );
      this.summary.samples++;
      if (result.rows.length > 0) {
        this.summary.samplesWithWaits++;
        for (const row of result.rows) {
          if (!this.summary.waitEvents.includes(row.wait_event)) {
            this.summary.waitEvents.push(row.wait_event);
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }
}
